"""``ternary``: ternary weight networks (TWN, Li & Liu 2016): weights in {-alpha, 0, +alpha}.

Threshold delta = 0.7 * mean|W|; alpha = mean of |W| over the weights above it; per tensor (as in the
paper) or per output channel. Fine-tuned from fp32 with the straight-through estimator; activations
stay float; first and last layers stay float. See ``lowbit`` for why this is hand-written and simulated.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.lowbit import lowbit_artifact


def ternarize(w: Any, per_channel: bool = False, ratio: float = 0.7) -> Any:
    """{-alpha, 0, alpha} with delta = ratio * mean|W| (over the tensor or each output channel)."""
    dims = tuple(range(1, w.dim())) if per_channel else tuple(range(w.dim()))
    magnitude = w.abs()
    delta = ratio * magnitude.mean(dim=dims, keepdim=True)
    mask = (magnitude > delta).to(w.dtype)
    alpha = (magnitude * mask).sum(dim=dims, keepdim=True) / mask.sum(dim=dims, keepdim=True).clamp(min=1.0)
    return alpha * w.sign() * mask


class TernaryParams(Params):
    epochs: int = Field(10, ge=0, description="fine-tuning epochs from the fp32 weights")
    lr: float = Field(1e-3, gt=0)
    granularity: Literal["per-tensor", "per-channel"] = "per-tensor"
    threshold_ratio: float = Field(0.7, gt=0, lt=2)
    keep_first_last: bool = True
    seed: int = 0


class Ternary(Method):
    Params = TernaryParams

    def apply(self, ctx: PrepareContext, params: TernaryParams):  # type: ignore[override, no-untyped-def]
        per_channel = params.granularity == "per-channel"

        def quantizer(w: Any) -> Any:
            return ternarize(w, per_channel, params.threshold_ratio)

        return lowbit_artifact(
            ctx,
            quantizer,
            bits=2,
            keep_first_last=params.keep_first_last,
            epochs=params.epochs,
            lr=params.lr,
            seed=params.seed,
            details={
                "granularity": params.granularity,
                "threshold_ratio": params.threshold_ratio,
                "weights": "{-alpha, 0, +alpha}",
                "activations": "float",
            },
        )
