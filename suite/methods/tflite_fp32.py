"""``tflite-fp32``: the float model as a TFLite flatbuffer (the baseline of the LiteRT rows).

Converted from the task's Keras model or the Keras twin of its torch model (see ``tflite_common``).
"""

from __future__ import annotations

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.tflite_common import tflite_artifact
from suite.registry import methods


@methods.register("tflite-fp32", family="baseline", simulated=False, format="tflite")
class TfliteFp32(Method):
    name = "tflite-fp32"
    family = "baseline"
    artifact_format = "tflite"
    summary = "float32 TFLite (TFLiteConverter), run by LiteRT"

    class Params(Params):
        pass

    def apply(self, ctx: PrepareContext, params: Params):  # type: ignore[no-untyped-def]
        return tflite_artifact(ctx, lambda c: None, simulated=False, weight_bits=32, activation_bits=32)
