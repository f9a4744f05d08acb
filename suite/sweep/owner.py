"""One owner per job across the sweeps, boards and imports that share a results root.

Before a job runs, its sweep takes the job's lease (``<results>/records/<target>/<task>/<job_id>.lease``,
``suite.records.lease``). A job another live process holds is put back and the sweep moves on to its
next job; when only held jobs are left, it waits for them, and then reuses the record their owner wrote
instead of measuring again. The lease is released only after the record is stored, so whoever gets the
lease next finds the record. A record that changed while this sweep ran (another process measured the
job) is reused even under ``--force`` or ``--retry-failed``: those flags redo what was there before the
sweep began, not what a neighbour measured a minute ago.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from suite.errors import BadInput
from suite.job.spec import Job
from suite.records.lease import HEARTBEAT_S, Lease, wait_free
from suite.records.store import RecordStore

LEASE_SUFFIX = ".lease"


def job_lease_path(store: RecordStore, job: Job) -> Path:
    return store.path_for(job.target_name, job.task_name, job.job_id).with_suffix(LEASE_SUFFIX)


def record_state(store: RecordStore, job: Job) -> tuple[int, int, int] | None:
    """What the job's record file is now (inode, size, mtime), None if there is none: taken when the
    sweep decides to run the job, so a later change means another process wrote it."""
    return _stat_key(store.path_for(job.target_name, job.task_name, job.job_id))


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class JobTurns:
    """The jobs of one sweep, handed out one at a time to the process that owns each."""

    def __init__(
        self,
        store: RecordStore,
        jobs: Iterable[Job],
        before: dict[str, Any] | None = None,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.store = store
        self.jobs = list(jobs)
        self.heartbeat_s = heartbeat_s
        # what each record file was when the sweep chose to run the job: a change means another process wrote it
        before = before or {}
        self.before = {job.job_id: before.get(job.job_id, record_state(store, job)) for job in self.jobs}
        self.waited = 0  # jobs found held by another process (tests and the load test read it)

    def _record_path(self, job: Job) -> Path:
        return self.store.path_for(job.target_name, job.task_name, job.job_id)

    def measured_elsewhere(self, job: Job) -> dict[str, Any] | None:
        """The record another process wrote for this exact job since the sweep began, if any."""
        path = self._record_path(job)
        if _stat_key(path) == self.before.get(job.job_id):
            return None
        try:
            record = self.store.read(job.target_name, job.task_name, job.job_id)
        except BadInput:
            return None
        if record is None or record.get("fingerprint") != job.fingerprint:
            return None
        return record

    def __iter__(self) -> Iterator[tuple[Job, Lease | None, dict[str, Any] | None]]:
        """(job, lease, None): run it now, this process owns it until the next step; (job, None, record):
        another process measured it, reuse ``record``."""
        pending = self.jobs
        while pending:
            held: list[Job] = []
            for job in pending:
                record = self.measured_elsewhere(job)
                if record is not None:
                    yield job, None, record
                    continue
                lease = Lease.acquire(job_lease_path(self.store, job), self.heartbeat_s)
                if lease is None:
                    held.append(job)
                    continue
                with lease:  # released after the caller stored the record and asked for the next job
                    record = self.measured_elsewhere(job)  # finished just before the lease was free
                    yield (job, None, record) if record is not None else (job, lease, None)
            if held and len(held) == len(pending):  # nothing else to do: wait for the first of them
                wait_free(job_lease_path(self.store, held[0]), self.heartbeat_s)
            self.waited += len(held) if pending is self.jobs else 0
            pending = held
