"""The hardware side of one job, kept out of ``measure.py``: pre-flight state, throttle checks around
the timed window, where the runtime placed each node, and the diagnosis when a quantized artifact is
not faster than its fp32 baseline. Each step sets its part of the job's blocks
(``suite.records.blocks``); none of them can fail the job (a board file that cannot be read is reported in
the record, not raised).
"""

from __future__ import annotations

import traceback
from typing import Any

from suite.machine import preflight
from suite.records.blocks import Blocks, assemble


def begin(profile: Any, blocks: Blocks) -> dict[str, Any]:
    """Before timing: record pre-flight (waiting for the start temperature) and take a throttle snapshot."""
    env = blocks.environment_added
    try:
        env["preflight"] = preflight.as_record(preflight.check(profile.preflight))
    except Exception as exc:  # never fail a job over a board file
        env["preflight_error"] = f"{type(exc).__name__}: {exc}"
    try:
        return preflight.snapshot(list(profile.throttle))
    except Exception:
        return {}


def placement(session: Any, sample: Any) -> dict[str, Any] | None:
    """Nodes per provider and precision where the runtime can say (ONNX Runtime's profiler)."""
    fn = getattr(session, "placement", None)
    if fn is None:
        return None
    try:
        found: dict[str, Any] | None = fn(sample)
        return found
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}


def end(
    profile: Any, record: dict[str, Any], blocks: Blocks, before: dict[str, Any], baseline: dict[str, Any] | None
) -> None:
    """After timing: throttle verdict (a throttled run is invalid) and the not-faster diagnosis of the
    record as the blocks will make it (``record``: the job's record so far, read only)."""
    env = blocks.environment_added
    try:
        after = preflight.snapshot(list(profile.throttle))
        reasons = preflight.compare(before, after)
    except Exception as exc:
        reasons, after = [], {}
        env["throttle_error"] = f"{type(exc).__name__}: {exc}"
    env["throttled"] = (
        {"checks": list(profile.throttle), "throttled": bool(reasons), "reasons": reasons} if profile.throttle else None
    )
    if reasons:
        blocks.invalidate("throttled: " + "; ".join(reasons))
    blocks.diagnosed = True
    try:
        blocks.diagnosis = diagnosis(assemble(dict(record), blocks), baseline)
    except Exception:
        blocks.diagnosis = {"error": traceback.format_exc().splitlines()[-1]}


def diagnosis(record: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any] | None:
    """Why a quantized, deployable artifact is not faster than its baseline (``suite.job.diagnose``)."""
    from suite.job.diagnose import diagnose

    if (
        baseline is None
        or (record.get("method") or {}).get("family") == "baseline"
        or (record.get("artifact") or {}).get("simulated")
    ):
        return None
    return diagnose(record, baseline)
