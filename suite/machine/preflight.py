"""Pre-flight (is the board in the state the profile asks for?) and throttle checks (did it stay there?).

Pre-flight compares the profile's ``preflight:`` block with the board (``suite.machine.boards``) and, for each
difference, gives the command that would fix it. EdgeQ does not change the machine itself (that needs
root and outlives the run): ``edgeq doctor`` prints the fixes, ``edgeq bench`` warns and records them
(or stops, with ``on_fail: stop``). The start-temperature check can wait for the board to cool.

Throttle checks take a snapshot right before and right after each timed window; a check that fires
marks the measurement invalid (``environment.throttled``), since its numbers are not the board's.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from suite.machine import boards


@dataclass
class Check:
    name: str
    ok: bool
    expected: str
    found: str
    fix: str | None = None

    def line(self) -> str:
        mark = "ok  " if self.ok else "WARN"
        fix = f" -> fix: {self.fix}" if (self.fix and not self.ok) else ""
        return f"{mark} {self.name}: expected {self.expected}, found {self.found}{fix}"


def _hottest() -> tuple[float | None, str]:
    zones = boards.thermal_zones()
    if not zones:
        return None, "no thermal zones"
    z = max(zones, key=lambda z: z["temp_c"])
    return z["temp_c"], f"{z['temp_c']:.1f} °C ({z['type']})"


def check(spec: Any, wait: bool = True) -> list[Check]:
    """The profile's pre-flight rules against this board (``spec`` is a ``PreflightSpec``)."""
    checks: list[Check] = []
    if spec.governor:
        govs = boards.governors()
        found = ", ".join(sorted(set(govs.values()))) or "no cpufreq"
        ok = bool(govs) and all(g == spec.governor for g in govs.values())
        fix = f"echo {spec.governor} | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
        checks.append(
            Check(
                "cpu governor",
                ok or not govs,
                spec.governor,
                found if govs else "no cpufreq (not settable here)",
                fix if govs else None,
            )
        )
    if spec.nvpmodel:
        mode = boards.nvpmodel()
        if mode is None:
            checks.append(Check("nvpmodel", False, spec.nvpmodel, "no /etc/nvpmodel.conf (not a Jetson)"))
        else:
            ids = [i for i, name in mode["modes"].items() if name == spec.nvpmodel]
            found = f"{mode['name']} (mode {mode['id']})" if mode["name"] else f"mode {mode['id']}"
            fix = (
                f"sudo nvpmodel -m {ids[0]}"
                if ids
                else f"no mode named {spec.nvpmodel} in /etc/nvpmodel.conf ({', '.join(mode['modes'].values())})"
            )
            checks.append(Check("nvpmodel", mode["name"] == spec.nvpmodel, spec.nvpmodel, found, fix))
    if spec.jetson_clocks is not None:
        clocks = boards.jetson_clocks()
        if clocks is None:
            checks.append(
                Check("jetson_clocks", False, "clocks pinned" if spec.jetson_clocks else "clocks free", "no cpufreq")
            )
        else:
            found = (
                "pinned"
                if clocks["pinned"]
                else f"not pinned (cpu {'pinned' if clocks['cpu_pinned'] else 'scaling'}, gpu {'-' if clocks['gpu_pinned'] is None else ('pinned' if clocks['gpu_pinned'] else 'scaling')})"
            )
            fix = "sudo jetson_clocks" if spec.jetson_clocks else "sudo jetson_clocks --restore"
            checks.append(
                Check(
                    "jetson_clocks",
                    clocks["pinned"] == spec.jetson_clocks,
                    "pinned" if spec.jetson_clocks else "not pinned",
                    found,
                    fix,
                )
            )
    if spec.max_start_temp_c is not None:
        temp, found = _hottest()
        deadline = time.monotonic() + (spec.cooldown_wait_s if wait else 0)
        while temp is not None and temp > spec.max_start_temp_c and time.monotonic() < deadline:
            time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
            temp, found = _hottest()
        ok = temp is None or temp <= spec.max_start_temp_c
        checks.append(
            Check(
                "start temperature",
                ok,
                f"<= {spec.max_start_temp_c:.0f} °C",
                found,
                f"let the board cool (cooldown_wait_s: {spec.cooldown_wait_s:.0f} s waited)" if not ok else None,
            )
        )
    return checks


def as_record(checks: list[Check]) -> list[dict[str, Any]]:
    return [asdict(c) for c in checks]


# ------------------------------------------------------------------------------------------ throttle
def snapshot(names: list[str]) -> dict[str, Any]:
    """The state of each named throttle check, now."""
    snap: dict[str, Any] = {}
    for name in names:
        if name == "rpi_get_throttled":
            snap[name] = boards.rpi_get_throttled()
        elif name == "thermal_trip":
            snap[name] = [
                z for z in boards.thermal_zones() if z["passive_c"] is not None and z["temp_c"] >= z["passive_c"]
            ]
        elif name == "cpu_freq_cap":
            snap[name] = {cpu: f["max"] for cpu, f in boards.cpu_freqs().items() if f["max"]}
        elif name == "intel_thermal_throttle":
            snap[name] = boards.intel_throttle_count()
    return snap


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Why the window between two snapshots was throttled (empty: it was not)."""
    reasons: list[str] = []
    for name in before.keys() | after.keys():
        a, b = before.get(name), after.get(name)
        if name == "rpi_get_throttled" and b is not None:
            now = b & 0xF
            new = (b & ~(a or 0)) >> 16 & 0xF if a is not None else 0
            flags = boards.throttle_flags(now) + [boards.RPI_THROTTLE_BITS[16 + i] for i in range(4) if new & (1 << i)]
            if flags:
                reasons.append(f"vcgencmd get_throttled=0x{b:x}: {', '.join(flags)}")
        elif name == "thermal_trip" and (a or b):
            zones = {z["type"]: z for z in (a or []) + (b or [])}
            reasons.append(
                "at or above the passive trip point: "
                + ", ".join(f"{k} {z['temp_c']:.1f} °C" for k, z in zones.items())
            )
        elif name == "cpu_freq_cap" and a and b:
            lowered = {cpu: (a[cpu], b[cpu]) for cpu in a.keys() & b.keys() if b[cpu] < a[cpu]}
            if lowered:
                cpu, (was, now) = sorted(lowered.items())[0]
                reasons.append(
                    f"CPU frequency cap lowered during the window ({cpu}: {was} -> {now} kHz; {len(lowered)} CPU(s))"
                )
        elif name == "intel_thermal_throttle" and a is not None and b is not None and b > a:
            reasons.append(f"{b - a} CPU thermal throttle event(s) during the window")
    return sorted(reasons)
