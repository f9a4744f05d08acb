"""``mixed-precision``: int8 everywhere except the layers that break an accuracy budget, which stay in
float (accuracy-driven fallback, as in AIMET's AMP and Intel Neural Compressor's fallback tuning).

1. Sensitivity: quantize one layer at a time (ORT ``quantize_static`` with ``nodes_to_quantize``) and
   measure the top-1 drop against the float model.
2. Greedy choice: start from full int8; while the drop exceeds ``budget_pts``, return the most
   sensitive remaining layer to float (``nodes_to_exclude``) and measure again.

The choice is made on a labelled split that evaluation never sees: the task's validation split
(``dataset.n_val``). A task without one falls back to the calibration split, scored by agreement
with the float model's predictions (a label-free bound: a disagreement rate of b points bounds the
accuracy drop on that data by b), and the record says which. The eval split is only used for the
record's deployed accuracy. The record carries the sensitivity table, every greedy step and the layers
kept in float; the precision map is read from the file.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from suite.methods.base import Method, PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.ort_common import preprocess
from suite.methods.ort_ptq import PtqParams
from suite.methods.ort_qdq import ort_kernels, ort_predict, qdq_quantize, quantizable_nodes

SENSITIVITY_OPS = {
    "Conv",
    "ConvTranspose",
    "Gemm",
    "MatMul",
    "BatchNormalization",
    "InstanceNormalization",
    "LayerNormalization",
    "AveragePool",
}


class MixedParams(PtqParams):
    budget_pts: float = Field(1.0, ge=0, description="allowed top-1 drop vs float, in points, on the selection split")
    selection: Literal["auto", "val", "calibration-agreement"] = Field(
        "auto", description="auto: the validation split if the task has one, else agreement on the calibration split"
    )


def selection_data(ctx: PrepareContext, params: MixedParams, fp32_path) -> tuple[np.ndarray, np.ndarray, str]:  # type: ignore[no-untyped-def]
    from suite.errors import BadInput

    splits = ctx.splits
    if params.selection in ("auto", "val") and splits.x_val is not None and len(splits.x_val):
        return (
            splits.x_val,
            splits.y_val,
            f"validation split ({len(splits.x_val)} labelled samples, disjoint from eval)",
        )  # type: ignore[return-value]
    if params.selection == "val":
        raise BadInput(
            f"mixed-precision: selection val needs a validation split; set dataset.n_val in the task {ctx.task.name!r}"
        )
    x = splits.x_cal[: params.calibration_samples]
    return (
        x,
        ort_predict(fp32_path, x).argmax(1),
        f"calibration split ({len(x)} samples), agreement with fp32 predictions",
    )


class MixedPrecision(Method):
    Params = MixedParams

    def apply(self, ctx: PrepareContext, params: MixedParams):  # type: ignore[override, no-untyped-def]
        src = preprocess(ctx.fp32_onnx(), ctx.workdir / "preprocessed.onnx")
        x_cal = ctx.splits.x_cal[: params.calibration_samples]
        x_sel, y_sel, selection = selection_data(ctx, params, src)
        work = ctx.workdir / "candidate.onnx"

        def score(path) -> float:  # type: ignore[no-untyped-def]
            return float((ort_predict(path, x_sel).argmax(1) == y_sel).mean())

        def quantize(**nodes: Any):  # type: ignore[no-untyped-def]
            return qdq_quantize(
                src,
                work,
                x_cal,
                per_channel=params.per_channel,
                activation_type=params.activation_type,
                weight_type=params.weight_type,
                calibration=params.calibration,
                symmetric_activations=params.symmetric_activations,
                **nodes,
            )

        fp32_score = score(src)
        candidates = [(name, op) for name, op in quantizable_nodes(src) if op in SENSITIVITY_OPS]
        table = []
        for name, op in candidates:
            quantize(nodes_to_quantize=[name])
            s = score(work)
            table.append({"node": name, "op": op, "top1_only_this_int8": s, "drop_pts": (fp32_score - s) * 100})
        order = [row["node"] for row in sorted(table, key=lambda r: -r["drop_pts"])]
        excluded: list[str] = []
        steps = []
        while True:
            quantize(nodes_to_exclude=list(excluded))
            s = score(work)
            drop = (fp32_score - s) * 100
            steps.append({"kept_float": list(excluded), "top1": s, "drop_pts": drop})
            if drop <= params.budget_pts or len(excluded) == len(order):
                break
            excluded.append(order[len(excluded)])
        out = ctx.workdir / "model.onnx"
        work.replace(out)
        src.unlink(missing_ok=True)
        return onnx_artifact(
            out,
            simulated=False,
            weight_bits=8,
            activation_bits=8,
            details={
                "budget_pts": params.budget_pts,
                "selection": selection,
                "selection_fp32_top1": fp32_score,
                "selection_int8_top1": steps[0]["top1"],
                "selection_final_top1": steps[-1]["top1"],
                "budget_met_on_selection": steps[-1]["drop_pts"] <= params.budget_pts,
                "full_int8_meets_budget": steps[0]["drop_pts"] <= params.budget_pts,
                "sensitivity": table,
                "steps": steps,
                "kept_float": excluded,
                "granularity": "per-channel" if params.per_channel else "per-tensor",
                "calibration": params.calibration,
                "ort_cpu": ort_kernels(out),
            },
        )
