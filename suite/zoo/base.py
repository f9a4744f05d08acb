"""The reference model a zoo source hands to the methods."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReferenceModel:
    """A float model, its weights' sha256 (recorded), and how it was obtained."""

    module: Any  # torch.nn.Module in eval mode
    weights_sha256: str
    origin: dict[str, Any] = field(default_factory=dict)
