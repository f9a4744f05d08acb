"""Raspberry Pi 5 PMIC rails through ``vcgencmd pmic_read_adc`` (docs/formats.md, "Raspberry Pi 5: PMIC rails").

The command prints one line per ADC channel, ``NAME_A current(N)=0.7436A`` or ``NAME_V volt(N)=0.72V``;
a rail's power is its ``_A`` current times its ``_V`` voltage. ``EXT5V`` has a voltage only, so the
board's input power is NOT measured: the sum of the PMIC rails leaves out the USB, Ethernet and
fan loads and the PMIC's own losses. The boundary is therefore ``partial_rails`` and the record says so.
Each sample is a process launch; the rate is capped at 10 Hz (docs/formats.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess

from suite.power.base import EnergyReading, PowerSensor, Probe
from suite.power.sampling import PolledSampler, window_energy

_LINE = re.compile(r"^\s*(\S+)_([AV])\s+(?:current|volt)\(\d+\)=([-+\d.eE]+)[AV]\s*$")
MIN_PERIOD_S = 0.1
PRIVILEGE_HINT = (
    "add the user to the 'video' group (sudo usermod -aG video $USER; log in again) so vcgencmd can open /dev/vcio"
)


def parse_pmic(text: str) -> tuple[dict[str, float], list[str]]:
    """``({rail: watts}, [voltage-only rails])`` from ``vcgencmd pmic_read_adc`` output."""
    amps: dict[str, float] = {}
    volts: dict[str, float] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        name, kind, value = m.group(1), m.group(2), float(m.group(3))
        (amps if kind == "A" else volts)[name] = value
    rails = {name: amps[name] * volts[name] for name in amps if name in volts}
    voltage_only = sorted(n for n in volts if n not in amps)
    return rails, voltage_only


class RpiPmicSensor(PowerSensor):
    name = "rpi5-pmic"
    boundary = "partial_rails"
    method = "integrated_samples"

    def __init__(self, period_s: float = 0.2, command: str = "vcgencmd") -> None:
        self.period_s = max(MIN_PERIOD_S, period_s)
        self.command = command
        self._sampler: PolledSampler | None = None
        self._t0 = 0.0
        self._rails: list[str] = []
        self._voltage_only: list[str] = []

    def _run(self) -> str:
        out = subprocess.run([self.command, "pmic_read_adc"], capture_output=True, text=True, timeout=5)
        text = out.stdout + out.stderr
        if out.returncode != 0 or "error=" in text:
            raise OSError(" ".join(text.split())[:200] or f"exit status {out.returncode}")
        return text

    def probe(self) -> Probe:
        if not shutil.which(self.command):
            return Probe("unavailable", f"{self.command!r} is not on PATH (not a Raspberry Pi OS install)")
        try:
            text = self._run()
        except (OSError, subprocess.SubprocessError) as exc:
            message = str(exc)
            if "vcio" in message or "VCHI" in message or "ermission" in message:
                return Probe("needs_privilege", f"vcgencmd cannot reach the firmware: {message}", PRIVILEGE_HINT)
            return Probe("unavailable", f"vcgencmd pmic_read_adc failed (a Raspberry Pi 5 is needed): {message}")
        rails, _ = parse_pmic(text)
        if not rails:
            return Probe("unavailable", "vcgencmd pmic_read_adc printed no current/voltage pairs")
        return Probe("available")

    def _read(self) -> float:
        rails, voltage_only = parse_pmic(self._run())
        if not rails:
            raise ValueError("no current/voltage pairs in pmic_read_adc output")
        self._rails, self._voltage_only = sorted(rails), voltage_only
        return sum(rails.values())

    def start(self) -> None:
        self._sampler = PolledSampler(self._read, self.period_s, name="rpi5-pmic-poll")
        self._t0 = self._sampler.start()

    def stop(self) -> EnergyReading:
        assert self._sampler is not None, "stop() before start()"
        t1 = self._sampler.stop()
        sampler = self._sampler
        energy, used = window_energy(sampler.samples, sampler.errors, self._t0, t1, "PMIC reading(s)")
        return EnergyReading(
            energy_j=energy,
            window_s=t1 - self._t0,
            samples=used,
            boundary=self.boundary,
            method=self.method,
            detail={
                "rails": self._rails,
                "not_measured": "board input: " + ", ".join(self._voltage_only) + " report a voltage only"
                if self._voltage_only
                else "board input",
                "period_s": self.period_s,
                "read_errors": sampler.errors,
                "t_start_unix": self._t0,
                "t_end_unix": t1,
            },
        )
