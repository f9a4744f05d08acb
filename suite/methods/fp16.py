"""``fp16``: the float model converted to float16 (weights and compute), float32 inputs and outputs.

Converted with ONNX Runtime's ``float16.convert_float_to_float16`` (``keep_io_types`` so that every
runtime is fed the same float32 batches). Whether it *computes* in float16 depends on the runtime:
ONNX Runtime's CPU provider has no float16 kernels for Conv/Gemm on x86 and inserts casts back to
float32. The artifact records that, read from ORT's optimized graph (``ort_cpu.float16_compute_nodes``),
so the leaderboard shows a half-size model that computes in float32 here, and the record says so.
"""

from __future__ import annotations

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.ort_qdq import ort_kernels


class Fp16Params(Params):
    keep_io_types: bool = True


class Fp16(Method):
    Params = Fp16Params

    def apply(self, ctx: PrepareContext, params: Fp16Params):  # type: ignore[override, no-untyped-def]
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = convert_float_to_float16(onnx.load(str(ctx.fp32_onnx())), keep_io_types=params.keep_io_types)
        out = ctx.workdir / "model.onnx"
        onnx.save(model, str(out))
        kernels = ort_kernels(out)
        note = (
            "float16 kernels on this ORT CPU build"
            if kernels["float16_compute_nodes"]
            else "ORT CPU has no float16 Conv/Gemm kernel here: it casts to float32 (half-size file, float32 compute)"
        )
        return onnx_artifact(
            out, simulated=False, weight_bits=16, activation_bits=16, details={"ort_cpu": kernels, "compute": note}
        )
