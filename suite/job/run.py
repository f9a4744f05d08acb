"""Run one Job from start to record: prepare the artifact, evaluate it, time it, read power.

``run_job`` never raises for a job's own failure: it returns a ``failed`` record with a one-line error
and the tail of the traceback, so the sweep goes on. It takes and returns plain data so that a worker
process (or another machine) can run it.
"""

from __future__ import annotations

import hashlib
import traceback
from pathlib import Path
from typing import Any

from suite.config import load_profile, load_task
from suite.config.schemas import ProfileConfig, TaskConfig
from suite.machine.envinfo import environment
from suite.errors import BadInput, JobFailed, MissingEnv, NotAvailableHere
from suite.records.store import RecordStore, empty_record
from suite.job.plan import Job


def _scenario(profile: ProfileConfig, name: str, quick: bool):  # type: ignore[no-untyped-def]
    from suite.job.measure import scenario

    return scenario(profile, name, quick)


def fp32_reference_top1(store: RecordStore, job: Job, n: int | None = None) -> float | None:
    """Deployed fp32 top-1 of the same task, target and runtime, from its record (same quick/limit,
    same model and data files: ``inputs.identity``); ``n`` is the eval count of this job."""
    n = _eval_count(job) if n is None else n
    for record in store.iter_records(job.profile_name):
        if (
            record.get("status") == "ok"
            and record["task"]["name"] == job.task_name
            and (record["method"]["name"] == "fp32" or record["method"].get("family") == "baseline")
            and record["runtime"]["name"] == job.runtime["name"]
            and record["task"].get("file_sha256") == job.task_sha256
            and record["accuracy"]["n"] == n
            and (record.get("inputs") or {}).get("identity") == job.inputs.get("identity")
        ):
            return record["accuracy"]["top1"]
    return None


def _eval_count(job: Job) -> int | None:
    task = load_task(job.task_path).config
    if task.dataset.n_eval is None:  # folder datasets: all images not calibrated on; known once loaded
        return None
    return min(task.dataset.n_eval, job.limit) if job.limit else task.dataset.n_eval


def _source(path: str) -> dict[str, Any]:
    """A config file as it was when the job ran: ``edgeq reproduce`` rebuilds the job from this text."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return {"path": path, "sha256": None, "text": None, "error": str(exc)}
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "text": data.decode("utf-8", errors="replace")}


def job_record(job: Job) -> dict[str, Any]:
    """A record for ``job`` with what is known before it runs (status ``failed`` until it succeeds)."""
    record = empty_record(job.job_id, job.fingerprint)
    record["task"] = {"name": job.task_name, "file_sha256": job.task_sha256}
    record["method"] = {"name": job.method, "family": job.family, "params": job.params}
    record["target"] = {"name": job.profile_name, "matched": job.target_matched, "override": job.target_override}
    record["runtime"] = {"name": job.runtime["name"]}
    record["inputs"] = job.inputs
    record["error_kind"] = None
    record["sources"] = {"task": _source(job.task_path), "profile": _source(job.profile_path)}
    return record


def run_job(job: Job, store: RecordStore | None = None) -> dict[str, Any]:
    """One job, start to record. Its two halves: ``suite.job.inputs`` (the artifact and eval data, built
    here or read from a carried bundle when ``job.prepared`` is set) and ``suite.job.measure`` (evaluate,
    time, read power), so ``edgeq run`` on a device measures exactly what ``edgeq bench`` does here."""
    from suite.job.inputs import inputs_for
    from suite.registry import load_catalogue
    from suite.job.measure import measure_prepared

    store = store or RecordStore()
    record = job_record(job)
    timings: dict[str, float] = {}
    record["timings_s"] = timings
    if job.skip:  # e.g. the task's data is named by an environment variable this machine does not set
        record.update(status="skipped", error=job.skip, error_kind="skipped")
        return record
    try:
        load_catalogue()
        task_loaded = load_task(job.task_path)
        profile: ProfileConfig = load_profile(job.profile_path).config
        task: TaskConfig = task_loaded.config
        record["environment"] = environment()

        inputs = inputs_for(job)
        timings["prepare"] = inputs.prepare_s  # type: ignore[assignment]
        record["task"].update(inputs.task_block)
        record["artifact"] = inputs.artifact_record
        measure_prepared(job, record, inputs, task, profile, store, timings)
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
    return record
