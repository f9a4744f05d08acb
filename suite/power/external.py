"""An external power meter: a CSV log of timestamped watts, or a command that prints readings.

For boards without on-board sensors (Raspberry Pi 4, Coral USB next to its host) or to measure at the
wall: USB power meters, smart plugs and Joulescope-style loggers all end up as "time, watts" rows.

- ``csv``: a file the meter's software keeps appending to. A header row names the columns; the time
  column (``timestamp``, ``time``, ``unix_time``, ``t``; or ``time_column``) holds Unix seconds or ISO 8601
  (an ISO time without offset is local time); power comes from a watts column (``watts``, ``power_w``,
  ``power``, ``w``; or ``watts_column``) or from volts x amps columns. At the end of the window the sensor
  waits (``settle_s``) until the log has a row past it, then integrates the rows inside.
- ``command``: started when the window opens; each output line is ``watts`` or ``unix_time,watts``
  (a bare value is timestamped when it arrives).

The meter's clock must agree with this machine's (same host, or NTP); ``clock_offset_s`` is added to
the meter's timestamps to correct a known offset. The boundary is where the meter is wired: say it in
the profile (``boundary: wall`` or ``board_input``, the default for a USB meter). Environment variables
``EDGEQ_METER_CSV``, ``EDGEQ_METER_COMMAND`` and ``EDGEQ_METER_BOUNDARY`` configure it without editing
a profile.
"""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import datetime
from pathlib import Path

from suite.errors import BadInput
from suite.power.base import EnergyReading, PowerSensor, Probe, WindowError
from suite.power.sampling import LineSampler, Sample, integrate

TIME_COLUMNS = ("timestamp", "time", "unix_time", "time_s", "t")
WATTS_COLUMNS = ("watts", "power_w", "power", "w", "p")
VOLTS_COLUMNS = ("volts", "voltage", "voltage_v", "v")
AMPS_COLUMNS = ("amps", "current", "current_a", "a", "i")
BOUNDARIES = ("wall", "board_input", "module_input", "gpu_board", "cpu_package", "partial_rails")


def parse_time(text: str) -> float:
    """Unix seconds from ``1718000000.25`` or an ISO 8601 time (``...Z``/``+02:00``; none = local time)."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text).timestamp()


def _pick(header: list[str], wanted: str | None, choices: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lstrip("#").strip().lower() for h in header]
    for name in [wanted.lower()] if wanted else list(choices):
        if name in lowered:
            return lowered.index(name)
    return None


def parse_csv(
    text: str, time_column: str | None = None, watts_column: str | None = None, clock_offset_s: float = 0.0
) -> tuple[list[Sample], int]:
    """``([(unix_time, watts)], bad_rows)`` from a meter log with a header row."""
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if r and any(cell.strip() for cell in r)]
    if not rows:
        return [], 0
    header = rows[0]
    t_idx = _pick(header, time_column, TIME_COLUMNS)
    w_idx = _pick(header, watts_column, WATTS_COLUMNS)
    v_idx = _pick(header, None, VOLTS_COLUMNS)
    a_idx = _pick(header, None, AMPS_COLUMNS)
    if t_idx is None:
        raise ValueError(
            f"no time column in header {header} (expected one of {', '.join(TIME_COLUMNS)}, or set time_column)"
        )
    if w_idx is None and (v_idx is None or a_idx is None):
        raise ValueError(
            f"no power column in header {header} (expected one of {', '.join(WATTS_COLUMNS)}, or volts and amps)"
        )
    samples: list[Sample] = []
    bad = 0
    for row in rows[1:]:
        try:
            t = parse_time(row[t_idx]) + clock_offset_s
            watts = float(row[w_idx]) if w_idx is not None else float(row[v_idx]) * float(row[a_idx])  # type: ignore[index]
        except (ValueError, IndexError):
            bad += 1  # a half-written last line, a units row: skipped and counted
            continue
        samples.append((t, watts))
    return samples, bad


def parse_command_line(line: str, clock_offset_s: float = 0.0) -> float | tuple[float, float] | None:
    """``watts`` or ``unix_time,watts`` (comma or whitespace); blank lines and ``#`` comments skipped."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    parts = [p for p in line.replace(",", " ").split() if p]
    if len(parts) == 1:
        return float(parts[0])
    return parse_time(parts[0]) + clock_offset_s, float(parts[1])


class ExternalMeterSensor(PowerSensor):
    name = "external"
    boundary = "board_input"
    method = "integrated_samples"

    def __init__(
        self,
        csv: str | None = None,
        command: str | None = None,
        time_column: str | None = None,
        watts_column: str | None = None,
        clock_offset_s: float = 0.0,
        settle_s: float = 5.0,
    ) -> None:
        self.csv_path = os.environ.get("EDGEQ_METER_CSV") or csv
        self.command = os.environ.get("EDGEQ_METER_COMMAND") or command
        self.time_column = time_column
        self.watts_column = watts_column
        self.clock_offset_s = clock_offset_s
        self.settle_s = settle_s
        env_boundary = os.environ.get("EDGEQ_METER_BOUNDARY")
        if env_boundary:
            if env_boundary not in BOUNDARIES:
                raise BadInput(f"EDGEQ_METER_BOUNDARY: got {env_boundary!r}, expected one of {', '.join(BOUNDARIES)}")
            self.boundary = env_boundary
        self._t0 = 0.0
        self._lines: LineSampler | None = None

    def probe(self) -> Probe:
        if self.command:
            return Probe("available")
        if not self.csv_path:
            return Probe(
                "unavailable",
                "no meter configured (set EDGEQ_METER_CSV or EDGEQ_METER_COMMAND, or the profile's csv/command option)",
            )
        path = Path(self.csv_path)
        if not path.is_file():
            return Probe("unavailable", f"meter log {path} does not exist (is the meter logging?)")
        try:
            with path.open("r", encoding="utf-8", errors="replace") as handle:
                handle.readline()
        except PermissionError:
            return Probe("needs_privilege", f"meter log {path} is not readable by this user", f"chmod o+r {path}")
        except OSError as exc:
            return Probe("unavailable", f"cannot read meter log {path}: {exc}")
        return Probe("available")

    def start(self) -> None:
        if self.command:
            self._lines = LineSampler(
                self.command, lambda line: parse_command_line(line, self.clock_offset_s), "meter-command"
            )
            self._t0 = self._lines.start(first_sample_timeout=max(2.0, self.settle_s))
        else:
            self._lines = None
            self._t0 = time.time()

    def _read_csv(self) -> tuple[list[Sample], int]:
        try:
            text = Path(self.csv_path).read_text(encoding="utf-8", errors="replace")  # type: ignore[arg-type]
        except PermissionError:
            raise WindowError(f"meter log {self.csv_path} is not readable by this user") from None
        except OSError as exc:
            raise WindowError(f"cannot read meter log {self.csv_path}: {exc}") from None
        try:
            return parse_csv(text, self.time_column, self.watts_column, self.clock_offset_s)
        except ValueError as exc:
            raise WindowError(f"{self.csv_path}: {exc}") from None

    def stop(self) -> EnergyReading:
        if self._lines is not None:
            t1 = self._lines.stop(last_sample_timeout=self.settle_s)
            samples, bad, errors = self._lines.samples, 0, self._lines.errors
            source = {"command": self.command}
        else:
            t1 = time.time()
            deadline = t1 + self.settle_s
            samples, bad = self._read_csv()
            while not (samples and max(t for t, _ in samples) >= t1) and time.time() < deadline:
                time.sleep(0.05)
                samples, bad = self._read_csv()
            errors = []
            source = {"csv": str(self.csv_path)}
        window = [s for s in samples if self._t0 - 60 <= s[0] <= t1 + 60]
        if not window:
            last = (
                f"; its last row is at {max(t for t, _ in samples) - t1:+.1f} s from the window's end"
                if samples
                else ""
            )
            raise WindowError(f"no meter rows within the window {self._t0:.3f}..{t1:.3f} (Unix time){last}")
        energy, used = integrate(window, self._t0, t1)
        return EnergyReading(
            energy_j=energy,
            window_s=t1 - self._t0,
            samples=used,
            boundary=self.boundary,
            method=self.method,
            detail={
                **source,
                "bad_rows": bad,
                "parse_errors": errors,
                "clock_offset_s": self.clock_offset_s,
                "t_start_unix": self._t0,
                "t_end_unix": t1,
            },
        )
