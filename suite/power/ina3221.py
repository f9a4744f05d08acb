"""Jetson INA3221 power monitors through hwmon sysfs (docs/formats.md, "Jetson: INA3221 through hwmon").

Each channel N of an INA3221 exposes ``inN_label`` (the rail, e.g. ``VDD_IN``), ``inN_input`` (bus
voltage, mV) and ``currN_input`` (current, mA); a rail's power is mV x mA / 1e6 W. The hwmon number
changes between boots, so the folders are globbed (``/sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*``,
and any ``/sys/class/hwmon/hwmon*`` whose ``name`` is ``ina3221``) and rails are matched by label;
channels labelled ``NC`` (not connected) and the sum channel ``in7`` are skipped, as jetson-stats does.

``VDD_IN`` is the module's input: the boundary is ``module_input`` (the carrier board is outside it).
Any other choice of rails is ``partial_rails``. A background thread samples the files (default 20 Hz;
the chip averages internally over ``update_interval`` ms, recorded) and the samples are integrated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from suite.paths import system_path
from suite.power.base import EnergyReading, PowerSensor, Probe, WindowError
from suite.power.sampling import PolledSampler, window_energy

DRIVER_GLOB = ("/sys/bus/i2c/drivers/ina3221", "*/hwmon/hwmon*")
CLASS_DIR = "/sys/class/hwmon"
INPUT_RAILS = ("VDD_IN", "POM_5V_IN")  # module input on Orin/Xavier; POM_5V_IN on older modules
_LABEL = re.compile(r"^in(\d+)_label$")


@dataclass(frozen=True)
class Rail:
    label: str
    volt: Path  # inN_input, mV
    curr: Path  # currN_input, mA
    hwmon: Path

    def watts(self) -> float:
        mv = int(self.volt.read_text().strip())
        ma = int(self.curr.read_text().strip())
        return mv * ma / 1e6


def hwmon_dirs() -> list[Path]:
    """INA3221 hwmon folders under the sysroot, each once."""
    found: dict[str, Path] = {}
    base, pattern = DRIVER_GLOB
    root = system_path(base)
    if root.is_dir():
        for d in sorted(root.glob(pattern)):
            found.setdefault(str(d.resolve()), d)
    cls = system_path(CLASS_DIR)
    if cls.is_dir():
        for d in sorted(cls.glob("hwmon*")):
            try:
                name = (d / "name").read_text().strip()
            except OSError:
                continue
            if name == "ina3221":
                found.setdefault(str(d.resolve()), d)
    return list(found.values())


def discover_rails() -> dict[str, Rail]:
    """label -> Rail for every connected channel of every INA3221."""
    rails: dict[str, Rail] = {}
    for d in hwmon_dirs():
        for label_file in sorted(d.glob("in*_label")):
            m = _LABEL.match(label_file.name)
            if not m or m.group(1) == "7":  # in7: sum of shunt voltages, not a rail
                continue
            try:
                label = label_file.read_text().strip()
            except OSError:
                continue
            if not label or label.upper().startswith("NC"):
                continue
            n = m.group(1)
            rails.setdefault(label, Rail(label, d / f"in{n}_input", d / f"curr{n}_input", d))
    return rails


class Ina3221Sensor(PowerSensor):
    name = "ina3221"
    boundary = "module_input"
    method = "integrated_samples"

    def __init__(self, rails: list[str] | None = None, period_s: float = 0.05) -> None:
        self.wanted = list(rails) if rails else None  # None: the module input rail
        self.period_s = period_s
        self._rails: list[Rail] = []
        self._sampler: PolledSampler | None = None
        self._t0 = 0.0

    def _select(self) -> tuple[list[Rail], str | None]:
        rails = discover_rails()
        if not rails:
            where = system_path(DRIVER_GLOB[0])
            return (
                [],
                f"no INA3221 hwmon channels under {where} or {system_path(CLASS_DIR)} (not a Jetson, or JetPack 4's iio driver)",
            )
        if self.wanted is None:
            for label in INPUT_RAILS:
                if label in rails:
                    return [rails[label]], None
            return [], f"no module-input rail ({' or '.join(INPUT_RAILS)}); rails present: {', '.join(sorted(rails))}"
        if len(self.wanted) > 1 and set(self.wanted) & set(INPUT_RAILS):
            return (
                [],
                f"rails {', '.join(self.wanted)}: the module input already contains the others (summing double-counts); list it alone",
            )
        missing = [r for r in self.wanted if r not in rails]
        if missing:
            return [], f"rail(s) {', '.join(missing)} not found; rails present: {', '.join(sorted(rails))}"
        return [rails[r] for r in self.wanted], None

    def probe(self) -> Probe:
        rails, problem = self._select()
        if problem:
            return Probe("unavailable", problem)
        for rail in rails:
            try:
                rail.watts()
            except PermissionError:
                return Probe(
                    "needs_privilege",
                    f"{rail.curr} is not readable by this user",
                    f"run as root, or: sudo chmod o+r {rail.hwmon}/in*_input {rail.hwmon}/curr*_input",
                )
            except (OSError, ValueError) as exc:
                return Probe("unavailable", f"cannot read rail {rail.label} ({rail.curr}): {exc}")
        return Probe("available")

    def _read(self) -> float:
        return sum(rail.watts() for rail in self._rails)

    def start(self) -> None:
        rails, problem = self._select()
        if problem:
            raise WindowError(problem)
        self._rails = rails
        labels = {r.label for r in rails}
        if not labels & set(INPUT_RAILS):
            self.boundary = "partial_rails"
        self._sampler = PolledSampler(self._read, self.period_s, name="ina3221-poll")
        self._t0 = self._sampler.start()

    def stop(self) -> EnergyReading:
        assert self._sampler is not None, "stop() before start()"
        t1 = self._sampler.stop()
        sampler = self._sampler
        rails = ", ".join(r.label for r in self._rails)
        energy, used = window_energy(sampler.samples, sampler.errors, self._t0, t1, f"readable sample(s) of {rails}")
        interval = None
        try:
            interval = int((self._rails[0].hwmon / "update_interval").read_text().strip())
        except (OSError, ValueError):
            pass
        return EnergyReading(
            energy_j=energy,
            window_s=t1 - self._t0,
            samples=used,
            boundary=self.boundary,
            method=self.method,
            detail={
                "rails": [r.label for r in self._rails],
                "period_s": self.period_s,
                "chip_update_interval_ms": interval,
                "read_errors": sampler.errors,
                "t_start_unix": self._t0,
                "t_end_unix": t1,
            },
        )
