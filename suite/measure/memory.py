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
    """``start()`` before the model is loaded, ``loaded()`` once it is, ``timing()`` when evaluation ends
    and timing begins, ``stop()`` after timing -> the record's ``memory`` block. ``peak_rss_mb`` is the
    peak over all of it; ``timing_peak_rss_mb`` the peak while the artifact was timed only (no eval
    buffers: the session, its arenas and, for LMs, the KV cache), ``session_rss_mb`` what loading the
    artifact added. Comparisons across methods should use the last two: the job process is reused, so
    what it held before (libraries, earlier builds) is in ``rss_before_mb`` and in both peaks."""

    def __init__(self, period_s: float = 0.02) -> None:
        self.period_s = period_s
        self.method = ""
        self.before_kb: int | None = None
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.loaded_kb: int | None = None
        self.eval_peak_kb: int | None = None

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

    def _peak_kb(self) -> int | None:
        if self._thread is not None:
            return self._peak // 1024 if self._peak else None
        return _status_kb("VmHWM")

    def _reset(self) -> None:
        if self._thread is not None:
            rss = _rss_bytes()
            self._peak = rss or 0
        else:
            try:
                _CLEAR.write_text("5")
            except OSError:
                pass

    def loaded(self) -> None:
        rss = _status_kb("VmRSS")
        if rss is None:
            rss_bytes = _rss_bytes()
            rss = rss_bytes // 1024 if rss_bytes is not None else None
        self.loaded_kb = rss

    def timing(self) -> None:
        """Evaluation is over: keep its peak and start the timing window's own."""
        self.eval_peak_kb = self._peak_kb()
        self._reset()

    def stop(self) -> dict[str, Any]:
        timing_kb = self._peak_kb()
        if self._thread is not None:
            self._stop.set()
            self._thread.join(1.0)
        peaks = [kb for kb in (self.eval_peak_kb, timing_kb) if kb is not None]
        peak_kb = max(peaks) if peaks else None

        def mb(kb: float | None) -> float | None:
            return round(kb / 1024, 1) if kb is not None else None

        def diff(a: float | None, b: float | None) -> float | None:
            return a - b if a is not None and b is not None else None

        return {
            "peak_rss_mb": mb(peak_kb),
            "rss_before_mb": mb(self.before_kb),
            "added_rss_mb": mb(diff(peak_kb, self.before_kb)),
            "timing_peak_rss_mb": mb(timing_kb if self.eval_peak_kb is not None else None),
            "session_rss_mb": mb(diff(self.loaded_kb, self.before_kb)),
            "method": self.method,
        }
