"""Fingerprint of the machine and software that measured: goes into every record.

Run side: stdlib only. Package versions come from installed metadata (nothing is imported), hardware
facts from /proc and /sys under ``EDGEQ_SYSROOT``.
"""

from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from typing import Any

from suite.machine import emulation
from suite.paths import REPO_ROOT, system_path

# Packages whose version can change a number we record (numerics or timing).
NUMERIC_PACKAGES = (
    "numpy",
    "onnx",
    "onnxruntime",
    "onnxruntime-gpu",
    "torch",
    "tensorflow",
    "ai-edge-litert",
    "scikit-learn",
    "mlcommons-loadgen",
)
OTHER_PACKAGES = ("edgeq", "mlflow", "pandas", "pydantic")
INTERESTING_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "amx_int8",
    "amx_bf16",
    "f16c",
    "fma",
    "asimddp",
    "asimdhp",
    "i8mm",
    "bf16",
    "sve",
)


def package_versions(names: tuple[str, ...] = NUMERIC_PACKAGES + OTHER_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _read(path: str) -> str | None:
    try:
        return system_path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


@lru_cache(maxsize=1)
def cpu_info() -> dict[str, Any]:
    text = _read("/proc/cpuinfo") or ""
    model = None
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and model is None:
            model = value.strip()
        elif key in ("flags", "features"):
            flags.update(value.split())
    return {
        "model": model or platform.processor() or None,
        "arch": platform.machine(),
        "flags": sorted(f for f in flags if f in INTERESTING_FLAGS),
        "cores": os.cpu_count(),
    }


def temperatures() -> dict[str, float]:
    """Thermal zones in degrees C (type -> temp), empty where the kernel exposes none."""
    temps: dict[str, float] = {}
    base = system_path("/sys/class/thermal")
    if not base.is_dir():
        return temps
    for zone in sorted(base.glob("thermal_zone*")):
        try:
            kind = (zone / "type").read_text().strip()
            temps[kind] = int((zone / "temp").read_text().strip()) / 1000.0
        except (OSError, ValueError):
            continue
    return temps


@lru_cache(maxsize=1)
def git_state() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def environment() -> dict[str, Any]:
    return {
        "packages": package_versions(),
        "python": platform.python_version(),
        "cpu": cpu_info(),
        "os": f"{platform.system()} {_os_release()}".strip(),
        "kernel": platform.release(),
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "git": git_state(),
        "temperatures": temperatures(),
        "throttled": None,
        **emulation.record_fields(),
        **board_state(),
    }


def board_state() -> dict[str, Any]:
    """Board identity and state (L4T/JetPack release, device-tree model, GPUs, Jetson power mode and
    clocks, Raspberry Pi throttle flags), read through ``EDGEQ_SYSROOT`` by ``suite.machine.detect``/``suite.machine.boards``."""
    from suite.machine import boards
    from suite.machine.detect import machine

    state: dict[str, Any] = {"board": machine().to_record()}
    mode = boards.nvpmodel()
    state["power_mode"] = {"id": mode["id"], "name": mode["name"]} if mode else None
    state["jetson_clocks"] = boards.jetson_clocks() if mode else None
    throttled = boards.rpi_get_throttled()
    state["rpi_throttled"] = (
        {"value": hex(throttled), "flags": boards.throttle_flags(throttled)} if throttled is not None else None
    )
    return state


def _os_release() -> str:
    text = _read("/etc/os-release") or ""
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return ""
