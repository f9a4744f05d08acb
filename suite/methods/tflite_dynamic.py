"""``tflite-dynamic``: TFLite dynamic-range quantization: int8 weights; Conv and FullyConnected run
TFLite's "hybrid" kernels, which quantize their float input per batch and compute in int8 (the
TFLite counterpart of ONNX Runtime's ``dynamic``). No calibration data.
"""

from __future__ import annotations

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.tflite_common import tflite_artifact
from suite.registry import methods


class TfliteDynamicParams(Params):
    per_channel: bool = True


@methods.register("tflite-dynamic", family="dynamic", simulated=False, format="tflite")
class TfliteDynamic(Method):
    name = "tflite-dynamic"
    family = "dynamic"
    artifact_format = "tflite"
    summary = "TFLite dynamic-range: int8 weights, hybrid kernels quantize activations on the fly"
    Params = TfliteDynamicParams

    def apply(self, ctx: PrepareContext, params: TfliteDynamicParams):  # type: ignore[override, no-untyped-def]
        import tensorflow as tf

        def configure(converter) -> None:  # type: ignore[no-untyped-def]
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter._experimental_disable_per_channel = not params.per_channel

        return tflite_artifact(
            ctx, configure, simulated=False, weight_bits=8, activation_bits=8,
            details={"granularity": "per-channel" if params.per_channel else "per-tensor", "symmetric": True},
        )  # fmt: skip
