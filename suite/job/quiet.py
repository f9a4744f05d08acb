"""The job process holds its timing while the sweep process works beside it.

The sweep and its job process share the machine's cores: while the sweep process works (opening the
MLflow store in the background, 3-10 s of CPU on a 2-core machine; importing the leaderboard's
libraries), the job process may prepare and evaluate, but must not time. One spawn-context Event,
set while the sweep is quiet, is handed to every job process (``suite.job.isolate``); ``measure``
waits on it before its timing starts. Outside a job process (a job run in-process, a board's worker
loop) there is nothing to wait for.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

QUIET_WAIT_LIMIT_S = 120.0  # a job never waits longer than this for its sweep to go quiet

_QUIET: Any = None
_LOCK = threading.Lock()  # the sweep's background threads and its main thread may all ask first
_BUSY_HOLDERS = 0


def quiet_event() -> Any:
    """The sweep side's Event (made once, on first use; set: quiet). Made twice, the first one's
    semaphore would be unlinked while a job process is being handed it (seen: the job process then
    failed to start)."""
    global _QUIET
    with _LOCK:
        if _QUIET is None:
            _start_resource_tracker()
            _QUIET = multiprocessing.get_context("spawn").Event()
            _QUIET.set()
        return _QUIET


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with SIGHUP blocked.

    The tracker (a process of its own) unlinks the job process's semaphores and shields itself from
    SIGINT and SIGTERM, but not from SIGHUP: a closed terminal would kill it with the sweep's process
    group, and the semaphores would then be reported as leaked. A blocked signal stays blocked across
    fork and exec (and the tracker unblocks only SIGINT and SIGTERM), so it is started before the first
    semaphore is made with SIGHUP blocked in the starting thread, whichever thread that is; the sweep
    itself handles SIGHUP (``suite.cli.stop_signals``).
    """
    if not hasattr(signal, "pthread_sigmask") or not hasattr(signal, "SIGHUP"):
        return
    from multiprocessing import resource_tracker

    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        resource_tracker.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def adopt_quiet_event(event: Any) -> None:
    """In a job process: the sweep's Event, as handed over at spawn (None: never wait)."""
    global _QUIET
    _QUIET = event


@contextmanager
def sweep_busy() -> Iterator[None]:
    """Sweep-side work that would disturb a timing: job processes hold their timing until every such
    piece of work (they may overlap, in threads) has ended."""
    global _BUSY_HOLDERS
    event = quiet_event()
    with _LOCK:
        _BUSY_HOLDERS += 1
        event.clear()
    try:
        yield
    finally:
        with _LOCK:
            _BUSY_HOLDERS -= 1
            if _BUSY_HOLDERS == 0:
                event.set()


def wait_for_quiet_sweep() -> float:
    """In a job process: wait (at most ``QUIET_WAIT_LIMIT_S``) until the sweep is quiet; seconds waited."""
    if _QUIET is None or _QUIET.is_set():
        return 0.0
    t0 = time.monotonic()
    _QUIET.wait(QUIET_WAIT_LIMIT_S)
    return round(time.monotonic() - t0, 3)
