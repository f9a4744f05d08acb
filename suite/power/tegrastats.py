"""Jetson ``tegrastats`` as a power sensor: the fallback when the INA3221 files are not readable.

Format (jetson-stats ``jtop/core/tegra_parse.py``; docs/formats.md): one line per ``--interval`` ms, each rail
as ``NAME current_mW/average_mW`` (JetPack 5/6), or ``NAME current/average`` in mW without the unit
(JetPack 4: ``POM_5V_IN 2007/2007``). The average is tegrastats' own running mean since it started,
not the window's mean, so only the current values are used, timestamped on arrival and integrated.
"""

from __future__ import annotations

import re
import shutil

from suite.power.base import EnergyReading, PowerSensor, Probe
from suite.power.ina3221 import INPUT_RAILS
from suite.power.sampling import LineSampler, window_energy

_RAIL = re.compile(r"\b([A-Z][A-Z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?(?=\s|$)")


def parse_line(line: str) -> dict[str, tuple[int, int]]:
    """``{rail: (current_mW, average_mW)}`` from one tegrastats line (other fields are ignored)."""
    return {name: (int(cur), int(avg)) for name, cur, avg in _RAIL.findall(line)}


class TegrastatsSensor(PowerSensor):
    name = "tegrastats"
    boundary = "module_input"
    method = "integrated_samples"

    def __init__(self, rails: list[str] | None = None, interval_ms: int = 100, command: str = "tegrastats") -> None:
        self.rails = list(rails) if rails else None  # None: the module input rail; else these rails summed
        self.interval_ms = interval_ms
        self.command = command
        self._sampler: LineSampler | None = None
        self._t0 = 0.0
        self._rails_used: list[str] | None = None

    def probe(self) -> Probe:
        if not shutil.which(self.command):
            return Probe(
                "unavailable", f"{self.command!r} is not on PATH (not a Jetson, or L4T's tegrastats not installed)"
            )
        return Probe("available")

    def _watts(self, line: str) -> float | None:
        rails = parse_line(line)
        if not rails:
            return None
        if self._rails_used is None:
            if self.rails:
                missing = [r for r in self.rails if r not in rails]
                if missing:
                    raise ValueError(
                        f"rail(s) {', '.join(missing)} not in tegrastats output (rails: {', '.join(rails)})"
                    )
                self._rails_used = list(self.rails)
            else:
                first = next((r for r in INPUT_RAILS if r in rails), None)
                if first is None:
                    raise ValueError(f"no rail {' or '.join(INPUT_RAILS)} (rails: {', '.join(rails)})")
                self._rails_used = [first]
        missing = [r for r in self._rails_used if r not in rails]
        if missing:
            raise ValueError(f"rail(s) {', '.join(missing)} missing from this line")
        return sum(rails[r][0] for r in self._rails_used) / 1000.0

    def start(self) -> None:
        self._rails_used = None
        self._sampler = LineSampler([self.command, "--interval", str(self.interval_ms)], self._watts, "tegrastats")
        self._t0 = self._sampler.start(first_sample_timeout=max(2.0, 5 * self.interval_ms / 1000))

    def stop(self) -> EnergyReading:
        assert self._sampler is not None, "stop() before start()"
        t1 = self._sampler.stop(last_sample_timeout=max(1.0, 3 * self.interval_ms / 1000))
        sampler = self._sampler
        energy, used = window_energy(sampler.samples, sampler.errors, self._t0, t1, "tegrastats reading(s)")
        used_rails = self._rails_used or []
        boundary = "module_input" if len(used_rails) == 1 and used_rails[0] in INPUT_RAILS else "partial_rails"
        return EnergyReading(
            energy_j=energy,
            window_s=t1 - self._t0,
            samples=used,
            boundary=boundary,
            method=self.method,
            detail={
                "rails": used_rails,
                "interval_ms": self.interval_ms,
                "parse_errors": sampler.errors,
                "t_start_unix": self._t0,
                "t_end_unix": t1,
            },
        )
