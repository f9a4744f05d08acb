"""``int4``: 4-bit weights. Conv/Gemm weights become INT4 (two per byte) behind a DequantizeLinear;
MatMul weights (transformer-style models) go through ONNX Runtime's ``MatMulNBitsQuantizer``, whose
MatMulNBits op has real 4-bit CPU kernels.

Two schemes: ``weight-only`` (float activations, the usual 4-bit deployment) and ``w4a8`` (ORT
``quantize_static`` with int4 weights and uint8 activations). ORT 1.32's CPU provider has no int4
Conv/Gemm kernel: it dequantizes and computes in float32, so such an artifact is ``simulated`` (its size
is real, its speed is not a 4-bit speed). It is deployable only where every 4-bit weight sits in a
MatMulNBits node, which is read from the artifact, not assumed. On digits-cnn every weight is in a
Conv or Gemm, so MatMulNBits changes nothing there; on a transformer (MatMul weights) the few Gemm
weights of a classifier head stay float (``details.float_gemm_kept``), so the artifact is deployable.

For MatMul weights ``algorithm`` picks the quantizer ORT ships, each a parameter value: ``rtn``
(``DefaultWeightOnlyQuantConfig``, ORT's blockwise round-to-nearest), ``gptq`` (GPTQ with the
calibration split, ORT's bundled Intel Neural Compressor implementation), ``hqq`` (half-quadratic
quantization, asymmetric by design), ``k_quant`` (``KQuantWeightOnlyQuantConfig``: the bundled Intel Neural
Compressor's k-quant search, which picks each block's scale and zero point by a weighted error search,
the base method onnxruntime-genai's model builder offers as ``algo_config=k_quant``; not llama.cpp's
K-quant file types). ``accuracy_level`` is MatMulNBits' compute type (0: the input's
float type; 4: int8 activations quantized per block, which uses the CPU's int8 dot products).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import analyse, onnx_artifact
from suite.methods.ort_common import preprocess
from suite.methods.ort_qdq import compute_nodes, ort_kernels, qdq_quantize
from suite.methods.weight_only import insert_weight_dequantize


class Int4Params(Params):
    added_later = ("algorithm", "symmetric", "accuracy_level")  # digits-cnn's int4 job ids stay as they were
    scheme: Literal["weight-only", "w4a8"] = "weight-only"
    per_channel: bool = True
    matmul_block_size: int = Field(32, ge=16, description="MatMulNBits block size (power of two >= 16)")
    calibration: Literal["minmax", "entropy", "percentile"] = "minmax"  # w4a8 only
    algorithm: Literal["rtn", "gptq", "hqq", "k_quant"] = Field(
        "rtn", description="MatMulNBits quantizer for MatMul weights"
    )
    symmetric: bool = Field(True, description="rtn/gptq: symmetric 4-bit blocks (hqq is always asymmetric)")
    accuracy_level: Literal[0, 1, 2, 4] = Field(
        0, description="MatMulNBits compute type: 0 = float input type, 4 = int8"
    )


class Int4(Method):
    Params = Int4Params

    def apply(self, ctx: PrepareContext, params: Int4Params):  # type: ignore[override, no-untyped-def]
        src = ctx.fp32_onnx()
        work = ctx.workdir / "stage.onnx"
        shutil.copyfile(src, work)
        n_matmul = sum(1 for _, op, _ in compute_nodes(work) if op == "MatMul")
        if n_matmul:
            matmul_nbits(work, params, ctx.splits.x_cal if params.algorithm == "gptq" else None)
        out = ctx.workdir / "model.onnx"
        # A transformer's MatMul weights go to MatMulNBits; its Gemm layers (a classifier head, a few
        # thousand weights) then stay float: ORT has no 4-bit Gemm kernel, and a 4-bit DequantizeLinear
        # there would make the whole artifact simulated for a hundredth of a percent of its weights.
        op_types = ("Conv",) if n_matmul else ("Conv", "Gemm")
        if params.scheme == "weight-only":
            insert_weight_dequantize(work, out, bits=4, per_channel=params.per_channel, op_types=op_types)
            activation_bits = 32
        else:
            pre = preprocess(work, ctx.workdir / "preprocessed.onnx")
            qdq_quantize(
                pre,
                out,
                ctx.splits.x_cal,
                per_channel=params.per_channel,
                weight_type="int4",
                calibration=params.calibration,
            )
            pre.unlink(missing_ok=True)
            activation_bits = 8
        work.unlink(missing_ok=True)
        kernels = ort_kernels(out)
        facts = analyse(out)
        hist = {int(b): n for b, n in facts["weight_bits_hist"].items()}
        weight_bytes = {b: n * b / 8 for b, n in hist.items()}
        total = sum(weight_bytes.values()) or 1.0
        return onnx_artifact(
            out,
            simulated=not four_bit_deployable(facts),
            weight_bits=4,
            activation_bits=activation_bits,
            details={
                "scheme": params.scheme,
                "granularity": "per-channel" if params.per_channel else "per-tensor",
                "symmetric": params.symmetric if params.algorithm != "hqq" else False,
                "matmul_algorithm": params.algorithm if n_matmul else None,
                "accuracy_level": params.accuracy_level if n_matmul else None,
                "matmul_nbits_nodes": n_matmul,
                "float_gemm_kept": bool(n_matmul) and params.scheme == "weight-only",
                "weight_bytes_4bit_fraction": weight_bytes.get(4, 0.0) / total,
                "ort_cpu": kernels,
            },
        )


def four_bit_deployable(facts: dict[str, Any]) -> bool:
    """Every 4-bit weight of an analysed ONNX file sits in a MatMulNBits node (ORT's 4-bit CPU kernel)."""
    four_bit = {int(b): n for b, n in facts["weight_bits_hist"].items()}.get(4, 0)
    in_kernels = sum(
        layer.get("n_weights", 0)
        for layer in facts["layers"]
        if layer["op"] == "MatMulNBits" and layer["precision"] == "int4-weight-only"
    )
    return bool(four_bit and in_kernels >= four_bit)


def matmul_nbits(path: Path, params: Int4Params, x_cal: Any) -> None:
    """Rewrite the MatMul weights of ``path`` in place as MatMulNBits with the chosen algorithm."""
    import logging

    import onnx
    from onnxruntime.quantization import matmul_nbits_quantizer as nbits

    from suite.methods.ort_common import calibration_reader

    block = params.matmul_block_size
    if params.algorithm == "gptq":
        config: Any = nbits.GPTQWeightOnlyQuantConfig(
            calibration_data_reader=calibration_reader(path, x_cal), block_size=block
        )
    elif params.algorithm == "hqq":
        config = nbits.HQQWeightOnlyQuantConfig(block_size=block, bits=4)
    elif params.algorithm == "k_quant":
        config = nbits.KQuantWeightOnlyQuantConfig()
    else:
        config = nbits.DefaultWeightOnlyQuantConfig(
            block_size=block, is_symmetric=params.symmetric, bits=4, accuracy_level=params.accuracy_level
        )
    quantizer = nbits.MatMulNBitsQuantizer(
        onnx.load(str(path)),
        block_size=block,
        is_symmetric=params.symmetric,
        accuracy_level=params.accuracy_level,
        algo_config=config,
    )
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)  # the quantizer logs every node at INFO
    try:
        quantizer.process()
    finally:
        root.setLevel(level)
    model = quantizer.model.model
    if params.accuracy_level:  # GPTQ/HQQ write no accuracy_level: set it on every MatMulNBits node
        for node in model.graph.node:
            if node.op_type == "MatMulNBits":
                attr = next((a for a in node.attribute if a.name == "accuracy_level"), None)
                if attr is None:
                    node.attribute.append(onnx.helper.make_attribute("accuracy_level", params.accuracy_level))
                else:
                    attr.i = params.accuracy_level
    onnx.save(model, str(path))
