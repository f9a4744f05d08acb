"""The ``none`` sensor: says plainly that power is not measured on this target."""

from __future__ import annotations

from suite.power.base import EnergyReading, PowerSensor, Probe


class NoSensor(PowerSensor):
    name = "none"

    def probe(self) -> Probe:
        return Probe("unavailable", "the profile lists no power sensor")

    def start(self) -> None:  # pragma: no cover - never started: probe() is never available
        raise RuntimeError("the 'none' sensor measures nothing")

    def stop(self) -> EnergyReading:  # pragma: no cover
        raise RuntimeError("the 'none' sensor measures nothing")
