"""``edgeq bench --target A,B --fleet``: prepare here, measure on the lab's boards, one leaderboard.

1. Plan each target's sweep; a job with a record here (same fingerprint) is reused, and a job whose
   result already waits in the result backend (an earlier workstation run was interrupted) is taken
   from there. Nothing is measured twice for lack of bookkeeping.
2. Build one bundle per target with the remaining jobs (suite.bundle.carry) and put it where the boards can
   read it (suite.fleet.transfer: the MLflow artifact store, or ``--share``).
3. Make the sweep's MLflow parent runs (one per task and target) and enqueue one message per job on
   the queue named after its target, with the Celery task id set to the job id.
4. Show progress as records come back, store each by job id (suite.records.merge: idempotent), and stop when
   all are back or the timeout passes; a job that did not come back is recorded as failed with why.
5. Fill accuracy deltas whose fp32 ran on another board, log what MLflow lacks, publish one leaderboard
   over every target, print the summary.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from suite.errors import EXIT_JOBS_FAILED, EXIT_OK, BadInput

POLL_S = 0.5


def _record_from(result: Any, job: Any, elapsed_s: float) -> dict[str, Any]:
    """The record a finished Celery task stands for (the worker's own, or a failed one made here)."""
    from suite.records.merge import check_record
    from suite.job.isolate import failed_record

    if result.state == "SUCCESS":
        payload = result.result
        if isinstance(payload, dict) and isinstance(payload.get("record"), dict):
            record = payload["record"]
            try:
                check_record(record, f"record of job {job.job_id} from the worker")
            except BadInput as exc:
                return failed_record(job, "bad_result", str(exc), [], elapsed_s)
            if record.get("fingerprint") != job.fingerprint:
                return failed_record(job, "bad_result", f"the worker returned a record of another job ({record.get('job_id')})", [], elapsed_s)
            return record
        if isinstance(payload, dict) and payload.get("error"):
            where = f" (on {payload['worker']})" if payload.get("worker") else ""
            return failed_record(job, str(payload.get("kind") or "fleet"), f"{payload['error']}{where}", [], elapsed_s)
        return failed_record(job, "bad_result", f"the worker returned {type(payload).__name__}, not a record", [], elapsed_s)
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


def run_fleet(
    targets: list[str],
    tasks: list[str] | None,
    methods: list[str] | None,
    runtimes: list[str] | None,
    quick: bool,
    limit: int | None,
    force: bool,
    retry_failed: bool,
    use_mlflow: bool,
    share: Path | None,
    timeout_s: float | None,
    console: Any,
    overrides: list[str] | None = None,
) -> int:
    from rich.markup import escape

    from suite.records import merge

    from suite.tracking import mlflow as tracking
    from suite.sweep.local import summarise
    from suite.bundle.carry import build_bundle
    from suite.config import load_profile
    from suite.job.run import job_record
    from suite.fleet.app import TASK_NAME, make_app
    from suite.fleet.config import broker_url, ping, redact, visibility_timeout_s
    from suite.fleet.transfer import publish_bundle
    from suite.fleet.worker import already_logged
    from suite.paths import results_root
    from suite.records.store import RecordStore
    from suite.job.plan import Job, existing, parse_overrides, plan

    targets = list(dict.fromkeys(targets))
    if not targets:
        raise BadInput("--fleet: no target given (--target A,B)")
    url = broker_url()
    problem = ping(url)
    if problem:
        hint = "; start the broker first (README: Lab setup)" if "not reachable" in problem else ""
        raise BadInput(f"{problem}{hint}")
    profiles = [load_profile(t) for t in targets]
    for profile in profiles:
        if profile.alias:
            raise BadInput(f"--fleet: target {profile.alias!r} is an alias; name the profiles whose queues the boards serve ({', '.join(profile.alias_of)})")
    names = [p.config.name for p in profiles]
    if len(set(names)) != len(names):
        raise BadInput(f"--fleet: two of the targets have the same profile name ({', '.join(names)}); queues are named after profiles")
    uri = tracking.tracking_uri()
    if share is None and not uri.startswith(("http://", "https://")):
        raise BadInput(
            "--fleet: the boards cannot reach the bundles: set MLFLOW_TRACKING_URI to the lab's mlflow server "
            "(http://host:5000) or pass --share DIR (a folder every board mounts at the same path)"
        )
    if share is None:
        server_down = tracking.probe(uri)
        if server_down:
            raise BadInput(f"--fleet: the boards fetch bundles from the MLflow server, and {server_down}; start it or pass --share DIR")
    app = make_app(url)
    store = RecordStore()
    store.clean_stale_temps()
    started = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(started))
    console.print(f"edgeq bench --fleet: {', '.join(names)} on {redact(url)}, results in {results_root()}")

    # 1. plan; reuse records here and results waiting in the backend
    results: list[tuple[Any, dict[str, Any], str]] = []
    to_run: dict[str, list[Any]] = {}
    for profile in profiles:
        jobs = plan(profile, tasks, methods, runtimes, quick=quick, limit=limit, override=True, overrides=parse_overrides(overrides))
        name = profile.config.name
        for job in jobs:
            waiting = None if force else _waiting_result(app, job)
            if waiting is not None:
                merge.merge_record(store, waiting)
                results.append((job, store.read(name, job.task_name, job.job_id) or waiting, "collected"))
                continue
            previous = None if force else existing(store, job)
            if previous is not None and (previous["status"] != "failed" or not retry_failed):
                results.append((job, previous, "reused"))
                continue
            if job.skip:  # e.g. the task's data is named by an environment variable not set here
                record = job_record(job)
                record.update(status="skipped", error=job.skip, error_kind="skipped")
                merge.merge_record(store, record)
                results.append((job, record, "skipped"))
                continue
            to_run.setdefault(name, []).append(job)

    # 2. one bundle per target, where the boards can read it
    bundles: dict[str, dict[str, Any]] = {}
    jobs_by_id: dict[str, Any] = {}
    for profile in profiles:
        name = profile.config.name
        if not to_run.get(name):
            continue
        out = results_root() / "fleet" / f"{name}-{stamp}.tar"
        wanted = {job.job_id for job in to_run[name]}
        path, entries, failed = build_bundle(str(profile.path), tasks, methods, runtimes, quick, limit, out, console, overrides, only=wanted)
        for record in failed:
            job = next(j for j in to_run[name] if j.job_id == record["job_id"])
            results.append((job, record, "ran"))
        bundles[name] = publish_bundle(path, share, uri, run_name=f"bundle {name} {stamp}")
        console.print(f"bundle for {name}: {len(entries)} job(s), {path.stat().st_size / 1024:.0f} KiB -> {bundles[name]['uri']}", markup=False)
        for entry in entries:
            job = Job.from_dict(entry["job"])
            jobs_by_id[job.job_id] = job

    # 3. MLflow parent runs, then the messages
    trackers: dict[str, Any] = {}
    parents: dict[str, str] = {}
    down = "disabled with --no-mlflow" if not use_mlflow else tracking.probe(uri)
    if down is None:
        try:
            for name in {j.profile_name for j in jobs_by_id.values()}:
                trackers[name] = tracking.Tracker(uri, merge.sweep_name(name, started))
                for task in sorted({j.task_name for j in jobs_by_id.values() if j.profile_name == name}):
                    parents[f"{task}/{name}"] = trackers[name].parent_run(task, name)
        except Exception as exc:  # MLflow is a view: the sweep goes on with records only
            down, trackers, parents = f"MLflow client failed ({' '.join(str(exc).split())[:200]})", {}, {}
    for job in jobs_by_id.values():
        if force:
            app.AsyncResult(job.job_id).forget()
        sweep = {
            "name": merge.sweep_name(job.profile_name, started),
            "force": force,
            # the boards log under these parent runs if their MLFLOW_TRACKING_URI is this store; else the
            # workstation logs their records when they are back
            "mlflow": {"uri": uri, "parents": {k: v for k, v in parents.items() if k.endswith(f"/{job.profile_name}")}} if parents else None,
        }
        app.send_task(TASK_NAME, kwargs={"bundle": bundles[job.profile_name], "job_id": job.job_id, "sweep": sweep},
                      queue=job.profile_name, task_id=job.job_id)  # fmt: skip
    if jobs_by_id:
        per_target = {name: sum(1 for j in jobs_by_id.values() if j.profile_name == name) for name in bundles}
        console.print("enqueued " + ", ".join(f"{n} job(s) on queue {name!r}" for name, n in per_target.items())
                      + "; boards serve them with: edgeq worker --target <queue>")  # fmt: skip

    # 4. collect
    if timeout_s is None:  # one board per queue runs its jobs one after the other; queues run side by side
        timeout_s = max(
            [(sum(1 for j in jobs_by_id.values() if j.profile_name == p.config.name) + 1) * visibility_timeout_s(p.config)
             for p in profiles if p.config.name in bundles] or [0.0]
        )  # fmt: skip
    arrived = _collect(app, jobs_by_id, store, timeout_s, console, results)
    pending = [job for job_id, job in jobs_by_id.items() if job_id not in arrived]
    if pending:
        from suite.job.isolate import failed_record

        for job in pending:
            line = f"no record came back within {timeout_s:.0f} s (--fleet-timeout): is `edgeq worker --target {job.profile_name}` running on a board?"
            record = failed_record(job, "timeout", line, [], time.time() - started)
            merge.merge_record(store, record)
            results.append((job, store.read(job.profile_name, job.task_name, job.job_id) or record, "timed out"))

    # 5. deltas, MLflow, leaderboard, summary
    merge.fill_deltas(store, [r for _, r, _ in results])
    results = [(job, store.read(job.profile_name, job.task_name, job.job_id) or r, how) for job, r, how in results]
    logged = waiting = 0
    for job, record, how in results:
        tracker = trackers.get(job.profile_name)
        if how == "reused":
            continue
        if tracker is None:
            waiting += 1
            continue
        try:
            if not already_logged(tracker, job.task_name, record["fingerprint"]):
                tracker.log(record, store.path_for(job.profile_name, job.task_name, job.job_id))
                logged += 1
        except Exception as exc:
            down = f"logging failed ({' '.join(str(exc).split())[:200]})"
            trackers.clear()
            waiting += 1
    for tracker in trackers.values():
        try:
            tracker.finish()
        except Exception:
            pass
    try:
        from suite.publish import leaderboard

        written = leaderboard.publish(store, names, results_root() / "leaderboard")
    except ModuleNotFoundError as exc:
        written = []
        console.print(f"leaderboard skipped: {exc.name} is not installed (the 'track' extra)")
    summarise(console, results)
    for path in written:
        if path.suffix in (".md", ".html") and path.name != "cross-target.md":
            console.print(f"leaderboard: {path}")
    if trackers or logged:
        console.print(f"MLflow: runs of {len(results) - waiting} job(s) in {uri} ({logged} logged from here, the rest by the boards)")
    if waiting:
        console.print(f"MLflow: {waiting} run(s) wait for `edgeq sync` ({escape(str(down))})")
    failed = [r for _, r, _ in results if r["status"] == "failed"]
    if failed:
        console.print(f"{len(failed)} job(s) failed; `edgeq bench --fleet --retry-failed` sends them again")
    return EXIT_JOBS_FAILED if failed else EXIT_OK


def _collect(app: Any, jobs: dict[str, Any], store: Any, timeout_s: float, console: Any, results: list) -> set[str]:
    """Poll the result backend until every job is back or ``timeout_s`` passes; store each as it arrives."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from suite.records.merge import merge_record

    arrived: set[str] = set()
    if not jobs:
        return arrived
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    running: dict[str, str] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:  # fmt: skip
        bars = {name: progress.add_task(f"queue {name}", total=sum(1 for j in jobs.values() if j.profile_name == name))
                for name in sorted({j.profile_name for j in jobs.values()})}  # fmt: skip
        while len(arrived) < len(jobs) and time.monotonic() < deadline:
            for job_id, job in jobs.items():
                if job_id in arrived:
                    continue
                result = app.AsyncResult(job_id)
                state = result.state
                if state == "STARTED":
                    info = result.info if isinstance(result.info, dict) else {}
                    where = str(info.get("hostname") or "a board")
                    if running.get(job_id) != where:
                        running[job_id] = where
                        progress.update(bars[job.profile_name], description=f"queue {job.profile_name}: {job.method} on {where}")
                    continue
                if state not in ("SUCCESS", "FAILURE", "REVOKED"):
                    continue
                record = _record_from(result, job, time.monotonic() - t0)
                how = merge_record(store, record)
                stored = store.read(job.profile_name, job.task_name, job_id) or record
                arrived.add(job_id)
                results.append((job, stored, "ran"))
                progress.advance(bars[job.profile_name])
                board = (stored.get("dispatch") or {}).get("worker") or "?"
                again = " (redelivered)" if (stored.get("dispatch") or {}).get("redelivered") else ""
                console.print(
                    escape(f"[{len(arrived)}/{len(jobs)}] {job.profile_name}: {job.label}: {stored['status']} from {board}{again}; stored {how}"),
                )
            time.sleep(POLL_S)
    return arrived
