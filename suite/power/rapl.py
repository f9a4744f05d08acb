"""Intel/AMD RAPL energy counters through Linux powercap (docs/formats.md, "Intel and AMD CPUs: RAPL through powercap").

Reads ``energy_uj`` of each top-level package domain (``intel-rapl:<P>``, name ``package-*``); the
sub-domains (core, uncore, dram) sit inside the package and are not added, to avoid double counting.
A background thread samples the counters so that wrap-arounds (a reading lower than the previous one,
fixed by adding ``max_energy_range_uj``) are caught even when the window spans several wraps.
Hand-written because no maintained library reads powercap without also owning the measurement loop
(codecarbon and zeus run their own trackers); this is the same arithmetic they use.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from suite.paths import system_path
from suite.power.base import EnergyReading, PowerSensor, Probe

POWERCAP = "/sys/class/powercap"
_PACKAGE_DIR = re.compile(r"^intel-rapl:\d+$")
PRIVILEGE_HINT = "run as root, or: sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj (readable by root only since CVE-2020-8694)"


class _Domain:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = (path / "name").read_text().strip()
        self.max_range = int((path / "max_energy_range_uj").read_text().strip())
        self.last = 0
        self.total_uj = 0
        self.wraps = 0

    def read(self) -> int:
        return int((self.path / "energy_uj").read_text().strip())

    def begin(self) -> None:
        self.last = self.read()
        self.total_uj = 0
        self.wraps = 0

    def sample(self) -> None:
        now = self.read()
        delta = now - self.last
        if delta < 0:  # the counter wrapped
            delta += self.max_range
            self.wraps += 1
        self.total_uj += delta
        self.last = now


class RaplSensor(PowerSensor):
    name = "rapl"
    boundary = "cpu_package"
    method = "energy_counter"

    def __init__(self, poll_s: float = 0.5) -> None:
        self.poll_s = poll_s
        self._domains: list[_Domain] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._samples = 0
        self._t0_unix = 0.0

    def _package_dirs(self) -> list[Path]:
        root = system_path(POWERCAP)
        if not root.is_dir():
            return []
        dirs = []
        for d in sorted(root.iterdir()):
            if _PACKAGE_DIR.match(d.name) and (d / "name").is_file():
                if (d / "name").read_text().strip().startswith("package"):
                    dirs.append(d)
        return dirs

    def probe(self) -> Probe:
        dirs = self._package_dirs()
        if not dirs:
            return Probe(
                "unavailable",
                f"no RAPL package domain under {system_path(POWERCAP)} (no powercap driver, a VM, or not an Intel/AMD CPU)",
            )
        try:
            for d in dirs:
                int((d / "energy_uj").read_text().strip())
        except PermissionError:
            return Probe("needs_privilege", f"{dirs[0] / 'energy_uj'} is readable by root only", PRIVILEGE_HINT)
        except (OSError, ValueError) as exc:
            return Probe("unavailable", f"cannot read {dirs[0] / 'energy_uj'}: {exc}")
        return Probe("available")

    def start(self) -> None:
        self._domains = [_Domain(d) for d in self._package_dirs()]
        for domain in self._domains:
            domain.begin()
        self._samples = 0
        self._stop.clear()
        self._t0 = time.perf_counter()
        self._t0_unix = time.time()
        self._thread = threading.Thread(target=self._poll, name="rapl-poll", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_s):
            self._sample_all()

    def _sample_all(self) -> None:
        for domain in self._domains:
            domain.sample()
        self._samples += 1

    def stop(self) -> EnergyReading:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample_all()
        window = time.perf_counter() - self._t0
        total_j = sum(d.total_uj for d in self._domains) / 1e6
        return EnergyReading(
            energy_j=total_j,
            window_s=window,
            samples=self._samples,
            boundary=self.boundary,
            method=self.method,
            detail={
                "domains": [d.name for d in self._domains],
                "wraps": sum(d.wraps for d in self._domains),
                "t_start_unix": self._t0_unix,
                "t_end_unix": self._t0_unix + window,
            },
        )
