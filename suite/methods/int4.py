"""``int4``: 4-bit weights. Conv/Gemm weights become INT4 (two per byte) behind a DequantizeLinear;
MatMul weights (transformer-style models) go through ONNX Runtime's ``MatMulNBitsQuantizer``, whose
MatMulNBits op has real 4-bit CPU kernels.

Two schemes: ``weight-only`` (float activations, the usual 4-bit deployment) and ``w4a8`` (ORT
``quantize_static`` with int4 weights and uint8 activations). ORT 1.32's CPU provider has no int4
Conv/Gemm kernel: it dequantizes and computes in float32, so such an artifact is ``simulated`` (its size
is real, its speed is not a 4-bit speed). It is deployable only where every 4-bit weight sits in a
MatMulNBits node, which is read from the artifact, not assumed. On digits-cnn every weight is in a
Conv or Gemm, so MatMulNBits changes nothing there.
"""

from __future__ import annotations

import shutil
from typing import Literal

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import analyse, onnx_artifact
from suite.methods.ort_common import preprocess
from suite.methods.ort_qdq import compute_nodes, ort_kernels, qdq_quantize
from suite.methods.weight_only import insert_weight_dequantize


class Int4Params(Params):
    scheme: Literal["weight-only", "w4a8"] = "weight-only"
    per_channel: bool = True
    matmul_block_size: int = Field(32, ge=16, description="MatMulNBits block size (power of two >= 16)")
    calibration: Literal["minmax", "entropy", "percentile"] = "minmax"  # w4a8 only


class Int4(Method):
    Params = Int4Params

    def apply(self, ctx: PrepareContext, params: Int4Params):  # type: ignore[override, no-untyped-def]
        src = ctx.fp32_onnx()
        work = ctx.workdir / "stage.onnx"
        shutil.copyfile(src, work)
        n_matmul = sum(1 for _, op, _ in compute_nodes(work) if op == "MatMul")
        if n_matmul:
            import onnx
            from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

            quantizer = MatMulNBitsQuantizer(
                onnx.load(str(work)),
                algo_config=DefaultWeightOnlyQuantConfig(block_size=params.matmul_block_size, is_symmetric=True, bits=4),
            )
            quantizer.process()
            quantizer.model.save_model_to_file(str(work))
        out = ctx.workdir / "model.onnx"
        if params.scheme == "weight-only":
            insert_weight_dequantize(work, out, bits=4, per_channel=params.per_channel)
            activation_bits = 32
        else:
            pre = preprocess(work, ctx.workdir / "preprocessed.onnx")
            qdq_quantize(pre, out, ctx.splits.x_cal, per_channel=params.per_channel, weight_type="int4", calibration=params.calibration)
            pre.unlink(missing_ok=True)
            activation_bits = 8
        work.unlink(missing_ok=True)
        kernels = ort_kernels(out)
        facts = analyse(out)
        hist = {int(b): n for b, n in facts["weight_bits_hist"].items()}
        weight_bytes = {b: n * b / 8 for b, n in hist.items()}
        total = sum(weight_bytes.values()) or 1.0
        in_kernels = sum(layer.get("n_weights", 0) for layer in facts["layers"] if layer["op"] == "MatMulNBits")
        four_bit = hist.get(4, 0)
        return onnx_artifact(
            out,
            simulated=not (four_bit and in_kernels >= four_bit),
            weight_bits=4,
            activation_bits=activation_bits,
            details={
                "scheme": params.scheme,
                "granularity": "per-channel" if params.per_channel else "per-tensor",
                "symmetric": True,
                "matmul_nbits_nodes": n_matmul,
                "weight_bytes_4bit_fraction": weight_bytes.get(4, 0.0) / total,
                "ort_cpu": kernels,
            },
        )
