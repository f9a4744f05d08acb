"""What every task kind provides, and what the job hands it (``KindRun``).

``suite.job.measure`` is the dispatcher: it loads the runtime session, picks the task's kind
(:func:`kind_for`) and asks it for the accuracy block (:meth:`TaskKind.accuracy`) and the timed blocks
(:meth:`TaskKind.time`); the kind never sees the job or the record, only what it needs to measure.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite.config.schemas import TargetConfig, TaskConfig
from suite.records.fields import Field, lower_is_better, shown_for


def _no_hook() -> None:
    return None


def _no_side_file(job_id: str, suffix: str) -> Path | None:
    return None


@dataclass
class KindRun:
    """One job's measurement as a kind sees it: the loaded session, the eval data and the settings."""

    session: Any
    x_eval: Any
    y_eval: Any
    task: TaskConfig
    profile: TargetConfig
    quick: bool
    timing_mode: str  # "precision" or "mlperf"
    is_baseline: bool
    baseline: dict[str, Any] | None  # the fp32 record of the same task, target and runtime, if any
    simulated_top1: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # per-kind eval data (an encoder's reference)
    dataset: dict[str, Any] = field(default_factory=dict)  # the record's task.dataset block
    measuring_power: bool = False  # a power sensor will measure the timed window
    power_start: Callable[[], None] = _no_hook
    power_stop: Callable[[], None] = _no_hook
    # Called once, after the kind's untimed preparation (compiles), right before the timed window: the
    # job's pre-flight and throttle snapshot happen there.
    ready: Callable[[], None] = _no_hook
    job_id: str = ""
    # The path of a file kept next to a job's record (its job id, a suffix), e.g. the fp32 job's logit
    # reference that the task's other jobs read (``suite.measure.lm_fidelity``); None: nowhere to keep one.
    side_file: Callable[[str, str], Path | None] = _no_side_file

    def baseline_accuracy(self, key: str) -> Any:
        """The fp32 record's ``accuracy.<key>`` (this job's own value is used when it is the baseline)."""
        return ((self.baseline or {}).get("accuracy") or {}).get(key)


@dataclass
class Timed:
    """The timed blocks of a record and the items the power window saw (for energy per item)."""

    latency: dict[str, Any]
    throughput: dict[str, Any]
    items: int


class TaskKind(ABC):
    """A task kind: its accuracy pass and its timing plan. ``metric`` is the ``accuracy.metric`` its
    records carry (declared, with its other fields, in ``suite.records.fields``)."""

    name: str = ""
    metric: str = "top1"
    #: Picked when no more specific kind of the same metric claims the task.
    fallback: bool = False

    @property
    def lower_is_better(self) -> bool:
        """The kind's ranking: its metric's declaration says which way is better (tables, Pareto fronts)."""
        return lower_is_better(self.metric)

    def columns(self) -> list[Field]:
        """The columns only this kind fills that the tables show, as declared (``suite.records.fields``)."""
        return shown_for(self.name)

    def claims(self, task: TaskConfig, extras: dict[str, Any]) -> bool:
        """Does this kind measure ``task`` (its metric is this kind's; ``extras``: the prepared eval data)?"""
        return task.metric == self.metric

    @abstractmethod
    def accuracy(self, run: KindRun) -> dict[str, Any]:
        """The record's ``accuracy`` block: the deployed model scored through the runtime that is timed."""

    @abstractmethod
    def time(self, run: KindRun) -> Timed:
        """The record's latency and throughput blocks, timed the way this kind is deployed."""


def kind_for(task: TaskConfig, extras: dict[str, Any]) -> TaskKind:
    """The kind that measures ``task``: the first (by name) that claims it, else a fallback that does."""
    from suite.errors import BadInput
    from suite.registry import kinds

    found: list[TaskKind] = [kinds.get(name)() for name in kinds.names()]
    specific = [k for k in found if not k.fallback and k.claims(task, extras)]
    if specific:
        return specific[0]
    general = [k for k in found if k.fallback and k.claims(task, extras)]
    if general:
        return general[0]
    raise BadInput(
        f"task {task.name!r}: no task kind measures metric {task.metric!r} (kinds: {', '.join(kinds.names())})"
    )
