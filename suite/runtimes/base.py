"""The Runtime interface: load an artifact file, run numpy batches, say what really ran it.

A runtime also answers for itself what ``edgeq doctor`` and the sweep's summary say about it
(:meth:`Runtime.status`, :meth:`Runtime.label`), so a runtime from a third-party package shows as much
as a built-in one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

    def prepare(self, batch_sizes: list[int]) -> None:
        """Build what each batch size needs (an interpreter, a compiled model) before anything is
        timed: called with SingleStream's and Offline's batch sizes before the warm-up, so neither
        LoadGen's runs nor the rate estimate before them pay a compile (one compile can outlast the whole
        estimate loop: docs/benchmarks.md). Default: nothing."""
        return None


@dataclass
class RuntimeStatus:
    """Does a profile's runtime entry load on this machine, and what will really run its jobs?"""

    name: str
    ok: bool
    summary: str
    fallback: str | None = None  # what will run instead of what the profile asked for
    notes: list[str] = field(default_factory=list)


def packed_feeds(names: list[str], x: np.ndarray) -> dict[str, np.ndarray]:
    """A batch whose samples pack several model inputs along axis 1 (``input.names``: text models take
    input ids and an attention mask) as one feed per input, in order."""
    if x.ndim < 2 or x.shape[1] != len(names):
        from suite.errors import JobFailed

        raise JobFailed(
            f"the model takes {len(names)} inputs {names}, but a sample has shape {list(x.shape[1:])}: pack them along its first axis (input.names)"
        )
    return {name: np.ascontiguousarray(x[:, i]) for i, name in enumerate(names)}


def threads_label(threads: int | None) -> str | None:
    """``4t`` / ``all cores`` for a thread count other than the default single thread."""
    if threads is None or threads == 1:
        return None
    return "all cores" if threads == 0 else f"{threads}t"


# Placement precision labels -> how runtimes name an inference precision (OpenVINO's spelling).
_PRECISION_NAMES = {
    "fp32": "f32",
    "fp16": "f16",
    "bf16": "bf16",
    "int8": "int8",
    "int4": "int4",
    "int16": "int16",
    "fp64": "f64",
}


def inference_precision(placement: dict[str, Any] | None) -> str | None:
    """What the compute layers really ran in, from a ``runtime.placement`` block: ``f32``, ``bf16``,
    ``int8``, or a mix by layer count, most first (``int8+f32``); None when there is no placement.

    Read from the runtime's own account of the graph that ran (ONNX Runtime's profile, OpenVINO's
    execution graph), never from the artifact's intentions: an unfused QDQ convolution counts as f32."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for key, n in ((placement or {}).get("compute") or {}).items():
        label = str(key).rsplit(":", 1)[-1]
        counts[_PRECISION_NAMES.get(label, label)] += int(n)
    return "+".join(p for p, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or None


class Runtime(ABC):
    """Loads artifacts of the formats its registry entry lists (``suite/runtimes/__init__.py``)."""

    @abstractmethod
    def version(self) -> str: ...

    @abstractmethod
    def load(self, path: Path, spec: RuntimeSpec) -> Session: ...

    def status(self, spec: RuntimeSpec) -> RuntimeStatus:
        """Whether ``spec`` can run here (import the library, check providers or delegates). The default
        says the plugin loads and names its version; runtimes with more to check override it."""
        return RuntimeStatus(spec.name, True, f"{spec.name} {self.version()}")

    def label(self, spec: dict[str, Any]) -> str:
        """A profile entry (``RuntimeSpec`` as a dict) as a short label that tells a profile's entries
        apart in tables: the name and, where a runtime has them, the options that change what runs."""
        return " ".join(p for p in (spec["name"], threads_label(spec.get("threads"))) if p)


def status_of(spec: RuntimeSpec) -> RuntimeStatus:
    """``Runtime.status`` of a profile entry, from whichever plugin provides it; never raises."""
    from suite.errors import BadInput
    from suite.registry import runtimes

    try:
        status: RuntimeStatus = runtimes.get(spec.name)().status(spec)
        return status
    except BadInput as exc:
        return RuntimeStatus(spec.name, False, str(exc))
    except Exception as exc:  # a broken plugin is reported, not raised
        return RuntimeStatus(spec.name, False, f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")


def label_of(spec: dict[str, Any]) -> str:
    """``Runtime.label`` of a profile entry (a RuntimeSpec dict); its name if the plugin cannot say."""
    from suite.registry import runtimes

    try:
        label: str = runtimes.get(spec["name"])().label(spec)
        return label
    except Exception:
        return str(spec.get("name"))
