"""``edgeq bench --target A,B --fleet``: prepare here, measure on the lab's boards, one leaderboard.

1. Plan each target's sweep; a job with a record here (same fingerprint) is reused, and a job whose
   result already waits in the result backend (an earlier workstation run was interrupted) is taken
   from there. Nothing is measured twice for lack of bookkeeping.
2. Build one bundle per target with the remaining jobs (suite.bundle.write) and put it where the boards can
   read it (suite.fleet.transfer: the MLflow artifact store, or ``--share``).
3. Make the sweep's MLflow parent runs (one per task and target) and enqueue one message per job on
   the queue named after its target, with the Celery task id set to the job id.
4. Show progress as records come back, store each by job id (suite.records.merge: idempotent), and stop when
   all are back or the timeout passes; a job that did not come back is recorded as failed with why.
5. Fill accuracy deltas whose fp32 ran on another board, log what MLflow lacks, publish one leaderboard
   over every target, print the summary.

Steps 1 and 4 are the sweep loop every command shares (``suite.sweep.loop``); ``FleetExecutor`` is what
is particular to a fleet: bundles, messages, the result backend.

The broker may restart while the workstation waits (a crash, an upgrade, `systemctl restart`). While it is
down the workstation waits for it (one line); once it is back under a new Redis ``run_id`` it sends again
every job whose result is not there, because a Redis without persistence (or one that crashed between two
snapshots) has lost the queued messages, the unacknowledged one a board was running and the results
stored so far. A job sent twice is still measured once: the board that already measured it answers the
second message from its own record (``suite.fleet.worker``), and its MLflow run is logged only when none
with its fingerprint is there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from suite.errors import BadInput
from suite.fleet.broker_watch import BrokerWatch
from suite.job.request import SweepRequest
from suite.job.spec import Job

POLL_S = 0.5


def _record_from(result: Any, job: Any, elapsed_s: float) -> dict[str, Any]:
    """The record a finished Celery task stands for (the worker's own, or a failed one made here)."""
    from suite.job.isolate import failed_record
    from suite.records.merge import check_record

    if result.state == "SUCCESS":
        payload = result.result
        if isinstance(payload, dict) and isinstance(payload.get("record"), dict):
            record = payload["record"]
            try:
                check_record(record, f"record of job {job.job_id} from the worker")
            except BadInput as exc:
                return failed_record(job, "bad_result", str(exc), [], elapsed_s)
            if record.get("fingerprint") != job.fingerprint:
                return failed_record(
                    job,
                    "bad_result",
                    f"the worker returned a record of another job ({record.get('job_id')})",
                    [],
                    elapsed_s,
                )
            return record
        if isinstance(payload, dict) and payload.get("error"):
            where = f" (on {payload['worker']})" if payload.get("worker") else ""
            return failed_record(job, str(payload.get("kind") or "fleet"), f"{payload['error']}{where}", [], elapsed_s)
        return failed_record(
            job, "bad_result", f"the worker returned {type(payload).__name__}, not a record", [], elapsed_s
        )
    error = " ".join(str(result.result).split())[:300] or result.state
    tail = (result.traceback or "").splitlines()[-12:]
    return failed_record(job, "fleet", f"the worker task ended {result.state}: {error}", tail, elapsed_s)


def _waiting_result(app: Any, job: Any) -> dict[str, Any] | None:
    """A record for ``job`` already in the result backend (from an interrupted earlier sweep), if any."""
    result = app.AsyncResult(job.job_id)
    try:
        if result.state != "SUCCESS":
            return None
        payload = result.result
    except Exception:  # an unreadable stored result is ignored: the job is enqueued again
        return None
    record = payload.get("record") if isinstance(payload, dict) else None
    if isinstance(record, dict) and record.get("fingerprint") == job.fingerprint:
        return record
    return None


class FleetExecutor:
    """Jobs measured by the lab's boards: one bundle per target, one message per job, records collected
    from the result backend as they arrive (the sweep loop stores and logs them)."""

    def __init__(
        self,
        app: Any,
        profiles: list[Any],
        request: SweepRequest,
        share: Path | None,
        uri: str,
        sink: Any,
        timeout_s: float | None,
        console: Any,
    ) -> None:
        self.app, self.profiles, self.request = app, profiles, request
        self.share, self.uri, self.sink, self.timeout_s, self.console = share, uri, sink, timeout_s, console
        self.force = request.force
        self.started = time.time()
        self.collected: list[tuple[Job, dict[str, Any]]] = []
        self.to_run: dict[str, list[Job]] = {}
        self.messages: dict[str, dict[str, Any]] = {}  # job id -> what its message carries (to send it again)

    def submit(self, job: Job) -> None:
        waiting = None if self.force else _waiting_result(self.app, job)
        if waiting is not None:  # measured for an earlier, interrupted workstation run
            self.collected.append((job, waiting))
        else:
            self.to_run.setdefault(job.target_name, []).append(job)

    def results(self) -> Iterator[tuple[Job, dict[str, Any], str]]:
        from suite.bundle.write import build_bundle
        from suite.fleet.app import TASK_NAME
        from suite.fleet.config import visibility_timeout_s
        from suite.fleet.transfer import publish_bundle
        from suite.job.isolate import failed_record
        from suite.paths import results_root
        from suite.tracking.sink import sweep_name

        for job, record in self.collected:
            yield job, record, "collected"
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.started))
        bundles: dict[str, dict[str, Any]] = {}
        jobs: dict[str, Job] = {}
        for profile in self.profiles:  # 2. one bundle per target, where the boards can read it
            name = profile.config.name
            if not self.to_run.get(name):
                continue
            wanted = {job.job_id: job for job in self.to_run[name]}
            out = results_root() / "fleet" / f"{name}-{stamp}.tar"
            request = self.request.with_(target=str(profile.path))
            path, entries, failed = build_bundle(request, out, self.console, only=set(wanted))
            for record in failed:
                yield wanted[record["job_id"]], record, "ran"
            bundles[name] = publish_bundle(path, self.share, self.uri, run_name=f"bundle {name} {stamp}")
            self.console.print(
                f"bundle for {name}: {len(entries)} job(s), {path.stat().st_size / 1024:.0f} KiB -> {bundles[name]['uri']}",
                markup=False,
            )
            for entry in entries:
                jobs[entry["job"]["job_id"]] = wanted[entry["job"]["job_id"]]
        # 3. the sweep's parent runs (the boards log under them when they reach this store), then the messages,
        # the broker's run id read first so that a restart from here on is seen
        watch = BrokerWatch(self.app.conf.broker_url)
        watch.check()
        parents = self.sink.parent_runs((j.task_name, j.target_name) for j in jobs.values()) if self.sink else {}
        for job in jobs.values():
            if self.force:
                self.app.AsyncResult(job.job_id).forget()
            mine = {k: v for k, v in parents.items() if k.endswith(f"/{job.target_name}")}
            sweep = {
                "name": sweep_name(job.target_name, self.started),
                "force": self.force,
                "mlflow": {"uri": self.uri, "parents": mine} if mine else None,
            }
            self.messages[job.job_id] = {"bundle": bundles[job.target_name], "job_id": job.job_id, "sweep": sweep}
            self.app.send_task(TASK_NAME, kwargs=self.messages[job.job_id], queue=job.target_name, task_id=job.job_id)
        if jobs:
            per_target = {name: sum(1 for j in jobs.values() if j.target_name == name) for name in bundles}
            self.console.print(
                "enqueued "
                + ", ".join(f"{n} job(s) on queue {name!r}" for name, n in per_target.items())
                + "; boards serve them with: edgeq worker --target <queue>"
            )
        timeout_s = self.timeout_s
        if timeout_s is None:  # one board per queue runs its jobs one after the other; queues run side by side
            timeout_s = max(
                [
                    (sum(1 for j in jobs.values() if j.target_name == p.config.name) + 1)
                    * visibility_timeout_s(p.config)
                    for p in self.profiles
                    if p.config.name in bundles
                ]
                or [0.0]
            )
        arrived: set[str] = set()
        try:
            for job, record in _collect(self.app, jobs, timeout_s, self.console, watch, self.send_again):  # 4.
                arrived.add(job.job_id)
                yield job, record, "ran"
        finally:
            watch.close()
        for job_id, job in jobs.items():
            if job_id not in arrived:
                line = f"no record came back within {timeout_s:.0f} s (--fleet-timeout): is `edgeq worker --target {job.target_name}` running on a board?"
                yield job, failed_record(job, "timeout", line, [], time.time() - self.started), "timed out"

    def send_again(self, jobs: list[Job]) -> None:
        """Send the messages of ``jobs`` again after the broker lost them (restarted).

        On a connection of its own: kombu remembers per connection which queues it has declared, and a
        broker that lost its data lost the queue's binding too; a message routed without it is dropped
        without a word. A new connection declares the queue again before it publishes."""
        from suite.fleet.app import TASK_NAME

        with self.app.connection_for_write() as connection:
            for job in jobs:
                self.app.send_task(
                    TASK_NAME,
                    kwargs=self.messages[job.job_id],
                    queue=job.target_name,
                    task_id=job.job_id,
                    connection=connection,
                )


def sweep_on_fleet(request: SweepRequest, share: Path | None, timeout_s: float | None, console: Any) -> int:
    """Plan ``request`` on each of its targets, measure on the boards serving their queues; the exit code."""
    from suite.fleet.app import make_app
    from suite.fleet.config import broker_url, ping, redact
    from suite.job.plan import plan
    from suite.machine.target import load_target
    from suite.paths import results_root
    from suite.publish.leaderboard import publish_working
    from suite.records.merge import fill_deltas
    from suite.records.store import RecordStore
    from suite.sweep.loop import run_sweep
    from suite.sweep.summary import finish
    from suite.tracking import mlflow as tracking
    from suite.tracking.sink import MlflowSink

    targets = request.targets()
    if not targets:
        raise BadInput("--fleet: no target given (--target A,B)")
    url = broker_url()
    problem = ping(url)
    if problem:
        hint = "; start the broker first (README: Lab setup)" if "not reachable" in problem else ""
        raise BadInput(f"{problem}{hint}")
    profiles = [load_target(t) for t in targets]
    for profile in profiles:
        if profile.alias:
            raise BadInput(
                f"--fleet: target {profile.alias!r} is an alias; name the profiles whose queues the boards serve ({', '.join(profile.alias_of)})"
            )
    names = [p.config.name for p in profiles]
    if len(set(names)) != len(names):
        raise BadInput(
            f"--fleet: two of the targets have the same profile name ({', '.join(names)}); queues are named after profiles"
        )
    uri = tracking.tracking_uri()
    if share is None and not uri.startswith(("http://", "https://")):
        raise BadInput(
            "--fleet: the boards cannot reach the bundles: set MLFLOW_TRACKING_URI to the lab's mlflow server "
            "(http://host:5000) or pass --share DIR (a folder every board mounts at the same path)"
        )
    if share is None:
        server_down = tracking.probe(uri)
        if server_down:
            raise BadInput(
                f"--fleet: the boards fetch bundles from the MLflow server, and {server_down}; start it or pass --share DIR"
            )
    app = make_app(url)
    store = RecordStore()
    store.clean_stale_temps()
    console.print(f"edgeq bench --fleet: {', '.join(names)} on {redact(url)}, results in {results_root()}")
    plans = [plan(profile, request.with_(override_target=True)) for profile in profiles]
    for planned in plans:
        for line in planned.lines():
            console.print(line, markup=False, soft_wrap=True)
    jobs = [job for planned in plans for job in planned.jobs]
    # The boards log what they measure when they reach this store; what they did not is logged from here.
    sink = MlflowSink(
        uri=uri, enabled=request.use_mlflow, only_missing=True, say=lambda line: console.print(line, markup=False)
    )
    executor = FleetExecutor(app, profiles, request, share, uri, sink, timeout_s, console)
    outcomes = run_sweep(
        jobs, executor, store, None, force=request.force, retry_failed=request.retry_failed, merge=True
    )
    fill_deltas(store, [o.record for o in outcomes])  # a quantized job whose fp32 ran on another board
    for o in outcomes:
        o.record = store.read(o.job.target_name, o.job.task_name, o.job.job_id) or o.record
        if o.how != "reused":
            sink.log(o.record, store.path_for(o.job.target_name, o.job.task_name, o.job.job_id))
    sink.finish()
    written = publish_working(store, names, console)
    # The parent runs' descriptions and decision views, as a local sweep's: the summary ends with the same link.
    sink.describe([o.record for o in outcomes if o.how != "reused"], written)  # reused: not under these parents
    return finish(console, outcomes, sink, written, retry_hint="`edgeq bench --fleet --retry-failed`")


def _collect(
    app: Any,
    jobs: dict[str, Job],
    timeout_s: float,
    console: Any,
    watch: BrokerWatch,
    send_again: Callable[[list[Job]], None],
) -> Iterator[tuple[Job, dict[str, Any]]]:
    """Poll the result backend until every job is back or ``timeout_s`` passes; yield each as it arrives.

    Before each round the broker is asked for its ``run_id``: while it does not answer the round waits;
    when it answers with another one (restarted), every job not back and not in the backend is sent again
    with ``send_again``."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    arrived: set[str] = set()
    if not jobs:
        return
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    running: dict[str, str] = {}
    errors = _backend_errors(app)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        bars = {
            name: progress.add_task(f"queue {name}", total=sum(1 for j in jobs.values() if j.target_name == name))
            for name in sorted({j.target_name for j in jobs.values()})
        }
        while len(arrived) < len(jobs) and time.monotonic() < deadline:
            change = watch.check()
            if change == "down":
                if watch.says_down():
                    console.print(f"the broker does not answer ({watch.problem}); waiting for it", markup=False)
                time.sleep(POLL_S)
                continue
            if change == "restarted":
                try:  # PENDING is Celery's word for unknown: no result and no state left
                    lost = [j for i, j in jobs.items() if i not in arrived and app.AsyncResult(i).state == "PENDING"]
                    if lost:
                        send_again(lost)
                except errors as exc:  # down again at once: the next answer counts as the restart
                    watch.forget(f"{type(exc).__name__}: {exc}")
                    time.sleep(POLL_S)
                    continue
                console.print(
                    f"the broker restarted: sent {len(lost)} job(s) again whose message or result it lost",
                    markup=False,
                )
                running.clear()
            for job_id, job in jobs.items():
                if job_id in arrived:
                    continue
                result = app.AsyncResult(job_id)
                try:
                    state = result.state
                except errors as exc:  # went down during the round: the next round waits for it
                    watch.went_down(f"{type(exc).__name__}: {exc}")
                    break
                if state == "STARTED":
                    info = result.info if isinstance(result.info, dict) else {}
                    where = str(info.get("hostname") or "a board")
                    if running.get(job_id) != where:
                        running[job_id] = where
                        progress.update(
                            bars[job.target_name], description=f"queue {job.target_name}: {job.method} on {where}"
                        )
                    continue
                if state not in ("SUCCESS", "FAILURE", "REVOKED"):
                    continue
                record = _record_from(result, job, time.monotonic() - t0)
                arrived.add(job_id)
                progress.advance(bars[job.target_name])
                board = (record.get("dispatch") or {}).get("worker") or "?"
                again = " (redelivered)" if (record.get("dispatch") or {}).get("redelivered") else ""
                console.print(
                    escape(
                        f"[{len(arrived)}/{len(jobs)}] {job.target_name}: {job.label}: {record['status']} from {board}{again}"
                    )
                )
                yield job, record
            time.sleep(POLL_S)


def _backend_errors(app: Any) -> tuple[type[BaseException], ...]:
    """The exceptions a broker or result backend that is down raises (Redis's, kombu's, the socket's)."""
    from kombu.exceptions import OperationalError

    return (*app.backend.connection_errors, OperationalError, OSError)
