"""What a sweep shows while it runs: job k of n, the phase the job is in, the elapsed time.

On a terminal, rich's ``Progress`` (one bar for the sweep, redrawn in place, gone when the sweep ends);
anywhere else (a CI log, a pipe) one plain line per job and phase, so a log shows where a 12-minute
sweep spent its time and a stalled job shows its last phase. The phases come from the job process
(``suite.job.phase``, on the pipe of ``suite.job.isolate``); a reused or skipped job is one line.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.markup import escape


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class SweepProgress:
    """The sweep's progress display; ``started(job)``, ``phase(job, name)`` and ``finished()`` feed it."""

    def __init__(self, console: Any, total: int, live: bool | None = None) -> None:
        """``live``: redraw in place (default: when ``console`` is a terminal)."""
        self.console = console
        self.total = total
        self.live = console.is_terminal if live is None else live
        self.count = 0
        self.sweep_t0 = self.job_t0 = time.monotonic()
        self.label = ""
        self._progress: Any = None
        self._bar: Any = None

    def __enter__(self) -> SweepProgress:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.__enter__()
            self._bar = self._progress.add_task("jobs", total=self.total)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.__exit__(kind, exc, tb)

    def _say(self, what: str) -> None:
        """Redraw the bar's line, or print one line (no rich wrapping: one event, one line of the log)."""
        job_s = time.monotonic() - self.job_t0
        text = f"job {self.count}/{self.total} {self.label}: {what} ({_clock(job_s)})"
        if self._progress is not None:
            self._progress.update(self._bar, description=escape(text))
        else:
            line = f"[{_clock(time.monotonic() - self.sweep_t0)}] {text}"
            self.console.print(escape(line), soft_wrap=True, highlight=False)

    def started(self, job: Any) -> None:
        """Job ``job`` goes to the job process."""
        self.count += 1
        self.job_t0 = time.monotonic()
        self.label = job.label
        self._say("started")

    def phase(self, job: Any, name: str) -> None:
        """The running job entered phase ``name`` (training, quantizing, accuracy, timing)."""
        self._say(name)

    def finished(self, outcome: Any) -> None:
        """A job's record arrived (run here, reused or skipped)."""
        if outcome.how != "ran":  # reused or skipped: never started in the job process
            self.count += 1
            self.job_t0 = time.monotonic()
            self.label = outcome.job.label
        self._say(f"{outcome.how}, {outcome.record.get('status')}")
        if self._progress is not None:
            self._progress.advance(self._bar)
