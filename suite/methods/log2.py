"""``log2``: power-of-two weights (logarithmic quantization, as in LogQuant / INQ): each weight is
0 or +-2^e with e in a window of 2^(bits-1)-1 exponents below the largest, so a multiply becomes a
shift. No scale factor: the stored values themselves are powers of two. Rounded in the log domain,
fine-tuned from fp32 with the straight-through estimator; activations float; first and last layers
float. See ``lowbit`` for why this is hand-written and simulated.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.lowbit import lowbit_artifact


def log2_quantize(w: Any, bits: int = 4) -> Any:
    """sign(w) * 2^round(log2|w|), exponents clipped to the top 2^(bits-1)-1 below round(log2 max|w|);
    magnitudes under half the smallest level's log step become 0 (one code is zero)."""
    import torch

    levels = 2 ** (bits - 1) - 1
    magnitude = w.abs()
    e_max = torch.round(torch.log2(magnitude.max().clamp(min=1e-30)))
    e_min = e_max - levels + 1
    exponent = torch.round(torch.log2(magnitude.clamp(min=1e-30))).clamp(e_min, e_max)
    keep = (torch.log2(magnitude.clamp(min=1e-30)) >= e_min - 0.5).to(w.dtype)
    return w.sign() * torch.pow(2.0, exponent) * keep


class Log2Params(Params):
    bits: int = Field(4, ge=2, le=8, description="1 sign bit + exponent code (one code is zero)")
    epochs: int = Field(10, ge=0, description="fine-tuning epochs from the fp32 weights")
    lr: float = Field(5e-4, gt=0)
    keep_first_last: bool = True
    seed: int = 0


class Log2(Method):
    Params = Log2Params

    def apply(self, ctx: PrepareContext, params: Log2Params):  # type: ignore[override, no-untyped-def]
        def quantizer(w: Any) -> Any:
            return log2_quantize(w, params.bits)

        return lowbit_artifact(
            ctx,
            quantizer,
            bits=params.bits,
            keep_first_last=params.keep_first_last,
            epochs=params.epochs,
            lr=params.lr,
            seed=params.seed,
            details={
                "weights": "0 or +-2^e, no scale",
                "exponent_levels": 2 ** (params.bits - 1) - 1,
                "activations": "float",
            },
        )
