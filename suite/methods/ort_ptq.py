"""``ptq-static``: post-training static quantization with ONNX Runtime's ``quantize_static`` (QDQ format).

Calibration (min-max, entropy or percentile) runs ORT's own calibrators over the task's calibration
split. Whether activations are uint8 or int8 decides speed on x86 (VNNI's u8 x s8 dot product), so the
default comes from the hardware profile's ``method_defaults``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.ort_common import calibration_reader, preprocess


class PtqParams(Params):
    calibration: Literal["minmax", "entropy", "percentile"] = "minmax"
    per_channel: bool = True
    activation_type: Literal["uint8", "int8"] = "uint8"
    weight_type: Literal["int8", "uint8"] = "int8"
    symmetric_activations: bool = False
    percentile: float = Field(99.999, gt=50, le=100)
    calibration_samples: int | None = Field(None, ge=1, description="first N of the calibration split; None = all")


class PtqStatic(Method):
    Params = PtqParams

    def apply(self, ctx: PrepareContext, params: PtqParams):  # type: ignore[override, no-untyped-def]
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

        src = preprocess(ctx.fp32_onnx(), ctx.workdir / "preprocessed.onnx")
        out = ctx.workdir / "model.onnx"
        x_cal = ctx.splits.x_cal[: params.calibration_samples]
        reader = calibration_reader(src, x_cal)
        qtype = {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}
        calib = {
            "minmax": CalibrationMethod.MinMax,
            "entropy": CalibrationMethod.Entropy,
            "percentile": CalibrationMethod.Percentile,
        }[params.calibration]
        extra = {"ActivationSymmetric": params.symmetric_activations, "WeightSymmetric": params.weight_type == "int8"}
        if params.calibration == "percentile":
            extra["CalibPercentile"] = params.percentile
        quantize_static(
            str(src),
            str(out),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=params.per_channel,
            activation_type=qtype[params.activation_type],
            weight_type=qtype[params.weight_type],
            calibrate_method=calib,
            extra_options=extra,
        )
        src.unlink(missing_ok=True)
        return onnx_artifact(
            out,
            simulated=False,
            weight_bits=8,
            activation_bits=8,
            details={"calibration_samples_used": int(len(x_cal))},
        )
