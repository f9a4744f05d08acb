"""``aimet-adaround``, ``aimet-cle``, ``aimet-seqmse``: Qualcomm AIMET's PTQ techniques on the task's ONNX
model (``aimet-onnx``), exported as QDQ ONNX for every runtime that loads ONNX.

One pipeline (``quantize`` below), three techniques:

- ``cle``: ``equalize_model`` (BatchNorm fold, ReLU6 replaced by ReLU, cross-layer scaling of
  consecutive Conv/ReLU/Conv pairs, high-bias fold), then QuantSim calibration. Scaling through a
  clipped activation would change the function, so AIMET swaps ReLU6 for ReLU first: on a ReLU6
  network (EfficientNet-Lite, MobileNet) that alone changes the model, and the record counts the
  swaps (``details.relu6_replaced_with_relu``). AIMET's bias correction exists only in
  ``aimet-torch``, not in ``aimet-onnx`` 2.42 (and the torch one needs the model in torch, which an
  ONNX task does not have): the high-bias fold that CLE itself does is what is applied, and the record
  says so (``details.bias_correction``);
- ``adaround``: BatchNorm folded, then ``apply_adaround``: per layer, the rounding of each weight
  (up or down) learned to minimise the layer's output error on calibration data;
- ``seqmse``: BatchNorm folded, then ``apply_seq_mse``: per layer, the weight encoding (clipping range)
  chosen among ``candidates`` by the MSE of the layer's quantized output, layers in sequence.

QuantSim is AIMET's ``default`` configuration (weights int8 symmetric, per channel for Conv/Gemm/MatMul;
activations 8 bit asymmetric, every op output quantized), calibrated with ``quant_scheme`` on the
calibration split, then ``to_onnx_qdq`` with integer weights, activations as uint8 (x86's fast
u8 x s8 path, as ``ptq-static``'s default). A model AIMET cannot take (an operator its connected graph
does not know) fails the job with one line naming aimet-onnx, its version and the cause.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.ort_qdq import ort_kernels
from suite.methods.toolkits import quiet, require, toolkit_errors

LOGGERS = (
    "Quant",
    "Utils",
    "SeqMse",
    "AdaRound",
    "ConnectedGraph",
    "BatchNormFolding",
    "CrossLayerEqualization",
    "aimet",
)


class AimetParams(Params):
    quant_scheme: Literal["min_max", "tf_enhanced"] = Field(
        "min_max", description="activation range calibration (tf_enhanced: SQNR-based)"
    )
    calibration_samples: int | None = Field(None, ge=1, description="first N of the calibration split; None = all")
    batch_size: int = Field(32, ge=1)


class AdaroundParams(AimetParams):
    iterations: int = Field(
        200,
        ge=1,
        description="AdaRound optimisation steps per layer (AIMET recommends 10000 for 8 bits; 200 fits a 2-core sweep)",
    )


class SeqMseParams(AimetParams):
    candidates: int = Field(20, ge=2, description="encoding candidates searched per weight")


def _batches(x: np.ndarray, name: str, batch_size: int, fixed: bool = False) -> list[dict[str, np.ndarray]]:
    """Calibration feeds; a model exported with a fixed batch gets only full batches."""
    stop = len(x) - len(x) % batch_size if fixed else len(x)
    return [{name: np.ascontiguousarray(x[i : i + batch_size])} for i in range(0, stop, batch_size)]


def quantize(ctx: PrepareContext, params: AimetParams, technique: str) -> Any:
    """The QDQ artifact of one AIMET technique (``cle``, ``adaround`` or ``seqmse``)."""
    import onnx

    from suite.methods.ort_common import fixed_batch, input_name

    require("aimet_onnx", "aimet-onnx")
    src = ctx.fp32_onnx()
    x_cal = ctx.splits.x_cal[: params.calibration_samples]
    fixed = fixed_batch(src)  # a user's batch-1 export takes batches of 1
    inputs = _batches(x_cal, input_name(src), fixed or params.batch_size, fixed=fixed is not None)
    details: dict[str, Any] = {
        "technique": technique,
        "quant_scheme": params.quant_scheme,
        "config": "default (per-channel weights)",
        "calibration_samples_used": int(len(x_cal)),
    }
    with toolkit_errors("aimet-onnx"), quiet(*LOGGERS):
        from aimet_onnx import apply_adaround, apply_seq_mse
        from aimet_onnx.batch_norm_fold import fold_all_batch_norms_to_weight
        from aimet_onnx.cross_layer_equalization import equalize_model
        from aimet_onnx.quantsim import QuantizationSimModel

        model = onnx.load(str(src))
        if technique == "cle":
            clips = sum(n.op_type == "Clip" for n in model.graph.node)
            equalize_model(model)  # BN fold + ReLU6 -> ReLU + cross-layer scaling + high-bias fold
            details["bias_correction"] = "high-bias fold (part of CLE); empirical bias correction is not in aimet-onnx"
            details["relu6_replaced_with_relu"] = clips - sum(n.op_type == "Clip" for n in model.graph.node)
        else:
            folded = fold_all_batch_norms_to_weight(model)
            details["batchnorms_folded"] = (
                len(folded[0]) if isinstance(folded, tuple) and folded and hasattr(folded[0], "__len__") else None
            )
        sim = QuantizationSimModel(
            model,
            param_type="int8",
            activation_type="int8",
            quant_scheme=params.quant_scheme,
            config_file="default",
            path=str(ctx.workdir / "aimet"),
            session_options_kwargs={"intra_op_num_threads": 1},
        )
        if technique == "adaround":
            apply_adaround(sim, inputs, num_iterations=params.iterations)  # type: ignore[attr-defined]
            details["iterations"] = params.iterations  # type: ignore[attr-defined]
        elif technique == "seqmse":
            apply_seq_mse(sim, inputs, num_candidates=params.candidates)  # type: ignore[attr-defined]
            details["candidates"] = params.candidates  # type: ignore[attr-defined]
        sim.compute_encodings(inputs)
        qdq = sim.to_onnx_qdq(prequantize_constants=True, force_activation_as="unsigned")
    out = ctx.workdir / "model.onnx"
    onnx.save(qdq, str(out))
    import shutil

    shutil.rmtree(ctx.workdir / "aimet", ignore_errors=True)
    details["ort_cpu"] = ort_kernels(out)
    return onnx_artifact(out, simulated=False, weight_bits=8, activation_bits=8, details=details)


class AimetCle(Method):
    Params = AimetParams

    def apply(self, ctx: PrepareContext, params: AimetParams):  # type: ignore[override, no-untyped-def]
        return quantize(ctx, params, "cle")


class AimetAdaround(Method):
    Params = AdaroundParams

    def apply(self, ctx: PrepareContext, params: AdaroundParams):  # type: ignore[override, no-untyped-def]
        return quantize(ctx, params, "adaround")


class AimetSeqMse(Method):
    Params = SeqMseParams

    def apply(self, ctx: PrepareContext, params: SeqMseParams):  # type: ignore[override, no-untyped-def]
        return quantize(ctx, params, "seqmse")
