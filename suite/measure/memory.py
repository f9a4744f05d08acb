"""Peak resident memory of the measuring process over one job's evaluation and timing.

The job process is reused from job to job, so the process-wide peak (``ru_maxrss``) would carry an
earlier job's peak into later ones. On Linux the kernel's own high-water mark ``VmHWM`` is reset by
writing ``5`` to ``/proc/self/clear_refs`` (Linux 4.0+) at the start of the job's session and read
after timing: the peak of exactly that window, exact to the page, at no cost while it runs. Where
that is not possible (no /proc, or the reset is refused) the peak is read from ``psutil`` samples every
20 ms in a thread, and the record says which.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR = Path("/proc/self/clear_refs")


def _status_kb(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _rss_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:
        return None


class PeakRss:
    """``start()`` before the model is loaded, ``stop()`` after timing -> the record's ``memory`` block."""

    def __init__(self, period_s: float = 0.02) -> None:
        self.period_s = period_s
        self.method = ""
        self.before_kb: int | None = None
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.before_kb = _status_kb("VmRSS")
        try:
            _CLEAR.write_text("5")
            self.method = "VmHWM after clear_refs"
            return
        except OSError:
            pass
        self.method = "psutil RSS sampled every 20 ms"
        rss = _rss_bytes()
        self.before_kb = rss // 1024 if rss is not None else None
        self._thread = threading.Thread(target=self._sample, name="edgeq-peak-rss", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            rss = _rss_bytes()
            if rss is not None:
                self._peak = max(self._peak, rss)
            self._stop.wait(self.period_s)

    def stop(self) -> dict[str, Any]:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(1.0)
            peak_kb = self._peak // 1024 if self._peak else None
        else:
            peak_kb = _status_kb("VmHWM")
        mb = (lambda kb: round(kb / 1024, 1) if kb is not None else None)
        model = peak_kb - self.before_kb if peak_kb is not None and self.before_kb is not None else None
        return {"peak_rss_mb": mb(peak_kb), "rss_before_mb": mb(self.before_kb), "added_rss_mb": mb(model), "method": self.method}
