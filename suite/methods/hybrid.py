"""``hybrid``: int8 weights, float activations and float compute (ONNX Runtime weight-only int8).

What TFLite calls a "hybrid" model stores int8 weights and computes in float; in an ONNX file this is
each Conv/Gemm weight as an INT8 initializer behind a DequantizeLinear (see ``weight_only``). The size
benefit is real (weights shrink 4x); ORT's CPU provider dequantizes and runs the float kernel, so the
record's latency is the real cost of that, not an int8 speed-up. TFLite's own dynamic-range "hybrid"
kernels, which do quantize activations on the fly, are the ``tflite-dynamic`` method.
"""

from __future__ import annotations

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.ort_qdq import ort_kernels
from suite.methods.weight_only import insert_weight_dequantize


class HybridParams(Params):
    per_channel: bool = True


class Hybrid(Method):
    Params = HybridParams

    def apply(self, ctx: PrepareContext, params: HybridParams):  # type: ignore[override, no-untyped-def]
        out = ctx.workdir / "model.onnx"
        summary = insert_weight_dequantize(ctx.fp32_onnx(), out, bits=8, per_channel=params.per_channel)
        kernels = ort_kernels(out)
        return onnx_artifact(
            out,
            simulated=False,
            weight_bits=8,
            activation_bits=32,
            details={
                "granularity": "per-channel" if params.per_channel else "per-tensor",
                "symmetric": True,
                "quantized_weights": len(summary["quantized_weights"]),
                "ort_cpu": kernels,
                "compute": "float32 after DequantizeLinear (no integer kernel; size benefit only)",
            },
        )
