"""``edgeq worker --target T``: a board serving the queue named after its profile.

A Celery worker with the solo pool (one job at a time in this process; the job itself runs in the
reusable spawned process of ``suite.job.isolate``, so a crash costs one job and a SIGKILL of this worker
takes its job process with it). For each message it

1. fetches the bundle the message names (cached by sha256, checked; suite.fleet.transfer),
2. runs the job from the bundle exactly as ``edgeq run`` would (``suite.job.run.run_carried``),
3. stores the record in this board's results root: a redelivered job whose record is already here is
   answered from it without measuring again (records are keyed by job id),
4. logs it to the lab's MLflow server under the sweep's parent run, unless a run with its fingerprint
   is already there,
5. returns the record as the task's JSON result; Celery acknowledges the message only now.

What can go wrong before a job runs (the bundle cannot be fetched, the message names a job the bundle
lacks) comes back as ``{"error", "kind"}`` so the workstation records the job as failed with that line.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from suite.errors import EXIT_OK, BadInput

log = logging.getLogger("edgeq.fleet")


class Runner:
    """What one worker process keeps between jobs: its profile, job process, record store, MLflow client."""

    def __init__(self, profile: Any, matched: bool, override: bool, visibility_s: float) -> None:
        from suite.fleet.config import WORKER_STARTUP_TIMEOUT_S
        from suite.job.isolate import JobProcess
        from suite.job.run import run_carried
        from suite.records.store import RecordStore

        self.profile = profile
        self.queue = profile.config.name
        self.matched = matched
        self.override = override
        self.visibility_s = visibility_s
        self.store = RecordStore()
        self.process = JobProcess(run_carried, startup_timeout_s=WORKER_STARTUP_TIMEOUT_S)
        self.sinks: dict[str, Any] = {}

    def handle(self, request: Any, bundle_info: dict[str, Any], job_id: str, sweep: dict[str, Any]) -> dict[str, Any]:
        from suite.bundle.read import open_bundle
        from suite.fleet.transfer import fetch_bundle
        from suite.paths import cache_dir
        from suite.records.store import clean_nans
        from suite.sweep.loop import reusable

        delivery = getattr(request, "delivery_info", None) or {}
        redelivered = bool(delivery.get("redelivered"))
        log.info("edgeq worker: job %s started on queue %s (redelivered: %s)", job_id, self.queue, redelivered)
        t0 = time.monotonic()
        try:
            bundle = open_bundle(
                fetch_bundle(bundle_info, cache_dir("fleet", "downloads")), cache_dir("fleet", "bundles")
            )
            if bundle.target != self.queue:
                raise BadInput(f"bundle for target {bundle.target!r} reached the queue of {self.queue!r}")
            job = bundle.job(job_id)
        except Exception as exc:  # nothing measured: the workstation records the job as failed with this line
            line = " ".join(str(exc).split())[:500] or type(exc).__name__
            log.error("edgeq worker: job %s could not start: %s", job_id, line)
            return {
                "error": line,
                "kind": "bad_input" if isinstance(exc, BadInput) else "fetch",
                "worker": socket.gethostname(),
            }
        job.target_matched, job.target_override = self.matched, self.override and not self.matched
        previous = None if sweep.get("force") else reusable(self.store, job, retry_failed=True)
        if previous is not None:
            record, how = previous, "stored"  # measured before this delivery (e.g. killed before the ack)
        else:
            record, how = self._run_owned(job, bundle, redelivered, sweep)
        self._log_mlflow(record, sweep)
        log.info("edgeq worker: job %s %s: %s in %.1f s", job_id, how, record["status"], time.monotonic() - t0)
        return {"record": clean_nans(record), "how": how}

    def _run_owned(self, job: Any, bundle: Any, redelivered: bool, sweep: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Run the job holding its lease in this board's results root (``suite.sweep.owner``): a worker
        or sweep beside this one that has the same job waits for it and reuses its record."""
        from contextlib import closing

        from suite.bundle.read import dispatch_block
        from suite.records.schema import fit_for_write
        from suite.records.store import clean_nans
        from suite.sweep.owner import JobTurns

        with closing(iter(JobTurns(self.store, [job]))) as turns:  # closing it releases the lease
            _job, _lease, measured = next(turns)
            if measured is not None:  # measured by another process on this results root meanwhile
                return measured, "stored"
            record = self.process.run(job, self.profile.config.measurement.job_timeout_s)
            record["dispatch"] = dispatch_block(
                bundle,
                "fleet",
                queue=self.queue,
                worker=socket.gethostname(),
                worker_pid=os.getpid(),
                redelivered=redelivered,
                sweep=sweep.get("name"),
            )
            record = fit_for_write(clean_nans(record))  # an ill-typed result is a failed record, not a lost one
            self.store.write(record)  # before the lease is released
            return record, "ran"

    def _log_mlflow(self, record: dict[str, Any], sweep: dict[str, Any]) -> None:
        """Log to the lab's server under the sweep's parent run, once per fingerprint; never fails the job."""
        from suite.tracking.sink import MlflowSink

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        mlflow_info = sweep.get("mlflow") or {}
        if not uri or not mlflow_info or str(mlflow_info.get("uri", "")).rstrip("/") != uri.rstrip("/"):
            return  # not the workstation's store: its parent runs are not there; the workstation logs the record
        name = sweep.get("name") or "fleet"
        sink = self.sinks.get(name)
        if sink is None:  # one sweep at a time is kept
            sink = MlflowSink(name, uri, only_missing=True)
            sink.adopt_parents(mlflow_info.get("parents") or {})  # log under the workstation's parent runs
            self.sinks = {name: sink}
        path = self.store.path_for(record["target"]["name"], record["task"]["name"], record["job_id"])
        if sink.log(record, path) == "waiting":
            log.warning("edgeq worker: MLflow %s; the workstation logs this record later", sink.down)

    def close(self) -> None:
        self.process.close()


_RUNNER: Runner | None = None


def _task(self: Any, bundle: dict[str, Any], job_id: str, sweep: dict[str, Any]) -> dict[str, Any]:
    assert _RUNNER is not None, "the task runs only inside `edgeq worker`"
    return _RUNNER.handle(self.request, bundle, job_id, sweep)


def serve(target: str, override_target: bool, loglevel: str = "INFO") -> int:
    """Start the Celery worker for ``target``'s queue; returns when it is shut down (SIGTERM, Ctrl-C)."""
    global _RUNNER
    from suite.bundle.read import check_board
    from suite.fleet.app import TASK_NAME, make_app
    from suite.fleet.config import broker_url, ping, redact, visibility_timeout_s
    from suite.machine.target import load_target

    url = broker_url()
    profile = load_target(target)
    if profile.alias:
        raise BadInput(
            f"target {profile.alias!r} is an alias: start the worker with the profile of this board ({', '.join(profile.alias_of)})"
        )
    profile, matched = check_board(profile.path, override_target)
    visibility = visibility_timeout_s(profile.config)
    problem = ping(url)
    if problem and ("password" in problem or "refused" in problem):
        raise BadInput(problem)
    queue = profile.config.name
    app = make_app(url, queue=queue, visibility_s=visibility)
    app.task(name=TASK_NAME, bind=True, resultrepr_maxsize=160)(_task)  # the log line, not the whole record
    _RUNNER = Runner(profile, matched, override_target, visibility)
    print(
        f"edgeq worker: target {queue} ({profile.path}), queue {queue!r} on {redact(url)}, "
        f"visibility timeout {visibility:.0f} s, job timeout {profile.config.measurement.job_timeout_s:g} s"
        + (f"; broker not reachable yet ({problem}), Celery keeps trying" if problem else ""),
        flush=True,
    )
    try:
        app.worker_main(
            [
                "worker",
                "--queues",
                queue,
                "--pool",
                "solo",
                "--concurrency",
                "1",
                "--prefetch-multiplier",
                "1",
                "--hostname",
                f"edgeq-{queue}-{os.getpid()}@{socket.gethostname()}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                loglevel,
            ]
        )
    finally:
        _RUNNER.close()
        _RUNNER = None
    return EXIT_OK
