"""``tflite-int8``: TFLite full-integer post-training quantization (int8 weights and activations,
float32 input/output with QUANTIZE/DEQUANTIZE at the ends), calibrated on the task's calibration split
through the converter's representative dataset.
"""

from __future__ import annotations

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.tflite_common import representative, tflite_artifact
from suite.registry import methods


class TfliteInt8Params(Params):
    per_channel: bool = True
    calibration_samples: int | None = Field(None, ge=1, description="first N of the calibration split; None = all")


@methods.register("tflite-int8", family="ptq", simulated=False, format="tflite")
class TfliteInt8(Method):
    name = "tflite-int8"
    family = "ptq"
    artifact_format = "tflite"
    summary = "TFLite full-integer int8 PTQ (representative dataset = calibration split)"
    Params = TfliteInt8Params

    def apply(self, ctx: PrepareContext, params: TfliteInt8Params):  # type: ignore[override, no-untyped-def]
        import tensorflow as tf

        x_cal = ctx.splits.x_cal[: params.calibration_samples]

        def configure(converter) -> None:  # type: ignore[no-untyped-def]
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative(x_cal)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter._experimental_disable_per_channel = not params.per_channel

        return tflite_artifact(
            ctx, configure, simulated=False, weight_bits=8, activation_bits=8,
            details={"granularity": "per-channel" if params.per_channel else "per-tensor", "symmetric": True,
                     "calibration": "minmax", "calibration_samples_used": int(len(x_cal))},
        )  # fmt: skip
