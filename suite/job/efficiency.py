"""A measured job's ``compute`` and ``efficiency`` blocks, set on the machine that measured.

The compute block was counted when the artifact was built (``artifact.details.work``, prepare side);
the record carries it at the top level so every reader finds the work per item without opening the
artifact's details. The efficiency block is worked out here, after the timed window, and not at publish
time: a profile with ``peak: {derived: cpu}`` describes whichever CPU runs the job (a board that received
a bundle, a server), and only the measuring process sees that CPU (and its GPUs) for
``suite.machine.cpu_peak.resolve_peak``. Emulated records get no efficiency block (an emulator's speed is
not the hardware's). Working either out never fails a job: a failure becomes the block's ``reason``.
"""

from __future__ import annotations

from typing import Any

from suite.compute.efficiency import efficiency_block
from suite.config.schemas import RuntimeSpec, TargetConfig
from suite.records.blocks import Blocks, assemble


def compute_of_artifact(artifact: dict[str, Any] | None) -> dict[str, Any] | None:
    """The compute block stored with the artifact (None for an artifact built before MACs were counted
    and not used since: ``suite.job.build`` counts those on their next use)."""
    details = (artifact or {}).get("details") or {}
    compute = details.get("work")
    return dict(compute) if isinstance(compute, dict) else None


def resolved_peak(profile: TargetConfig, blocks: Blocks) -> dict[str, Any] | None:
    """The profile's peak block as plain data, derived figures filled in for the CPU and GPUs found."""
    from suite.machine.cpu_peak import resolve_peak

    if profile.peak is None:
        return None
    board = (blocks.environment or {}).get("board") or {}
    gpus = [str(name) for name in board.get("gpus") or []]
    return resolve_peak(profile.peak.model_dump(exclude_none=True), gpus)


def threads_used(spec: RuntimeSpec, runtime_block: dict[str, Any] | None) -> int | None:
    """The intra-op threads the job ran on: the runtime's own report, else the profile's runtime entry
    (0 there is the runtime's default, every core: None, so the whole device's peak applies)."""
    reported = (runtime_block or {}).get("threads")
    if isinstance(reported, int) and not isinstance(reported, bool) and reported > 0:
        return reported
    return spec.threads or None


def set_efficiency(record: dict[str, Any], blocks: Blocks, profile: TargetConfig, spec: RuntimeSpec) -> None:
    """Set ``blocks.compute`` and ``blocks.efficiency`` from what the job measured so far (``record``:
    the job's record, read only; the blocks are set against a copy with them assembled in)."""
    blocks.compute = compute_of_artifact(blocks.artifact)
    measured = assemble(dict(record), blocks)
    try:
        peak = resolved_peak(profile, blocks)
        blocks.efficiency = efficiency_block(measured, peak, threads_used(spec, blocks.runtime))
    except Exception as exc:  # noqa: BLE001 - an efficiency that cannot be worked out says why; the job goes on
        line = " ".join(str(exc).split()) or type(exc).__name__
        blocks.efficiency = {"reason": f"not worked out: {type(exc).__name__}: {line}"[:300]}
