"""``mixed-hawq``: Hessian-aware 4/8-bit weight allocation (HAWQ-v2/v3 style), simulated.

1. Sensitivity per layer: the average Hessian trace of the loss w.r.t. the layer's weights, estimated
   with Hutchinson's method (E[v^T H v] over Rademacher v; Hessian-vector products by double backprop
   in torch) on training samples, times the extra squared error that 4-bit instead of 8-bit weights
   add: Omega_i = Tr(H_i)/n_i * (||Q4(W_i) - W_i||^2 - ||Q8(W_i) - W_i||^2)   (HAWQ-v2's metric).
2. Allocation: an integer linear program (scipy's ``milp``, as HAWQ-v3 uses an ILP) picks which layers
   get 4 bits, minimising the total Omega subject to an average weight width of ``target_avg_bits``.
3. Artifact: ONNX Runtime ``quantize_static`` with per-weight ``quant_type`` overrides (INT4 for the
   chosen layers, INT8 for the rest, uint8 activations).

Hand-written because the libraries that implement HAWQ (the HAWQ research code, NNCF's HAWQ precision
initialiser) target their own training stacks and not ORT; the pieces (Hutchinson, ILP) are short.
ORT's CPU provider has no int4 Conv/Gemm kernel, so the artifact is ``simulated``: its accuracy is real,
its 4-bit layers compute in float after dequantization. The record carries the trace table, the ILP's
choice, and the accuracy of all-int8 / the choice / all-int4 on the selection split.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.mixed import MixedParams, selection_data
from suite.methods.onnx_graph import analyse, onnx_artifact
from suite.methods.ort_common import preprocess
from suite.methods.ort_qdq import compute_nodes, ort_kernels, ort_predict, qdq_quantize
from suite.methods.weight_only import quantize_symmetric


class HawqParams(Params):
    target_avg_bits: float = Field(6.0, ge=4.0, le=8.0, description="average weight bits over all quantized weights")
    hutchinson_samples: int = Field(32, ge=1, description="Rademacher vectors per trace estimate")
    hessian_batch: int = Field(256, ge=8, description="training samples the loss is taken over")
    per_channel: bool = True
    calibration: Literal["minmax", "entropy", "percentile"] = "minmax"
    seed: int = 0


def hessian_traces(module: Any, x: np.ndarray, y: np.ndarray, samples: int, seed: int) -> list[float]:
    """Hutchinson estimates of Tr(H) of the cross-entropy loss w.r.t. each Conv2d/Linear weight."""
    import torch

    from suite.methods.torch_common import single_thread, weight_layers

    params = [m.weight for _, m in weight_layers(module)]
    generator = torch.Generator().manual_seed(seed)
    module.eval()
    with single_thread():
        loss = torch.nn.functional.cross_entropy(module(torch.from_numpy(x)), torch.from_numpy(y))
        grads = torch.autograd.grad(loss, params, create_graph=True)
        traces = np.zeros(len(params))
        for _ in range(samples):
            vs = [torch.randint(0, 2, p.shape, generator=generator).to(p.dtype) * 2 - 1 for p in params]
            hvs = torch.autograd.grad(grads, params, grad_outputs=vs, retain_graph=True)
            traces += np.array([float((hv * v).sum()) for hv, v in zip(hvs, vs)])
    return list(traces / samples)


def allocate(omega: np.ndarray, sizes: np.ndarray, target_avg_bits: float) -> np.ndarray:
    """x_i = 1 where layer i gets 4 bits: minimise sum omega_i x_i, s.t. average bits <= target."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    need = (8.0 - target_avg_bits) * sizes.sum()  # bits that must be saved: 4 per weight moved to 4-bit
    result = milp(
        c=omega,
        constraints=LinearConstraint(4.0 * sizes[None, :], lb=need, ub=np.inf),
        integrality=np.ones_like(omega),
        bounds=Bounds(0, 1),
    )
    if not result.success:
        return np.ones_like(omega)
    return np.round(result.x).astype(int)


class MixedHawq(Method):
    Params = HawqParams

    def apply(self, ctx: PrepareContext, params: HawqParams):  # type: ignore[override, no-untyped-def]
        from onnxruntime.quantization import QuantType

        from suite.errors import BadInput
        from suite.methods.torch_common import clone_sequential, weight_layers

        module = clone_sequential(ctx.reference.module)
        rng = np.random.default_rng(params.seed)
        pick = rng.choice(
            len(ctx.splits.x_train), size=min(params.hessian_batch, len(ctx.splits.x_train)), replace=False
        )
        traces = hessian_traces(
            module, ctx.splits.x_train[pick], ctx.splits.y_train[pick], params.hutchinson_samples, params.seed
        )
        layers = weight_layers(module)
        src = preprocess(ctx.fp32_onnx(), ctx.workdir / "preprocessed.onnx")
        onnx_layers = compute_nodes(src)
        if len(onnx_layers) != len(layers):
            raise BadInput(
                f"mixed-hawq: {len(layers)} torch layers but {len(onnx_layers)} ONNX compute nodes; cannot pair them"
            )
        rows, omega, sizes = [], [], []
        for (name, m), (node, _op, w_name), trace in zip(layers, onnx_layers, traces):
            w = m.weight.detach().numpy().astype(np.float64)
            axis = 0
            err = {}
            for bits in (4, 8):
                q, scale = quantize_symmetric(w, bits, params.per_channel, axis)
                shape = [-1] + [1] * (w.ndim - 1) if params.per_channel else [1] * w.ndim
                err[bits] = float(((q * scale.reshape(shape) - w) ** 2).sum())
            avg_trace = max(trace, 0.0) / w.size
            omega.append(avg_trace * (err[4] - err[8]))
            sizes.append(w.size)
            rows.append(
                {
                    "layer": name,
                    "node": node,
                    "weight": w_name,
                    "n_weights": int(w.size),
                    "hessian_trace": float(trace),
                    "avg_trace": avg_trace,
                    "sq_err_int4": err[4],
                    "sq_err_int8": err[8],
                    "omega": omega[-1],
                }
            )
        choice = allocate(np.array(omega), np.array(sizes, dtype=float), params.target_avg_bits)
        for row, x in zip(rows, choice):
            row["bits"] = 4 if x else 8

        def build(four: set[str], path):  # type: ignore[no-untyped-def]
            overrides = {w: [{"quant_type": QuantType.QInt4}] for w in four}
            return qdq_quantize(
                src,
                path,
                ctx.splits.x_cal,
                per_channel=params.per_channel,
                calibration=params.calibration,
                overrides=overrides,
            )

        x_sel, y_sel, selection = selection_data(ctx, MixedParams(), src)
        work = ctx.workdir / "candidate.onnx"
        context = {}
        for label, four in (("all_int8", set()), ("all_int4", {r["weight"] for r in rows})):
            build(four, work)
            context[label] = float((ort_predict(work, x_sel).argmax(1) == y_sel).mean())
        out = build({r["weight"] for r in rows if r["bits"] == 4}, ctx.workdir / "model.onnx")
        context["hawq"] = float((ort_predict(out, x_sel).argmax(1) == y_sel).mean())
        context["fp32"] = float((ort_predict(src, x_sel).argmax(1) == y_sel).mean())
        work.unlink(missing_ok=True)
        src.unlink(missing_ok=True)
        facts = analyse(out)
        hist = {int(b): n for b, n in facts["weight_bits_hist"].items()}
        total = sum(hist.values()) or 1
        return onnx_artifact(
            out,
            simulated=True,
            weight_bits=None,
            activation_bits=8,
            details={
                "target_avg_bits": params.target_avg_bits,
                "avg_weight_bits": sum(b * n for b, n in hist.items()) / total,
                "allocation": rows,
                "selection": selection,
                "selection_top1": context,
                "granularity": "per-channel" if params.per_channel else "per-tensor",
                "ort_cpu": ort_kernels(out),
            },
        )
