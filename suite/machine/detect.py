"""Recognise the machine: read its identity once (through ``EDGEQ_SYSROOT``) and match profiles against it.

Every fact comes from a file a board really has (docs/formats.md, jetson-stats ``jetson_variables.py``):
``/proc/device-tree/model`` (NUL-terminated on Jetson and Raspberry Pi), ``/etc/nv_tegra_release``
(``# R36 (release), REVISION: 3.0, ...``), ``/proc/cpuinfo``, ``/proc/sys/kernel/arch``, the NVIDIA
driver's ``/proc/driver/nvidia/gpus/*/information`` and ``/sys/bus/usb/devices/*/id{Vendor,Product}``.
Reading files rather than calling tools keeps detection instant and lets a test build a whole board as
a folder. Only when the driver files are absent on the real root is ``nvidia-smi`` asked for GPU names.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from suite.paths import sysroot, system_path

_L4T = re.compile(r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)")


def read_text(path: str) -> str | None:
    """A system file under the sysroot, without trailing NULs and whitespace; None if unreadable."""
    try:
        return system_path(path).read_text(encoding="utf-8", errors="replace").replace("\x00", "").strip()
    except OSError:
        return None


def parse_l4t(text: str | None) -> dict[str, str] | None:
    """``/etc/nv_tegra_release`` -> ``{"release": "R36", "revision": "3.0", "version": "36.3.0"}``."""
    if not text:
        return None
    match = _L4T.search(text)
    if not match:
        return None
    major, revision = match.group(1), match.group(2)
    fields = dict(re.findall(r"(\w+):\s*([^,]+)", text.splitlines()[0]))
    return {
        "release": f"R{major}",
        "revision": revision,
        "version": f"{major}.{revision}",
        "board": fields.get("BOARD", "").strip(),
        "eabi": fields.get("EABI", "").strip(),
    }


# L4T -> JetPack (NVIDIA's JetPack archive; jetson-stats keeps the same table).
JETPACK = {
    "36.4.4": "6.2.1",
    "36.4.3": "6.2",
    "36.4.0": "6.1",
    "36.3.0": "6.0",
    "36.2.0": "6.0 DP",
    "35.6.0": "5.1.4",
    "35.5.0": "5.1.3",
    "35.4.1": "5.1.2",
    "35.3.1": "5.1.1",
    "35.2.1": "5.1",
    "35.1.0": "5.0.2",
    "32.7.6": "4.6.6",
    "32.7.5": "4.6.5",
    "32.7.4": "4.6.4",
}


def _cpuinfo() -> tuple[str | None, set[str]]:
    text = read_text("/proc/cpuinfo") or ""
    model = None
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model", "model") and model is None and value.strip():
            if key != "model" or not value.strip().isdigit():  # x86 "model : 17" is a number, not a name
                model = value.strip()
        elif key in ("flags", "features"):
            flags.update(value.split())
    return model, flags


def _gpu_names() -> list[str]:
    names = []
    base = system_path("/proc/driver/nvidia/gpus")
    if base.is_dir():
        for info in sorted(base.glob("*/information")):
            try:
                for line in info.read_text(errors="replace").splitlines():
                    key, _, value = line.partition(":")
                    if key.strip() == "Model":
                        names.append(value.strip())
            except OSError:
                continue
        return names
    if str(sysroot()) == "/" and shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return names
        if out.returncode == 0:
            names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    return names


def _usb_ids() -> list[str]:
    ids = []
    base = system_path("/sys/bus/usb/devices")
    if base.is_dir():
        for dev in sorted(base.iterdir()):
            try:
                vendor = (dev / "idVendor").read_text().strip().lower()
                product = (dev / "idProduct").read_text().strip().lower()
            except OSError:
                continue
            ids.append(f"{vendor}:{product}")
    return ids


@dataclass
class Machine:
    """What this machine is, as far as profiles care."""

    arch: str
    os: str
    cpu_model: str | None
    cpu_flags: set[str] = field(default_factory=set)
    device_tree_model: str | None = None
    l4t: dict[str, str] | None = None
    gpu_names: list[str] = field(default_factory=list)
    usb_ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One phrase for error lines: ``x86_64 Linux, CPU 'AMD EPYC', no device tree, ...``."""
        parts = [f"{self.arch} {self.os}"]
        if self.cpu_model:
            parts.append(f"CPU {self.cpu_model!r}")
        parts.append(
            f"device-tree model {self.device_tree_model!r}" if self.device_tree_model else "no /proc/device-tree/model"
        )
        if self.l4t:
            parts.append(f"L4T {self.l4t['version']}")
        parts.append(f"GPU {', '.join(self.gpu_names)}" if self.gpu_names else "no NVIDIA GPU")
        return ", ".join(parts)

    def to_record(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "device_tree_model": self.device_tree_model,
            "l4t": self.l4t,
            "jetpack": JETPACK.get(self.l4t["version"]) if self.l4t else None,
            "gpus": self.gpu_names,
        }


def machine() -> Machine:
    """Read the machine's identity now (cheap: a handful of small files)."""
    model, flags = _cpuinfo()
    dt_model = read_text("/proc/device-tree/model") or read_text("/sys/firmware/devicetree/base/model")
    return Machine(
        arch=read_text("/proc/sys/kernel/arch") or platform.machine(),
        os=platform.system(),
        cpu_model=model or platform.processor() or None,
        cpu_flags=flags,
        device_tree_model=dt_model or None,
        l4t=parse_l4t(read_text("/etc/nv_tegra_release")),
        gpu_names=_gpu_names(),
        usb_ids=_usb_ids(),
    )


@dataclass
class Match:
    matched: bool
    rules: int  # how many rules the profile has: more rules = a more specific profile
    expected: list[str]  # the rules that failed, as "expected X"
    found: str

    def line(self, target: str) -> str:
        if self.matched:
            return f"target {target!r} matches this machine ({self.found})"
        return f"target {target!r} does not match this machine: expected {'; '.join(self.expected)}; found {self.found}"


def _any_in(needles: list[str], haystack: str | None) -> bool:
    return bool(haystack) and any(n.lower() in haystack.lower() for n in needles)  # type: ignore[union-attr]


def match(detect: Any, m: Machine | None = None) -> Match:
    """Check a profile's ``detect`` rules (every listed rule must hold) against the machine."""
    m = m or machine()
    failed: list[str] = []
    rules = 0
    if detect.arch:
        rules += 1
        if m.arch not in detect.arch:
            failed.append(f"arch {' or '.join(detect.arch)}")
    if detect.os:
        rules += 1
        if m.os not in detect.os:
            failed.append(f"OS {' or '.join(detect.os)}")
    if detect.device_tree_model:
        rules += 1
        if not _any_in(detect.device_tree_model, m.device_tree_model):
            failed.append("device-tree model containing " + " or ".join(repr(x) for x in detect.device_tree_model))
    if detect.nv_tegra_release:
        rules += 1
        if not m.l4t or m.l4t["release"] not in detect.nv_tegra_release:
            failed.append(f"/etc/nv_tegra_release {' or '.join(detect.nv_tegra_release)}")
    if detect.cpu_flags:
        rules += 1
        missing = [f for f in detect.cpu_flags if f not in m.cpu_flags]
        if missing:
            failed.append(f"CPU flags {', '.join(missing)}")
    if detect.cpu_model:
        rules += 1
        if not _any_in(detect.cpu_model, m.cpu_model):
            failed.append("CPU model containing " + " or ".join(repr(x) for x in detect.cpu_model))
    if detect.gpu_name:
        rules += 1
        if not any(_any_in(detect.gpu_name, g) for g in m.gpu_names):
            failed.append("NVIDIA GPU named " + " or ".join(repr(x) for x in detect.gpu_name))
    if detect.usb_ids:
        rules += 1
        if not set(i.lower() for i in detect.usb_ids) & set(m.usb_ids):
            failed.append(f"USB device {' or '.join(detect.usb_ids)}")
    return Match(matched=not failed, rules=rules, expected=failed, found=m.summary())
