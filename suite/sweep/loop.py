"""The one sweep loop: reuse what is measured, hand the rest to an executor, store and log each record
the moment it arrives. ``edgeq bench`` (jobs in a local job process), ``edgeq run`` (a bundle's jobs on a
board) and ``edgeq bench --fleet`` (jobs on the lab's boards) differ only in their executor.

A record is written before anything else happens to it (MLflow, tables), so an interrupted sweep keeps
every result it had; a full or read-only disk stops the sweep with one line (exit 2) and leaves the old
record, or none, in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from suite.errors import BadInput
from suite.job.spec import Job
from suite.records.store import RecordStore


@dataclass
class Outcome:
    """What became of one job in this sweep: its record, and ``how`` (ran, reused, collected, timed out)."""

    job: Job
    record: dict[str, Any]
    how: str


class Executor(Protocol):
    """Where jobs run. ``submit`` takes jobs; ``results`` yields (job, record, how) as each finishes."""

    def submit(self, job: Job) -> None: ...

    def results(self) -> Iterator[tuple[Job, dict[str, Any], str]]: ...


def reusable(store: RecordStore, job: Job, retry_failed: bool = False) -> dict[str, Any] | None:
    """The stored record of this exact job (same fingerprint), unless it failed and ``retry_failed``."""
    try:
        record = store.read(job.target_name, job.task_name, job.job_id)
    except BadInput:
        return None  # an unreadable record is redone, never trusted
    if record is None or record.get("fingerprint") != job.fingerprint:
        return None
    if record.get("status") == "failed" and retry_failed:
        return None
    return record


def skipped_record(job: Job) -> dict[str, Any]:
    """The record of a job this machine cannot run for a stated reason (``job.skip``)."""
    from suite.job.run import job_record

    record = job_record(job)
    record.update(status="skipped", error=job.skip, error_kind="skipped", timings_s={})
    return record


def store_record(store: RecordStore, record: dict[str, Any], merge: bool = False) -> tuple[dict[str, Any], Path]:
    """Write (or, ``merge``, merge by job id) a record; a disk that refuses it is one line, exit 2."""
    from suite.records.merge import merge_record
    from suite.records.schema import fit_for_write
    from suite.records.store import clean_nans

    record = fit_for_write(clean_nans(record))
    path = store.path_for(record["target"]["name"], record["task"]["name"], record["job_id"])
    try:
        if not merge:
            store.write(record)
            return record, path
        merge_record(store, record)
        return store.read(record["target"]["name"], record["task"]["name"], record["job_id"]) or record, path
    except OSError as exc:
        raise BadInput(
            f"{path}: cannot write the record ({exc.strerror or exc}); free space or fix permissions and rerun: "
            f"finished jobs are kept and skipped"
        ) from None


def run_sweep(
    jobs: list[Job],
    executor: Executor,
    store: RecordStore,
    sink: Any = None,
    *,
    force: bool = False,
    retry_failed: bool = False,
    merge: bool = False,
    on_record: Callable[[Outcome], None] | None = None,
    prewarm: Callable[[], None] | None = None,
) -> list[Outcome]:
    """Every job to an Outcome: reused from its record, skipped with its reason, or run by ``executor``.

    ``sink`` (a ``suite.tracking.sink.MlflowSink``) logs each record that ran; ``on_record`` is told of
    every outcome as it happens (a progress bar, a line per record); ``merge`` keeps the first of two
    different measurements of one job (records arriving from boards) instead of overwriting.
    ``prewarm``: work for the end of the sweep that can be done while the first job prepares (the
    publisher's imports), in a thread, under the executor's ``busy`` (no job times meanwhile).
    """
    outcomes: list[Outcome] = []

    def done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if on_record is not None:
            on_record(outcome)

    bind = getattr(executor, "bind", None)
    if bind is not None:  # the executor takes each job's lease in this store (suite.sweep.owner)
        bind(store)
    submitted = 0
    for job in jobs:
        previous = None if force else reusable(store, job, retry_failed)
        if previous is not None:
            done(Outcome(job, previous, "reused"))
        elif job.skip:  # e.g. the task's data is named by an environment variable not set here
            done(Outcome(job, store_record(store, skipped_record(job), merge)[0], "skipped"))
        else:
            executor.submit(job)
            submitted += 1
    if sink is not None:
        sink.probe()  # before the first job runs; the sweep never waits on MLflow again
        if submitted:  # and the store opens while the first job prepares (its timing waits for it)
            sink.start(getattr(executor, "busy", None))
    if prewarm is not None and submitted:
        start_prewarm(prewarm, getattr(executor, "busy", None))
    for job, record, how in executor.results():
        if how == "reused":  # another process measured it meanwhile: stored and logged by that process
            done(Outcome(job, record, how))
            continue
        stored, path = store_record(store, record, merge)
        if sink is not None:
            sink.log(stored, path)
        done(Outcome(job, stored, how))
    return outcomes


def start_prewarm(work: Callable[[], None], busy: Any = None) -> None:
    """Run ``work`` in a daemon thread, inside ``busy()`` when given; a failure there is ignored (the
    work is done again, in the foreground, when its result is needed)."""
    import threading
    from contextlib import nullcontext

    def body() -> None:
        with (busy or nullcontext)():
            try:
                work()
            except Exception:
                pass

    threading.Thread(target=body, name="edgeq-prewarm", daemon=True).start()


class LocalExecutor:
    """Jobs one after the other in a reused job process (``suite.job.isolate``), each bounded by the
    target's ``measurement.job_timeout_s``; ``decorate`` adds to each record (a bundle's ``dispatch``)."""

    def __init__(
        self,
        runner: Any,
        timeout_s: float,
        env: dict[str, str] | None = None,
        decorate: Callable[[dict[str, Any]], None] | None = None,
        on_start: Callable[[Job], None] | None = None,
        on_phase: Callable[[Job, str], None] | None = None,
        build_timeout_s: float | None = None,
    ) -> None:
        """``on_start``/``on_phase``: told as each job starts and enters each phase (a progress display)."""
        self.runner = runner
        self.on_phase = on_phase
        self.build_timeout_s = build_timeout_s  # the build's own bound (suite.job.isolate), where jobs build here
        self.env = env
        self.timeout_s = timeout_s
        self.decorate = decorate
        self.on_start = on_start
        self.queue: list[Job] = []
        self.store: RecordStore | None = None
        self.before: dict[str, Any] = {}  # each submitted job's record file when it was submitted
        self.turns: Any = None

    def bind(self, store: RecordStore) -> None:
        """Own each job through its lease in ``store`` before running it (``suite.sweep.owner``)."""
        self.store = store

    def submit(self, job: Job) -> None:
        self.queue.append(job)
        if self.store is not None:
            from suite.sweep.owner import record_state

            self.before[job.job_id] = record_state(self.store, job)

    @staticmethod
    def busy() -> Any:
        """Sweep-side work during which the job process holds its timing (``suite.job.isolate``)."""
        from suite.job.quiet import sweep_busy

        return sweep_busy()

    def results(self) -> Iterator[tuple[Job, dict[str, Any], str]]:
        from suite.job.isolate import JobProcess

        if not self.queue:
            return
        from suite.sweep.owner import JobTurns

        turns: Any = [(job, None, None) for job in self.queue]
        if self.store is not None:
            turns = self.turns = JobTurns(self.store, self.queue, before=self.before)
        process = JobProcess(self.runner, env=self.env, on_phase=self.on_phase)
        with process:  # killed, not waited for, if interrupted
            for job, _lease, measured in turns:  # each run while this process holds the job's lease
                if measured is not None:
                    yield job, measured, "reused"
                    continue
                if self.on_start is not None:
                    self.on_start(job)
                record = process.run(job, self.timeout_s, self.build_timeout_s)  # a record, whatever happens
                if self.decorate is not None:
                    self.decorate(record)
                yield job, record, "ran"
