"""``tflite-fp16``: TFLite float16 quantization: weights stored as float16 behind DEQUANTIZE ops.

LiteRT's CPU path (XNNPACK, and the reference kernels) dequantizes them to float32 at load and computes
in float32 unless the delegate is told to run fp16 inference on hardware with fp16 arithmetic (Arm
v8.2+), so on x86 the benefit is size only; the precision map, read from the file, says ``fp32``
compute with 16-bit weights.
"""

from __future__ import annotations

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.tflite_common import tflite_artifact
from suite.registry import methods


@methods.register("tflite-fp16", family="fp16", simulated=False, format="tflite")
class TfliteFp16(Method):
    name = "tflite-fp16"
    family = "fp16"
    artifact_format = "tflite"
    summary = "TFLite float16 weights (dequantized to fp32 compute on x86 CPU)"

    class Params(Params):
        pass

    def apply(self, ctx: PrepareContext, params: Params):  # type: ignore[no-untyped-def]
        import tensorflow as tf

        def configure(converter) -> None:  # type: ignore[no-untyped-def]
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]

        return tflite_artifact(
            ctx, configure, simulated=False, weight_bits=16, activation_bits=32,
            details={"compute": "float16 weights dequantized at load; float32 compute on CPUs without fp16 arithmetic"},
        )  # fmt: skip
