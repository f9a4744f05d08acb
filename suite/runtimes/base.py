"""The Runtime interface: load an artifact file, run numpy batches, say what really ran it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable

import numpy as np

from suite.config.schemas import RuntimeSpec


class Session(ABC):
    """A loaded model ready to run. ``run`` is the exact call that the timing loops time."""

    run: Callable[[np.ndarray], Any]

    @abstractmethod
    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Logits for a batch (used by the accuracy loop)."""

    @abstractmethod
    def info(self) -> dict[str, Any]:
        """The record's ``runtime`` block: name, version, provider actually used, threads, ..."""


class Runtime(ABC):
    name: str = ""
    formats: frozenset[str] = frozenset()

    def supports(self, artifact_format: str) -> bool:
        return artifact_format in self.formats

    @abstractmethod
    def version(self) -> str: ...

    @abstractmethod
    def load(self, path: Path, spec: RuntimeSpec) -> Session: ...
