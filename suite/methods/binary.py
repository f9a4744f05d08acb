"""``binary``: binarized weights and activations (BNN / XNOR-Net), fine-tuned from the fp32 weights.

Weights: sign(W) times one scale per output channel, alpha_c = mean |W_c| (XNOR-Net), so each
binarized layer holds exactly two values per output channel. Activations: the input of each binarized
layer is sign(x - t) with a learned per-channel threshold t (ReActNet's RSign; after a ReLU this is
"is this unit above t"), so the layer sees +-1 and its dot products are XNOR-popcounts in principle.
Gradients pass through both signs by the clipped straight-through estimator. The first and last layers
stay in float, as is usual for BNNs. See ``lowbit`` for why this is hand-written and simulated.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.lowbit import lowbit_artifact, replace


def binarize(w: Any) -> Any:
    """alpha_c * sign(W), alpha_c = mean |W| over each output channel; sign(0) counts as +1."""
    import torch

    dims = tuple(range(1, w.dim()))
    alpha = w.abs().mean(dim=dims, keepdim=True)
    return torch.where(w >= 0, alpha, -alpha)


def binary_input(layer: Any) -> Any:
    """``layer`` fed sign(x - t): t learned per input channel, clipped STE in training."""
    import torch
    from torch import nn

    class SignActivation(nn.Module):
        def __init__(self, channels: int, conv: bool) -> None:
            super().__init__()
            shape = (1, channels, 1, 1) if conv else (1, channels)
            self.threshold = nn.Parameter(torch.zeros(shape))

        def forward(self, x):  # type: ignore[no-untyped-def]
            shifted = x - self.threshold
            if self.training:
                clipped = shifted.clamp(-1.0, 1.0)
                return clipped + (torch.where(shifted >= 0, 1.0, -1.0) - clipped).detach()
            return torch.sign(shifted)

    conv = isinstance(layer, nn.Conv2d)
    channels = layer.in_channels if conv else layer.in_features
    return nn.Sequential(SignActivation(channels, conv), layer)


class BinaryParams(Params):
    epochs: int = Field(15, ge=0, description="fine-tuning epochs from the fp32 weights")
    lr: float = Field(1e-3, gt=0)
    binarize_activations: bool = True
    keep_first_last: bool = True
    seed: int = 0


class Binary(Method):
    Params = BinaryParams

    def apply(self, ctx: PrepareContext, params: BinaryParams):  # type: ignore[override, no-untyped-def]
        def prepare(module: Any, names: list[str]) -> tuple[list[str], list[str]]:
            if not params.binarize_activations:
                return names, []
            lookup = dict(module.named_modules())
            for name in names:
                replace(module, name, binary_input(lookup[name]))
            return [f"{n}.1" for n in names], [f"sign(x - t) before {n}" for n in names]

        return lowbit_artifact(
            ctx,
            binarize,
            bits=1,
            keep_first_last=params.keep_first_last,
            epochs=params.epochs,
            lr=params.lr,
            seed=params.seed,
            prepare=prepare,
            activation_bits=1 if params.binarize_activations else 32,
            details={
                "weights": "alpha_c * sign(W), alpha_c = mean|W_c|",
                "granularity": "per-channel scale",
                "activations": "sign(x - t), learned per-channel t" if params.binarize_activations else "float",
            },
        )
