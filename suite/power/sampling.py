"""Sampling and integrating power readings over a window: the part every polled sensor shares.

Polled sensors (INA3221 files, ``vcgencmd``, NVML power, a meter's command or CSV) give watts at
instants; energy is the trapezoid integral of those samples, cut to the window with linear
interpolation at its two edges. Two sources are handled here:

- ``PolledSampler``: a background thread calls ``read()`` every ``period_s`` (the window's two edges are
  sampled synchronously by ``start()``/``stop()``, so a window always has both ends);
- ``LineSampler``: a child process prints one reading per line (``tegrastats``, a meter command); each
  line is timestamped when it arrives, and ``stop()`` waits for the first line after the window.

Hand-written because the libraries that poll power (jetson-stats, zeus, codecarbon) each own the
measurement loop and their own clocks; here the window must be exactly LoadGen's timed window.
"""

from __future__ import annotations

import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from suite.power.base import WindowError

Sample = tuple[float, float]  # (time.time() seconds, watts)


def integrate(samples: Iterable[Sample], t0: float, t1: float) -> tuple[float, int]:
    """Energy in joules between ``t0`` and ``t1`` (trapezoid, edges interpolated) and the samples used.

    Samples must bracket the window (one at or before ``t0``, one at or after ``t1``); otherwise the
    edge is held at the nearest sample if it is within 10% of the window, else ``WindowError``.
    """
    pts = sorted(samples)
    if t1 <= t0:
        raise WindowError(f"empty window ({t1 - t0:.3f} s)")
    if len(pts) < 2:
        raise WindowError(f"{len(pts)} sample(s) in the window; at least 2 are needed")
    slack = 0.1 * (t1 - t0)
    if pts[0][0] > t0 + slack or pts[-1][0] < t1 - slack:
        raise WindowError(
            f"the samples cover {pts[0][0] - t0:+.3f}..{pts[-1][0] - t0:+.3f} s of a {t1 - t0:.3f} s window"
        )

    def value_at(t: float) -> float:
        if t <= pts[0][0]:
            return pts[0][1]
        if t >= pts[-1][0]:
            return pts[-1][1]
        for (ta, wa), (tb, wb) in zip(pts, pts[1:]):
            if ta <= t <= tb:
                return wa if tb == ta else wa + (wb - wa) * (t - ta) / (tb - ta)
        return pts[-1][1]  # pragma: no cover

    inside = [(t, w) for t, w in pts if t0 < t < t1]
    curve = [(t0, value_at(t0)), *inside, (t1, value_at(t1))]
    energy = sum((tb - ta) * (wa + wb) / 2.0 for (ta, wa), (tb, wb) in zip(curve, curve[1:]))
    return energy, len(inside) + 2


def window_energy(samples: list[Sample], errors: list[str], t0: float, t1: float, what: str) -> tuple[float, int]:
    """Energy of a window from its samples; fewer than two readable samples is an empty window."""
    if len(samples) < 2:
        from suite.power.base import WindowError

        raise WindowError(f"{len(samples)} {what} in the window; errors: {'; '.join(errors) or 'none'}")
    return integrate(samples, t0, t1)


@dataclass
class PolledSampler:
    """Call ``read()`` (-> watts) every ``period_s`` in a thread; unreadable samples are counted, not kept."""

    read: Callable[[], float]
    period_s: float
    name: str = "power-poll"
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _take(self) -> None:
        try:
            watts = float(self.read())
        except (OSError, ValueError) as exc:
            if len(self.errors) < 5:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            return
        self.samples.append((time.time(), watts))

    def start(self) -> float:
        self.samples, self.errors = [], []
        self._stop.clear()
        self._take()
        t0 = time.time()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return t0

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            self._take()

    def stop(self) -> float:
        t1 = time.time()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._take()
        return t1


class LineSampler:
    """Run a command that prints readings line by line; ``parse(line)`` -> watts, or None to skip the line.

    A line may carry its own timestamp: ``parse`` then returns ``(unix_seconds, watts)``.
    """

    def __init__(
        self, command: str | list[str], parse: Callable[[str], float | tuple[float, float] | None], name: str
    ) -> None:
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        self.parse = parse
        self.name = name
        self.samples: list[Sample] = []
        self.errors: list[str] = []
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()

    def _reader(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            arrived = time.time()
            try:
                value = self.parse(line)
            except ValueError as exc:
                if len(self.errors) < 5:
                    self.errors.append(f"unparsable line {line.strip()[:80]!r}: {exc}")
                continue
            if value is None:
                continue
            sample = value if isinstance(value, tuple) else (arrived, float(value))
            with self._cond:
                self.samples.append(sample)
                self._cond.notify_all()

    def _wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout=timeout)

    def start(self, first_sample_timeout: float) -> float:
        """Start the command and wait for its first reading, so the window opens with a sample."""
        self.samples, self.errors = [], []
        try:
            self._proc = subprocess.Popen(
                self.argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
            )
        except OSError as exc:
            raise WindowError(f"cannot start {self.argv[0]!r}: {exc}") from None
        self._thread = threading.Thread(target=self._reader, name=self.name, daemon=True)
        self._thread.start()
        if not self._wait_for(lambda: bool(self.samples), first_sample_timeout):
            self.close()
            why = f": {'; '.join(self.errors)}" if self.errors else ""
            raise WindowError(f"{self.argv[0]!r} printed no reading within {first_sample_timeout:.1f} s{why}")
        return time.time()

    def stop(self, last_sample_timeout: float) -> float:
        """Close the window now; wait (bounded) for the first reading after it, then end the command."""
        t1 = time.time()
        self._wait_for(lambda: bool(self.samples) and self.samples[-1][0] >= t1, last_sample_timeout)
        self.close()
        return t1

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._thread is not None:
            self._thread.join(timeout=2)
