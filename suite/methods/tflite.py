"""The TFLite methods: one converter recipe each, run by ``tflite_common.tflite_artifact``.

All of them convert the task's Keras model, or the Keras twin of its torch model (``tflite_common``),
with ``tf.lite.TFLiteConverter``; they differ only in how the converter is configured:

- ``tflite-fp32``: no optimisation; the baseline of the LiteRT rows.
- ``tflite-fp16``: float16 weights behind DEQUANTIZE ops. LiteRT's CPU path (XNNPACK and the reference
  kernels) dequantizes them to float32 at load and computes in float32 unless the delegate runs fp16
  inference on hardware with fp16 arithmetic (Arm v8.2+): on x86 the benefit is size only.
- ``tflite-dynamic``: dynamic-range int8 weights; Conv and FullyConnected run TFLite's "hybrid" kernels,
  which quantize their float input per batch (the counterpart of ONNX Runtime's ``dynamic``).
- ``tflite-int8``: full-integer post-training quantization (int8 weights and activations, float32
  input/output), calibrated on the task's calibration split as the representative dataset.
- ``tflite-16x8``: int16 activations with int8 weights. XNNPACK has no 16x8 kernels, so LiteRT runs it
  on its reference kernels; the runtime records the delegated fraction (0).
- ``edgetpu-int8``: ``tflite-int8`` compiled by ``edgetpu_compiler`` (x86-64 Linux) for the Coral Edge
  TPU; the fraction of ops it mapped is ``artifact.details.edgetpu.mapped_fraction``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import Field

from suite.methods.base import Artifact, Method, Params, PrepareContext
from suite.methods.tflite_common import representative, tflite_artifact


class PerChannelParams(Params):
    per_channel: bool = True


class CalibratedParams(Params):
    calibration_samples: int | None = Field(None, ge=1, description="first N of the calibration split; None = all")


class CalibratedPerChannelParams(CalibratedParams):
    per_channel: bool = True


@dataclass(frozen=True)
class Recipe:
    """How the converter is configured, and what the file then holds."""

    weight_bits: int
    activation_bits: int
    optimize: bool = False  # converter.optimizations = [DEFAULT]
    float16: bool = False  # target_spec.supported_types = [float16]
    ops: str | None = None  # a tf.lite.OpsSet member for target_spec.supported_ops
    calibrated: bool = False  # representative dataset = the calibration split
    details: dict[str, Any] = field(default_factory=dict)


class TfliteMethod(Method):
    """A TFLite conversion described by ``recipe``; ``Params`` says which knobs it takes."""

    recipe: ClassVar[Recipe]

    def apply(self, ctx: PrepareContext, params: Any) -> Artifact:
        import tensorflow as tf

        recipe = self.recipe
        x_cal = ctx.splits.x_cal[: params.calibration_samples] if recipe.calibrated else None
        per_channel = getattr(params, "per_channel", None)

        def configure(converter: Any) -> None:
            if recipe.optimize:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if recipe.float16:
                converter.target_spec.supported_types = [tf.float16]
            if x_cal is not None:
                converter.representative_dataset = representative(x_cal)
            if recipe.ops:
                converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, recipe.ops)]
            if per_channel is not None:
                converter._experimental_disable_per_channel = not per_channel

        details = dict(recipe.details)
        if per_channel is not None:
            details["granularity"] = "per-channel" if per_channel else "per-tensor"
        if x_cal is not None:
            details["calibration_samples_used"] = int(len(x_cal))
        return tflite_artifact(
            ctx,
            configure,
            simulated=False,
            weight_bits=recipe.weight_bits,
            activation_bits=recipe.activation_bits,
            details=details or None,
        )


class TfliteFp32(TfliteMethod):
    recipe = Recipe(weight_bits=32, activation_bits=32)


class TfliteFp16(TfliteMethod):
    recipe = Recipe(
        weight_bits=16,
        activation_bits=32,
        optimize=True,
        float16=True,
        details={"compute": "float16 weights dequantized at load; float32 compute on CPUs without fp16 arithmetic"},
    )


class TfliteDynamic(TfliteMethod):
    Params = PerChannelParams
    recipe = Recipe(weight_bits=8, activation_bits=8, optimize=True, details={"symmetric": True})


class TfliteInt8(TfliteMethod):
    Params = CalibratedPerChannelParams
    recipe = Recipe(
        weight_bits=8,
        activation_bits=8,
        optimize=True,
        ops="TFLITE_BUILTINS_INT8",
        calibrated=True,
        details={"symmetric": True, "calibration": "minmax"},
    )


class Tflite16x8(TfliteMethod):
    Params = CalibratedParams
    recipe = Recipe(
        weight_bits=8,
        activation_bits=16,
        optimize=True,
        calibrated=True,
        ops="EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8",
        details={"granularity": "per-channel", "symmetric": True, "calibration": "minmax"},
    )


class EdgeTpuInt8(TfliteInt8):
    """``tflite-int8``'s artifact compiled for the Edge TPU (the same knobs: the compiler adds none that
    change numerics). Ops the compiler could not map stay on the host CPU."""

    def apply(self, ctx: PrepareContext, params: Any) -> Artifact:
        from suite.methods.edgetpu_compiler import compile_for_edgetpu

        base = super().apply(ctx, params)
        compiled, report = compile_for_edgetpu(base.path, ctx.workdir / "edgetpu")
        return Artifact.for_file(
            "tflite",
            compiled,
            simulated=False,
            weight_bits=base.weight_bits,
            activation_bits=base.activation_bits,
            precision_map=base.precision_map,
            details={**base.details, "edgetpu": report, "cpu_model_sha256": base.sha256},
        )
