"""SIGTERM and SIGHUP stop a command the way Ctrl-C does.

Why: systemd, ``docker stop``, CI runners and process managers stop a program with SIGTERM, and a closed
terminal sends SIGHUP. Left at their default, either kills the sweep on the spot: no line, the job
process killed by the same signal and recorded as failed, and the multiprocessing semaphores never
released (Python's resource tracker then warns about "leaked semaphore objects"). Handled here, the
signal raises ``KeyboardInterrupt`` in the main thread, so it takes the one path Ctrl-C already takes
(the job process killed and not waited for, records written so far kept, one line), and
``suite.cli.main`` turns it into exit 128 + the signal's number (143, 129) with a line naming it.

A signal the process inherited as ignored (``nohup`` ignores SIGHUP) stays ignored. A second stop
signal while the first is being handled is ignored too, so the clean-up it started can finish.
"""

from __future__ import annotations

import signal
from typing import Any

STOP_SIGNALS = ("SIGTERM", "SIGHUP")
_RECEIVED: list[int] = []


def install() -> None:
    """Handle SIGTERM and SIGHUP like Ctrl-C in this (main) thread."""
    for name in STOP_SIGNALS:
        number = getattr(signal, name, None)
        if number is None:  # Windows has no SIGHUP
            continue
        try:
            if signal.getsignal(number) == signal.SIG_IGN:
                continue
            signal.signal(number, _stop)
        except (ValueError, OSError):  # not the main thread (an embedding program): leave them alone
            pass


def _stop(number: int, frame: Any) -> None:
    if _RECEIVED:  # already stopping: let the clean-up finish
        return
    _RECEIVED.append(number)
    raise KeyboardInterrupt


def received() -> int | None:
    """The stop signal this process got (SIGTERM, SIGHUP), or None (none, or Ctrl-C)."""
    return _RECEIVED[0] if _RECEIVED else None


def name_of(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
