"""``fixed-point``: Qm.n fixed point, i.e. int8 with every scale a power of two (per tensor, zero point 0
for signed tensors), for weights and activations, as on DSPs and in TVM's ARM fixed-point setting:
rescaling between layers is then a shift, not a multiply.

ONNX Runtime does the quantizing: its calibrator measures each tensor's range, we round each scale up
to the next power of two (so the range still fits), and hand the scales to ``quantize_static`` through
its ``TensorQuantOverrides``. Biases are int32 with scale input_scale x weight_scale, itself a power of
two; ORT's bias-driven weight-scale adjustment is turned off so it cannot break that.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.ort_common import ArrayReader, input_name, preprocess
from suite.methods.ort_qdq import compute_nodes, ort_kernels, pow2_ceil, qdq_quantize


class FixedPointParams(Params):
    bits: Literal[8] = 8
    activation_type: Literal["uint8", "int8"] = Field(
        "uint8",
        description="uint8: unsigned UQm.n (zero point 0) for non-negative tensors, zero point 128 otherwise; "
        "int8: signed Qm.n everywhere (costs ReLU outputs a bit: 84.6% vs 97.4% on digits-cnn here)",
    )
    calibration_samples: int | None = Field(None, ge=1)


def calibrated_ranges(path, x_cal):  # type: ignore[no-untyped-def]
    """{tensor name: (min, max)} from ORT's MinMax calibrator over the calibration split."""
    import tempfile
    from pathlib import Path

    import numpy as np
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator

    with tempfile.TemporaryDirectory() as tmp:
        calibrator = create_calibrator(
            str(path), augmented_model_path=str(Path(tmp) / "augmented.onnx"), calibrate_method=CalibrationMethod.MinMax
        )
        calibrator.collect_data(ArrayReader(input_name(path), x_cal))
        data = calibrator.compute_data()
    return {name: (float(np.min(v.range_value[0])), float(np.max(v.range_value[1]))) for name, v in data.data.items()}


class FixedPoint(Method):
    Params = FixedPointParams

    def apply(self, ctx: PrepareContext, params: FixedPointParams):  # type: ignore[override, no-untyped-def]
        import numpy as np
        import onnx
        from onnxruntime.quantization import QuantType

        src = preprocess(ctx.fp32_onnx(), ctx.workdir / "preprocessed.onnx")
        x_cal = ctx.splits.x_cal[: params.calibration_samples]
        overrides: dict = {}
        formats: dict[str, str] = {}
        for name, (lo, hi) in calibrated_ranges(src, x_cal).items():
            signed = params.activation_type == "int8" or lo < 0
            bound = max(abs(lo), abs(hi), 1e-8)
            if params.activation_type == "uint8":
                scale = pow2_ceil(bound / (127 if lo < 0 else 255))
                zero_point, qtype = (128 if lo < 0 else 0), QuantType.QUInt8
            else:
                scale = pow2_ceil(bound / 127)
                zero_point, qtype = 0, QuantType.QInt8
            zp_dtype = np.uint8 if qtype == QuantType.QUInt8 else np.int8
            overrides[name] = [
                {
                    "scale": np.array(scale, np.float32),
                    "zero_point": np.array(zero_point, zp_dtype),
                    "quant_type": qtype,
                }
            ]
            formats[name] = qformat(scale, 8, signed)
        model = onnx.load(str(src))
        inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
        for _node, _op, w_name in compute_nodes(src):
            scale = pow2_ceil(max(float(np.abs(inits[w_name]).max()), 1e-8) / 127)
            overrides[w_name] = [
                {
                    "scale": np.array(scale, np.float32),
                    "zero_point": np.array(0, np.int8),
                    "quant_type": QuantType.QInt8,
                }
            ]
            formats[w_name] = qformat(scale, 8, True)
        out = ctx.workdir / "model.onnx"
        qdq_quantize(
            src,
            out,
            x_cal,
            per_channel=False,
            activation_type=params.activation_type,
            weight_type="int8",
            overrides=overrides,
            extra={"QDQDisableWeightAdjustForInt32Bias": True},
        )
        src.unlink(missing_ok=True)
        return onnx_artifact(
            out,
            simulated=False,
            weight_bits=8,
            activation_bits=8,
            details={
                "granularity": "per-tensor",
                "symmetric": params.activation_type == "int8",
                "q_formats": formats,
                "calibration_samples_used": int(len(x_cal)),
                "ort_cpu": ort_kernels(out),
            },
        )


def qformat(scale: float, bits: int, signed: bool) -> str:
    """The Qm.n name of a power-of-two scale: n fractional bits, m integer bits (sign bit excluded)."""
    import math

    frac = -int(round(math.log2(scale)))
    integer = bits - (1 if signed else 0) - frac
    return f"{'' if signed else 'U'}Q{integer}.{frac}"
