"""What a user asked one sweep for, in one object: built by the command line from its options and
handed whole to the plan, the local sweep, the fleet, bundle building and fidelity.

Why one object: each of those took the same nine to fourteen keyword arguments, and every new option
had to be threaded through all of them by hand. Why it lives in ``suite.job`` and not ``suite.sweep``:
``suite.job.plan`` reads it, and the job layer sits below the sweep layer (import-linter's layers).

Two of its fields used to have names one letter apart (``override``/``overrides``); they now say what
they hold: ``override_target`` (``--override-target``: measure although this machine does not match the
target's ``detect`` rules) and ``method_params`` (``--param METHOD.PARAM=VALUE``, formerly ``--set``:
the highest layer of a method's parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

ENTRY_RULE = (
    "Which jobs run: --methods (default: each task's methods and the target's extra_methods) picks the methods; "
    "each method runs on every runtime entry of the target's profile that loads its artifact format, except that "
    "an entry with default_methods runs only those unless --runtimes names it or no entry without default_methods "
    "loads the artifact (an OpenVINO IR); --runtimes keeps only the entries "
    "it names. The sweep prints its plan (jobs per task and runtime, what it left out and why) before the first job."
)
"""The planning rule (``suite.job.plan.entry_runs``), said once: ``edgeq bench --help``, ``edgeq prepare --help``
and docs/design.md say the same, and the profiles' comments point to it."""


@dataclass(frozen=True)
class SweepRequest:
    """The sweep's choices. ``None`` for tasks/methods/runtimes means "the profile's and tasks' defaults"."""

    target: str = "local-cpu"
    """A profile name in hardware/ or a profile YAML path; the fleet reads a comma-separated list."""
    tasks: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    """Method names, or ``("all",)``."""
    runtimes: tuple[str, ...] | None = None
    """Keep only the profile's entries of these runtimes (and let an entry with ``default_methods`` run
    every selected method it can load)."""
    quick: bool = False
    limit: int | None = None
    method_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``--param``: ``{method: {param: value}}``, over the method, profile and task layers."""
    override_target: bool = False
    mlperf: bool = False
    """Time with the profile's fixed MLPerf-style counts instead of to a stated precision."""
    force: bool = False
    retry_failed: bool = False
    use_mlflow: bool = True

    def with_(self, **changes: Any) -> SweepRequest:
        """A copy with some fields changed (a bundle plans with ``override_target=True``, the fleet
        one target at a time)."""
        return replace(self, **changes)

    def targets(self) -> list[str]:
        """The fleet's targets: ``--target A,B`` names several, each once, in order."""
        return list(dict.fromkeys(t.strip() for t in self.target.split(",") if t.strip()))
