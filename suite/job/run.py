"""Run one Job from start to record: its inputs, then evaluation, timing and power; never raises.

``run(job, get_inputs)`` returns a record for every outcome: ``ok``; ``skipped`` (the task names data
this machine does not have, or a tool is not installed, with the reason); ``failed`` with a one-line
error, its kind and the tail of the traceback, so the sweep goes on. ``get_inputs`` is where the
artifact and eval data come from: ``suite.job.build.build_inputs`` on a workstation, or
``load_carried`` from a bundle on a board (``run_carried``); this module imports nothing of the
prepare side, so a board runs it with the run side installed only.
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from suite.config import load_task
from suite.errors import BadInput, JobFailed, MissingEnv, NotAvailableHere
from suite.job.efficiency import compute_of_artifact
from suite.job.inputs import PreparedInputs, load_carried
from suite.job.phase import phase
from suite.job.spec import Job
from suite.machine.envinfo import environment
from suite.records.blocks import Blocks, assemble
from suite.records.store import RecordStore, empty_record


def _source(path: str) -> dict[str, Any]:
    """A config file as it was when the job ran: ``edgeq reproduce`` rebuilds the job from this text."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return {"path": path, "sha256": None, "text": None, "error": str(exc)}
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "text": data.decode("utf-8", errors="replace")}


def job_record(job: Job) -> dict[str, Any]:
    """A record for ``job`` with what is known before it runs (status ``failed`` until it succeeds)."""
    method = {"name": job.method, "family": job.family, "params": job.params}
    if job.toolkit:
        method["toolkit"] = job.toolkit
    record = empty_record(job.job_id, job.fingerprint)
    record.update(
        task={"name": job.task_name, "file_sha256": job.task_sha256},
        method=method,
        target={"name": job.target_name, "matched": job.target_matched, "override": job.target_override},
        runtime={"name": job.runtime["name"]},
        inputs=job.inputs,
        error_kind=None,
        sources={"task": _source(job.task_path), "profile": _source(job.target_path)},
    )
    return record


def run(job: Job, get_inputs: Callable[[Job], PreparedInputs], store: RecordStore | None = None) -> dict[str, Any]:
    """One job, start to record: ``get_inputs(job)``, then ``suite.job.measure.measure``; what they
    measure is built as blocks and assembled into the record here, once (``suite.records.blocks``)."""
    from suite.job.measure import measure
    from suite.machine.target import load_target

    store = store or RecordStore()
    record = job_record(job)
    timings: dict[str, float] = {}
    record["timings_s"] = timings
    if job.skip:  # e.g. the task's data is named by an environment variable this machine does not set
        record.update(status="skipped", error=job.skip, error_kind="skipped")
        return record
    blocks = Blocks()
    try:
        task = load_task(job.task_path).config
        target = load_target(job.target_path).config
        blocks.environment = environment()
        phase("preparing")
        inputs = get_inputs(job)
        timings["prepare"] = inputs.prepare_s  # type: ignore[assignment]
        blocks.task_added = inputs.task_block
        blocks.artifact = inputs.artifact_record
        blocks.compute = compute_of_artifact(inputs.artifact_record)  # kept by a job that fails after this
        measure(job, record, blocks, inputs, task, target, store, timings)
        record["status"] = "ok"
    except (MissingEnv, NotAvailableHere) as exc:  # missing data or tool: skipped, with the reason
        record.update(status="skipped", error=str(exc), error_kind="skipped")
    except (BadInput, JobFailed) as exc:
        record["error"] = str(exc)
        record["error_kind"] = "bad_input" if isinstance(exc, BadInput) else "job_failed"
        record["error_tail"] = traceback.format_exc().splitlines()[-12:]
    except Exception as exc:  # a failing job is recorded as failed and the sweep goes on
        line = " ".join(str(exc).split()) or type(exc).__name__
        record["error"] = f"{type(exc).__name__}: {line}"[:500]
        record["error_kind"] = "exception"
        record["error_tail"] = traceback.format_exc().splitlines()[-20:]
    return assemble(record, blocks)  # a job that stopped part-way keeps what it measured


def run_carried(job: Job) -> dict[str, Any]:
    """A job of a carried bundle (``job.prepared`` set): the run half only."""
    return run(job, load_carried)
