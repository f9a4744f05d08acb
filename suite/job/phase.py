"""The job's phase (training, quantizing, accuracy, timing), told to whoever watches the job process.

A job runs for minutes in a job process whose output goes to a log file, so the sweep cannot see what
it is doing; the job process sets a reporter (``suite.job.isolate``: a message on the pipe it already
answers on) and the build and measure steps call :func:`phase` as they enter each step. Outside a job
process (a test, ``edgeq reproduce`` in-process) nothing listens and a phase costs nothing. Phases are
never part of a record or a job's fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable

PHASES = ("preparing", "training", "quantizing", "accuracy", "timing")

_reporter: Callable[[str], None] | None = None


def set_reporter(reporter: Callable[[str], None] | None) -> None:
    """Who hears the phases of this process's jobs (None: nobody)."""
    global _reporter
    _reporter = reporter


def phase(name: str) -> None:
    """The job enters phase ``name``; a reporter that fails never fails the job."""
    if _reporter is None:
        return
    try:
        _reporter(name)
    except Exception:  # the watcher went away: the job and its record go on
        pass
