"""``example-file-meter``: the example power sensor of the plugin guide (docs/plugins.md).

A meter that keeps the board's input power, in watts, as the only number of a text file (a logger
script writing ``5.0``, a sysfs-like node). The profile names the file:
``power: [{name: example-file-meter, options: {path: /run/meter/watts}}, none]``. A thread samples it
during the window (``suite.power.sampling.PolledSampler``) and the samples are integrated.
"""

from __future__ import annotations

from pathlib import Path

from suite.power.base import EnergyReading, PowerSensor, Probe
from suite.power.sampling import PolledSampler, window_energy


class FileMeter(PowerSensor):
    name = "example-file-meter"
    boundary = "board_input"
    method = "integrated_samples"
    plugin_meta = {"summary": "example plugin: watts read from a text file (options.path), sampled and integrated"}

    def __init__(self, path: str | None = None, period_s: float = 0.02) -> None:
        self.path = Path(path) if path else None
        self.period_s = period_s
        self._sampler: PolledSampler | None = None
        self._t0 = 0.0

    def _read(self) -> float:
        assert self.path is not None
        return float(self.path.read_text().strip())

    def probe(self) -> Probe:
        if self.path is None:
            return Probe(
                "unavailable", "options.path is not set", "power: [{name: example-file-meter, options: {path: FILE}}]"
            )
        if not self.path.is_file():
            return Probe("unavailable", f"{self.path} does not exist")
        try:
            self._read()
        except PermissionError:
            return Probe("needs_privilege", f"{self.path} is not readable by this user", f"sudo chmod o+r {self.path}")
        except (OSError, ValueError) as exc:
            return Probe("unavailable", f"cannot read watts from {self.path}: {exc}")
        return Probe("available")

    def start(self) -> None:
        self._sampler = PolledSampler(self._read, self.period_s, name="example-file-meter")
        self._t0 = self._sampler.start()

    def stop(self) -> EnergyReading:
        assert self._sampler is not None, "stop() before start()"
        sampler = self._sampler
        t1 = sampler.stop()
        energy, used = window_energy(
            sampler.samples, sampler.errors, self._t0, t1, f"readable sample(s) of {self.path}"
        )
        return EnergyReading(
            energy_j=energy,
            window_s=t1 - self._t0,
            samples=used,
            boundary=self.boundary,
            method=self.method,
            detail={"path": str(self.path), "period_s": self.period_s, "t_start_unix": self._t0, "t_end_unix": t1},
        )
