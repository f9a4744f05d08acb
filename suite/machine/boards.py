"""Board state that changes a measurement: Jetson power mode and clocks, CPU governors and frequency caps,
thermal trip points, Raspberry Pi throttling. Read-only; ``suite.machine.preflight`` decides what it means.

Formats (docs/formats.md and the tools' own sources): ``/var/lib/nvpmodel/status`` holds ``pmode:0002``
(what ``nvpmodel`` itself writes) and ``/etc/nvpmodel.conf`` lines ``< POWER_MODEL ID=2 NAME=MAXN_SUPER >``
and ``< PM_CONFIG DEFAULT=2 >``; ``jetson_clocks`` pins every clock at its maximum, which shows in sysfs
as ``scaling_min_freq == scaling_max_freq`` (CPU) and ``min_freq == max_freq`` (GPU devfreq);
``vcgencmd get_throttled`` prints ``throttled=0x50005``. All files are read under ``EDGEQ_SYSROOT``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from suite.machine.detect import read_text
from suite.paths import system_path

_POWER_MODEL = re.compile(r"<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=([^\s>]+)\s*>")
_PM_DEFAULT = re.compile(r"<\s*PM_CONFIG\s+DEFAULT=(\d+)\s*>")
_GPU_DEVFREQ = re.compile(r"(gpu|ga10b|gv11b|gp10b|gb10b)", re.IGNORECASE)

RPI_THROTTLE_BITS = {
    0: "under-voltage",
    1: "arm frequency capped",
    2: "currently throttled",
    3: "soft temperature limit active",
    16: "under-voltage has occurred",
    17: "arm frequency capping has occurred",
    18: "throttling has occurred",
    19: "soft temperature limit has occurred",
}


def _int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def nvpmodel() -> dict[str, Any] | None:
    """The Jetson power mode: ``{"id", "name", "modes": {id: name}, "default"}``; None off a Jetson."""
    conf = read_text("/etc/nvpmodel.conf")
    status = read_text("/var/lib/nvpmodel/status")
    if conf is None and status is None:
        return None
    modes = {int(i): name for i, name in _POWER_MODEL.findall(conf or "")}
    default = _PM_DEFAULT.search(conf or "")
    default_id = int(default.group(1)) if default else None
    current = None
    if status:
        m = re.search(r"pmode:(\d+)", status)
        if m:
            current = int(m.group(1))
    if current is None:
        current = default_id  # no saved state: the board booted into the configured default
    return {
        "id": current,
        "name": modes.get(current) if current is not None else None,
        "modes": modes,
        "default": default_id,
    }


def cpu_dirs() -> list[Path]:
    base = system_path("/sys/devices/system/cpu")
    if not base.is_dir():
        return []
    return sorted((d for d in base.glob("cpu[0-9]*") if (d / "cpufreq").is_dir()), key=lambda d: int(d.name[3:]))


def governors() -> dict[str, str]:
    """cpuN -> scaling governor."""
    out = {}
    for d in cpu_dirs():
        try:
            out[d.name] = (d / "cpufreq" / "scaling_governor").read_text().strip()
        except OSError:
            continue
    return out


def cpu_freqs() -> dict[str, dict[str, int | None]]:
    """cpuN -> cur/min/max (scaling) and hardware max, in kHz."""
    out = {}
    for d in cpu_dirs():
        f = d / "cpufreq"
        out[d.name] = {
            "cur": _int(f / "scaling_cur_freq"),
            "min": _int(f / "scaling_min_freq"),
            "max": _int(f / "scaling_max_freq"),
            "hw_max": _int(f / "cpuinfo_max_freq"),
        }
    return out


def gpu_devfreq() -> dict[str, Any] | None:
    """The integrated GPU's devfreq state (Jetson), or None."""
    base = system_path("/sys/class/devfreq")
    if not base.is_dir():
        return None
    for d in sorted(base.iterdir()):
        if _GPU_DEVFREQ.search(d.name):
            return {
                "device": d.name,
                "cur": _int(d / "cur_freq"),
                "min": _int(d / "min_freq"),
                "max": _int(d / "max_freq"),
            }
    return None


def jetson_clocks() -> dict[str, Any] | None:
    """Whether clocks are pinned as ``jetson_clocks`` leaves them (None when there is no cpufreq at all)."""
    freqs = cpu_freqs()
    if not freqs:
        return None
    cpu_pinned = all(f["min"] is not None and f["min"] == f["max"] for f in freqs.values())
    gpu = gpu_devfreq()
    gpu_pinned = None if gpu is None else (gpu["min"] is not None and gpu["min"] == gpu["max"])
    return {"cpu_pinned": cpu_pinned, "gpu_pinned": gpu_pinned, "pinned": cpu_pinned and gpu_pinned is not False}


def thermal_zones() -> list[dict[str, Any]]:
    """Each zone's type, temperature and passive trip point (°C)."""
    zones: list[dict[str, Any]] = []
    base = system_path("/sys/class/thermal")
    if not base.is_dir():
        return zones
    for z in sorted(base.glob("thermal_zone*")):
        temp = _int(z / "temp")
        if temp is None:
            continue
        try:
            kind = (z / "type").read_text().strip()
        except OSError:
            kind = z.name
        passive = None
        for trip in sorted(z.glob("trip_point_*_type")):
            try:
                if trip.read_text().strip() == "passive":
                    value = _int(z / trip.name.replace("_type", "_temp"))
                    if value is not None and value > 0:
                        passive = value / 1000.0 if passive is None else min(passive, value / 1000.0)
            except OSError:
                continue
        zones.append({"zone": z.name, "type": kind, "temp_c": temp / 1000.0, "passive_c": passive})
    return zones


def intel_throttle_count() -> int | None:
    """Sum of the CPUs' thermal throttle event counters (Intel), or None where the kernel has none."""
    total, seen = 0, False
    for d in cpu_dirs() or sorted(system_path("/sys/devices/system/cpu").glob("cpu[0-9]*")):
        for name in ("core_throttle_count", "package_throttle_count"):
            value = _int(d / "thermal_throttle" / name)
            if value is not None:
                total += value
                seen = True
    return total if seen else None


def parse_get_throttled(text: str) -> int | None:
    m = re.search(r"throttled=(0x[0-9a-fA-F]+|\d+)", text)
    return int(m.group(1), 0) if m else None


def throttle_flags(value: int) -> list[str]:
    return [label for bit, label in RPI_THROTTLE_BITS.items() if value & (1 << bit)]


def rpi_get_throttled(command: str = "vcgencmd") -> int | None:
    """``vcgencmd get_throttled`` as an int, or None where there is no vcgencmd / it fails."""
    if not shutil.which(command):
        return None
    try:
        out = subprocess.run([command, "get_throttled"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_get_throttled(out.stdout) if out.returncode == 0 else None
