"""The PowerSensor interface and what it returns.

A sensor never invents a number: when it cannot measure, ``probe()`` says why (``unavailable``) or what
would fix it (``needs_privilege``), and the record carries that status instead of 0 W or an estimate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Boundary = Literal["wall", "board_input", "module_input", "gpu_board", "cpu_package", "partial_rails"]
Method = Literal["energy_counter", "integrated_samples"]


class WindowError(Exception):
    """A sensor that probed fine measured nothing usable in this window (no samples, a dead meter...).

    The record then says ``unavailable`` with this message as the reason; the job itself goes on.
    """


@dataclass(frozen=True)
class Probe:
    status: Literal["available", "unavailable", "needs_privilege"]
    reason: str = ""
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "available"


@dataclass
class EnergyReading:
    energy_j: float
    window_s: float
    samples: int
    boundary: str
    method: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def avg_w(self) -> float:
        return self.energy_j / self.window_s if self.window_s > 0 else float("nan")


class PowerSensor(ABC):
    """One way of measuring energy over a window."""

    name: str = ""
    boundary: str = ""
    method: str = ""

    @classmethod
    def from_spec(cls, options: dict[str, Any] | None = None, boundary: str | None = None) -> PowerSensor:
        """A sensor built from a profile's ``power:`` entry (options are constructor keywords)."""
        from suite.errors import BadInput

        try:
            sensor = cls(**(options or {}))
        except TypeError as exc:
            raise BadInput(f"power sensor {cls.name!r}: bad options {sorted(options or {})}: {exc}") from None
        if boundary:
            sensor.boundary = boundary
        return sensor

    @abstractmethod
    def probe(self) -> Probe:
        """Can this sensor measure on this machine, and if not, why not?"""

    @abstractmethod
    def start(self) -> None:
        """Open the measurement window (call right before the timed region)."""

    @abstractmethod
    def stop(self) -> EnergyReading:
        """Close the window and return the energy measured inside it."""


def stop_reading(sensor: PowerSensor) -> EnergyReading | WindowError:
    """``sensor.stop()``, with a window that measured nothing returned as its ``WindowError``."""
    try:
        return sensor.stop()
    except WindowError as exc:
        return exc


def power_block(
    sensor: PowerSensor | None, probe: Probe, reading: EnergyReading | WindowError | None, items: int | None
) -> dict[str, Any]:
    """The record's ``power`` section: measured numbers, or the honest reason there are none."""
    if isinstance(reading, WindowError):
        probe = Probe("unavailable", f"{sensor.name if sensor else 'sensor'}: {reading}")
        reading = None
    block: dict[str, Any] = {
        "status": "measured" if reading is not None else probe.status,
        "reason": probe.reason or None,
        "hint": probe.hint or None,
        "sensor": sensor.name if sensor else None,
        "boundary": reading.boundary if reading else None,
        "method": reading.method if reading else None,
        "avg_w": None,
        "energy_j": None,
        "mj_per_item": None,
        "window_s": None,
        "samples": None,
    }
    if reading is not None:
        block.update(
            avg_w=reading.avg_w,
            energy_j=reading.energy_j,
            window_s=reading.window_s,
            samples=reading.samples,
            mj_per_item=(reading.energy_j * 1000.0 / items) if items else None,
        )
        if reading.detail:
            block["detail"] = reading.detail
    if block["status"] == "available":  # probed fine but never started: not a measurement
        block["status"] = "unavailable"
        block["reason"] = block["reason"] or "sensor was not started"
    return block


def choose_sensor(names: list[Any]) -> tuple[PowerSensor | None, Probe]:
    """The first sensor of the profile's list that is available; else the most useful reason why not.

    ``names`` holds sensor names or ``PowerSpec`` entries (name + boundary + options).
    A ``needs_privilege`` answer is kept over plain ``unavailable`` ones, since it comes with a fix.
    """
    from suite.registry import power

    reasons: list[str] = []
    privileged: tuple[PowerSensor, Probe] | None = None
    for entry in names:
        name = entry if isinstance(entry, str) else entry.name
        if name == "none":
            continue
        cls = power.get(name)
        if isinstance(entry, str):
            sensor = cls.from_spec() if hasattr(cls, "from_spec") else cls()
        else:
            sensor = cls.from_spec(entry.options, entry.boundary)
        probe = sensor.probe()
        if probe.ok:
            return sensor, probe
        reasons.append(f"{name}: {probe.reason}")
        if probe.status == "needs_privilege" and privileged is None:
            privileged = (sensor, probe)
    if privileged is not None:
        return privileged[0], Probe("needs_privilege", "; ".join(reasons), privileged[1].hint)
    reason = "; ".join(reasons) if reasons else "no power sensor configured for this target"
    return None, Probe("unavailable", reason)


def as_dict(probe: Probe) -> dict[str, Any]:
    return asdict(probe)
