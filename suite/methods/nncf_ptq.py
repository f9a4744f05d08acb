"""``nncf-ptq`` and ``nncf-accuracy-control``: NNCF's post-training quantization on the task's ONNX model.

``nncf.quantize`` takes the same float ONNX file every ONNX method starts from and returns a QDQ ONNX
model (NNCF's ONNX backend), which every runtime that loads ONNX runs (ORT and OpenVINO): so a row of
this method against ``ptq-static`` on the same runtime compares the two toolkits' quantizers, and the
same artifact on ORT against OpenVINO compares the runtimes. Parameters map one to one to NNCF's:
``preset`` (performance: symmetric activations; mixed: asymmetric), ``bias_correction`` (fast, full or
none), ``subset_size`` (calibration samples), ``model_type: transformer`` (NNCF's transformer
patterns, SmoothQuant) with ``smooth_quant_alpha`` for the MatMuls (NNCF's default 0.95 when unset;
negative disables), ``target_device``.

``nncf-accuracy-control`` is ``nncf.quantize_with_accuracy_control`` on ONNX: NNCF quantizes, measures
top-1 on a validation set with the callback given here (ONNX Runtime, one thread), and reverts the
layers that cost the most to float until the drop is within ``max_drop``. The validation set is the
task's validation split when it has one, else the calibration split labelled by the fp32 model's own
predictions (agreement), never the eval split (``mixed-precision`` chooses the same way).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.ort_qdq import ort_kernels
from suite.methods.toolkits import quiet, require, toolkit_errors, version_of


class NncfPtqParams(Params):
    preset: Literal["performance", "mixed"] = "performance"
    bias_correction: Literal["fast", "full", "none"] = "fast"
    subset_size: int = Field(300, ge=1, description="calibration samples (at most the calibration split)")
    model_type: Literal["cnn", "transformer"] = "cnn"
    smooth_quant_alpha: float | None = Field(
        None, le=1, description="SmoothQuant alpha for MatMul (model_type transformer); None: NNCF's default; < 0: off"
    )
    target_device: Literal["any", "cpu", "cpu_spr"] = "any"


class NncfAccuracyParams(NncfPtqParams):
    max_drop: float = Field(0.01, ge=0, le=1, description="allowed absolute top-1 drop on the validation set")
    selection: Literal["auto", "val", "calibration-agreement"] = "auto"
    calibration_samples: int | None = Field(
        None, ge=1, description="samples of the calibration split used for agreement"
    )


def quantize_kwargs(nncf: Any, params: NncfPtqParams, n_cal: int) -> dict[str, Any]:
    """``nncf.quantize``'s keyword arguments for these parameters."""
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, AdvancedSmoothQuantParameters

    advanced: dict[str, Any] = {}
    if params.bias_correction == "none":
        advanced["disable_bias_correction"] = True
    if params.smooth_quant_alpha is not None:
        advanced["smooth_quant_alphas"] = AdvancedSmoothQuantParameters(matmul=params.smooth_quant_alpha)
    kwargs: dict[str, Any] = {
        "preset": {"performance": nncf.QuantizationPreset.PERFORMANCE, "mixed": nncf.QuantizationPreset.MIXED}[
            params.preset
        ],
        "target_device": {
            "any": nncf.TargetDevice.ANY,
            "cpu": nncf.TargetDevice.CPU,
            "cpu_spr": nncf.TargetDevice.CPU_SPR,
        }[params.target_device],
        "subset_size": min(params.subset_size, n_cal),
        "fast_bias_correction": params.bias_correction != "full",
    }
    if params.model_type == "transformer":
        kwargs["model_type"] = nncf.ModelType.TRANSFORMER
    if advanced:
        kwargs["advanced_parameters"] = AdvancedQuantizationParameters(**advanced)
    return kwargs


def calibration_dataset(nncf: Any, x: np.ndarray, src: Any) -> Any:
    """One sample per item, as NNCF's ONNX backend feeds them (its statistics are per item), fed as every
    runtime feeds the model at ``src`` (one input; text encoders' packed ids and mask; a causal LM's
    window with an empty KV cache: suite.runtimes.lm_feeds.batch_feeds)."""
    from suite.methods.ort_common import graph_io
    from suite.runtimes.lm_feeds import batch_feeds

    feeds = batch_feeds(*graph_io(src))
    return nncf.Dataset([np.ascontiguousarray(x[i : i + 1]) for i in range(len(x))], feeds)


def _details(params: NncfPtqParams, n_cal: int, out: Any) -> dict[str, Any]:
    return {
        "preset": params.preset,
        "bias_correction": params.bias_correction,
        "calibration_samples_used": min(params.subset_size, n_cal),
        "model_type": params.model_type,
        "smooth_quant_alpha": params.smooth_quant_alpha,
        "ort_cpu": ort_kernels(out),
    }


class NncfPtq(Method):
    Params = NncfPtqParams

    def apply(self, ctx: PrepareContext, params: NncfPtqParams):  # type: ignore[override, no-untyped-def]
        import onnx

        nncf = require("nncf", "nncf")
        src = ctx.fp32_onnx()
        x_cal = ctx.splits.x_cal
        with toolkit_errors("nncf"), quiet("nncf"):
            quantized = nncf.quantize(
                onnx.load(str(src)), calibration_dataset(nncf, x_cal, src), **quantize_kwargs(nncf, params, len(x_cal))
            )
        out = ctx.workdir / "model.onnx"
        onnx.save(quantized, str(out))
        return onnx_artifact(
            out, simulated=False, weight_bits=8, activation_bits=8, details=_details(params, len(x_cal), out)
        )


class NncfAccuracyControl(Method):
    Params = NncfAccuracyParams

    def apply(self, ctx: PrepareContext, params: NncfAccuracyParams):  # type: ignore[override, no-untyped-def]
        import onnx

        from suite.methods.mixed import selection_data
        from suite.methods.ort_common import input_name
        from suite.methods.ort_qdq import ort_top1

        nncf = require("nncf", "nncf")
        src = ctx.fp32_onnx()
        name = input_name(src)
        x_cal = ctx.splits.x_cal
        x_val, y_val, selection = selection_data(ctx, params, src)
        scores: list[float] = []

        def validate(model: Any, items: Any) -> float:
            """top-1 of a candidate model on the (sample, label) items NNCF passes (all, or one per call
            when it ranks layers), through ONNX Runtime on one thread."""
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.log_severity_level = 3
            session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
            hits = [int(session.run(None, {name: x})[0].argmax(1)[0] == y) for x, y in items]
            score = float(np.mean(hits)) if hits else 0.0
            if len(hits) == len(x_val):
                scores.append(score)
            return score

        val_items = nncf.Dataset(
            [(np.ascontiguousarray(x_val[i : i + 1]), int(y_val[i])) for i in range(len(x_val))],
            lambda item: {name: item[0]},
        )
        kwargs = quantize_kwargs(nncf, params, len(x_cal))
        kwargs.pop("fast_bias_correction")  # not an argument of quantize_with_accuracy_control
        with toolkit_errors("nncf", "quantize this model with accuracy control"), quiet("nncf"):
            quantized = nncf.quantize_with_accuracy_control(
                onnx.load(str(src)),
                calibration_dataset(nncf, x_cal, src),
                val_items,
                validation_fn=validate,
                max_drop=params.max_drop,
                drop_type=nncf.DropType.ABSOLUTE,
                **kwargs,
            )
        out = ctx.workdir / "model.onnx"
        onnx.save(quantized, str(out))
        details = _details(params, len(x_cal), out)
        details.update(
            max_drop=params.max_drop,
            selection=selection,
            validation_fp32_top1=scores[0] if scores else None,
            validation_top1=ort_top1(out, x_val, y_val),
            validations_run=len(scores),
            nncf=version_of("nncf"),
        )
        return onnx_artifact(out, simulated=False, weight_bits=8, activation_bits=8, details=details)
