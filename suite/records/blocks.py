"""The blocks the run half of a job measures, built apart and assembled into the record in one place.

The job measures in steps (the runtime session, accuracy, the timed window, power, memory, the machine
before and after); each step sets its block here instead of writing into the record, and
:func:`assemble` writes them into the record once, in schema order, whether the job finished or stopped
part-way (a failed job keeps the blocks it had measured, as ``edgeq.record/1`` always did).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Block = dict[str, Any]


@dataclass
class Blocks:
    """What one job measured so far; ``None`` is a block not measured (it stays as the record had it)."""

    #: The job's own key of the environment block (the machine as read at the start: ``environment()``).
    environment: Block | None = None
    #: Keys the job adds to the environment block while it runs (pre-flight, temperatures after, throttle).
    environment_added: Block = field(default_factory=dict)
    artifact: Block | None = None
    task_added: Block = field(default_factory=dict)  # what the prepared inputs say about the task's data
    runtime: Block | None = None
    accuracy: Block | None = None
    latency: Block | None = None
    throughput: Block | None = None
    power: Block | None = None
    memory: Block | None = None
    #: Work per item (the artifact's ``details.work``, carried to the top level) and the achieved
    #: operations set against the measuring machine's peak (``suite.job.efficiency``).
    compute: Block | None = None
    efficiency: Block | None = None
    diagnosis: Block | None = None
    diagnosed: bool = False  # the diagnosis step ran (its result may be None: nothing to explain)

    def invalidate(self, reason: str) -> None:
        """Mark the timed blocks invalid (a throttled run is not a measurement of the board)."""
        for block in (self.latency, self.throughput):
            if block:
                block["valid"] = False
                block["invalid_reason"] = reason


#: Record keys a job's blocks fill, in the order they are written.
MEASURED = ("artifact", "accuracy", "runtime", "latency", "throughput", "power", "memory", "compute", "efficiency")


def assemble(record: dict[str, Any], blocks: Blocks) -> dict[str, Any]:
    """``record`` with ``blocks`` written in (the same dict, returned for chaining)."""
    if blocks.task_added:
        record["task"] = {**(record.get("task") or {}), **blocks.task_added}
    if blocks.environment is not None or blocks.environment_added:
        record["environment"] = {**(blocks.environment or record.get("environment") or {}), **blocks.environment_added}
    for key in MEASURED:
        value = getattr(blocks, key)
        if value is not None:
            record[key] = value
    if blocks.diagnosed:
        record["diagnosis"] = blocks.diagnosis
    return record
