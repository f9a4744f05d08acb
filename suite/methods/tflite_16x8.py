"""``tflite-16x8``: TFLite int16 activations with int8 weights (``EXPERIMENTAL_TFLITE_BUILTINS_
ACTIVATIONS_INT16_WEIGHTS_INT8``): closer to float than int8 where activations have a wide range.

XNNPACK has no 16x8 kernels, so LiteRT runs this model on its reference kernels; the runtime records
the delegated fraction (0 here), and the latency is that of the reference kernels.
"""

from __future__ import annotations

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.tflite_common import representative, tflite_artifact
from suite.registry import methods


class Tflite16x8Params(Params):
    calibration_samples: int | None = Field(None, ge=1, description="first N of the calibration split; None = all")


@methods.register("tflite-16x8", family="ptq", simulated=False, format="tflite")
class Tflite16x8(Method):
    name = "tflite-16x8"
    family = "ptq"
    artifact_format = "tflite"
    summary = "TFLite int16 activations x int8 weights (no XNNPACK kernels: reference kernels)"
    Params = Tflite16x8Params

    def apply(self, ctx: PrepareContext, params: Tflite16x8Params):  # type: ignore[override, no-untyped-def]
        import tensorflow as tf

        x_cal = ctx.splits.x_cal[: params.calibration_samples]

        def configure(converter) -> None:  # type: ignore[no-untyped-def]
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative(x_cal)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]

        return tflite_artifact(
            ctx, configure, simulated=False, weight_bits=8, activation_bits=16,
            details={"granularity": "per-channel", "symmetric": True, "calibration": "minmax",
                     "calibration_samples_used": int(len(x_cal))},
        )  # fmt: skip
