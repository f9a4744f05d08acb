"""Emulated boards for the hardware tests: fixture trees in the real file formats (docs/formats.md) and
helper threads that drive their power files at known watts.

A tree is a folder used as ``EDGEQ_SYSROOT``: ``/proc/device-tree/model`` (NUL-terminated, as the kernel
writes it), ``/etc/nv_tegra_release``, INA3221 hwmon channels (``inN_label``, ``inN_input`` mV,
``currN_input`` mA), RAPL powercap domains (``energy_uj`` with ``max_energy_range_uj``), cpufreq,
thermal zones, nvpmodel state. The injected power is a smooth known function of Unix time, so a test
can integrate it exactly over the window the sensor reports and compare.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import stat
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ORIN_NANO_MODEL = "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"
AGX_ORIN_MODEL = "Jetson AGX Orin Developer Kit"
RPI5_MODEL = "Raspberry Pi 5 Model B Rev 1.0"
L4T_36_4_3 = (
    "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n"
    "# KERNEL_VARIANT: oot\nTARGET_USERSPACE_LIB_DIR=nvidia\nTARGET_USERSPACE_LIB_DIR_PATH=usr/lib/aarch64-linux-gnu/nvidia\n"
)
NVPMODEL_CONF_NANO_SUPER = textwrap.dedent(
    """\
    # Jetson Orin Nano power modes (excerpt)
    < PARAM TYPE=FILE NAME=CPU_ONLINE >
    CORE_0 /sys/devices/system/cpu/cpu0/online
    < POWER_MODEL ID=0 NAME=15W >
    CPU_ONLINE CORE_0 1
    < POWER_MODEL ID=1 NAME=25W >
    CPU_ONLINE CORE_0 1
    < POWER_MODEL ID=2 NAME=MAXN_SUPER >
    CPU_ONLINE CORE_0 1
    < POWER_MODEL ID=3 NAME=7W >
    CPU_ONLINE CORE_0 1
    < PM_CONFIG DEFAULT=2 >
    """
)
ORIN_CPUINFO_CORE = (
    "processor\t: {n}\nBogoMIPS\t: 62.50\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp "
    "asimdhp cpuid asimdrdm lrcpc dcpop asimddp uscat ilrcpc flagm paca pacg\nCPU implementer\t: 0x41\n"
    "CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd42\nCPU revision\t: 1\n\n"
)


def write(root: Path, path: str, text: str) -> Path:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def replace(path: Path, text: str) -> None:
    """Write a file the way sysfs presents it: a reader sees the old value or the new one, never ''."""
    tmp = path.with_name(f".{path.name}.tmp{threading.get_ident()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def cpufreq(root: Path, cores: int, governor: str, min_khz: int, max_khz: int, hw_max_khz: int) -> None:
    for n in range(cores):
        base = f"/sys/devices/system/cpu/cpu{n}/cpufreq"
        write(root, f"{base}/scaling_governor", f"{governor}\n")
        write(root, f"{base}/scaling_cur_freq", f"{max_khz}\n")
        write(root, f"{base}/scaling_min_freq", f"{min_khz}\n")
        write(root, f"{base}/scaling_max_freq", f"{max_khz}\n")
        write(root, f"{base}/cpuinfo_max_freq", f"{hw_max_khz}\n")


def thermal(root: Path, zones: dict[str, float], passive_c: float = 95.0) -> None:
    for i, (kind, temp) in enumerate(zones.items()):
        base = f"/sys/class/thermal/thermal_zone{i}"
        write(root, f"{base}/type", f"{kind}\n")
        write(root, f"{base}/temp", f"{int(temp * 1000)}\n")
        write(root, f"{base}/trip_point_0_type", "passive\n")
        write(root, f"{base}/trip_point_0_temp", f"{int(passive_c * 1000)}\n")


def ina3221_channels(root: Path, device: str, hwmon: int, channels: dict[int, tuple[str, int, int]]) -> Path:
    """One INA3221 at ``/sys/bus/i2c/drivers/ina3221/<device>/hwmon/hwmon<N>``: {n: (label, mV, mA)}."""
    base = root / f"sys/bus/i2c/drivers/ina3221/{device}/hwmon/hwmon{hwmon}"
    base.mkdir(parents=True, exist_ok=True)
    (base / "name").write_text("ina3221\n")
    (base / "update_interval").write_text("1100\n")
    (base / "samples").write_text("4\n")
    for n, (label, mv, ma) in channels.items():
        (base / f"in{n}_label").write_text(f"{label}\n")
        (base / f"in{n}_input").write_text(f"{mv}\n")
        (base / f"curr{n}_input").write_text(f"{ma}\n")
        (base / f"in{n}_enable").write_text("1\n")
    return base


def orin_nano(root: Path) -> Path:
    """A Jetson Orin Nano developer kit (JetPack 6.2, L4T R36.4.3) in 15W mode, clocks not pinned."""
    write(root, "/proc/device-tree/model", ORIN_NANO_MODEL + "\x00")
    write(
        root,
        "/proc/device-tree/compatible",
        "nvidia,p3768-0000+p3767-0005-super\x00nvidia,p3767-0005\x00nvidia,tegra234\x00",
    )
    write(root, "/proc/sys/kernel/arch", "aarch64\n")
    write(root, "/etc/nv_tegra_release", L4T_36_4_3)
    write(root, "/etc/nvpmodel.conf", NVPMODEL_CONF_NANO_SUPER)
    write(root, "/var/lib/nvpmodel/status", "pmode:0000 fmode:quiet\n")
    write(root, "/proc/cpuinfo", "".join(ORIN_CPUINFO_CORE.format(n=n) for n in range(6)))
    cpufreq(root, 6, "schedutil", 729600, 1510400, 1510400)
    thermal(root, {"cpu-thermal": 47.5, "gpu-thermal": 46.9, "soc0-thermal": 46.1, "tj-thermal": 47.5})
    write(root, "/sys/class/devfreq/17000000.gpu/cur_freq", "306000000\n")
    write(root, "/sys/class/devfreq/17000000.gpu/min_freq", "306000000\n")
    write(root, "/sys/class/devfreq/17000000.gpu/max_freq", "1020000000\n")
    ina3221_channels(
        root,
        "1-0040",
        1,
        {
            1: ("VDD_IN", 5008, 1000),
            2: ("VDD_CPU_GPU_CV", 4992, 96),
            3: ("VDD_SOC", 4992, 288),
        },
    )
    write(root, "/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/in7_label", "sum of shunt voltages\n")
    return root


def agx_orin(root: Path) -> Path:
    """A Jetson AGX Orin: two INA3221s, no VDD_IN channel, NC channels."""
    write(root, "/proc/device-tree/model", AGX_ORIN_MODEL + "\x00")
    write(root, "/proc/sys/kernel/arch", "aarch64\n")
    write(root, "/etc/nv_tegra_release", L4T_36_4_3)
    ina3221_channels(
        root, "1-0040", 2, {1: ("VDD_GPU_SOC", 5000, 800), 2: ("VDD_CPU_CV", 5000, 400), 3: ("VIN_SYS_5V0", 5000, 600)}
    )
    ina3221_channels(root, "1-0041", 3, {1: ("NC", 0, 0), 2: ("VDDQ_VDD2_1V8AO", 5000, 100), 3: ("NC", 0, 0)})
    return root


RPI5_CPUINFO_CORE = (
    "processor\t: {n}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp "
    "asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\n"
    "CPU part\t: 0xd0b\nCPU revision\t: 1\n\n"
)


def rpi5(root: Path) -> Path:
    """A Raspberry Pi 5 (BCM2712, 4x Cortex-A76) on Raspberry Pi OS bookworm: the device tree as the
    kernel exposes it (model, compatible, under /proc/device-tree and /sys/firmware/devicetree/base), the
    cpuinfo of its cores, cpufreq at Pi OS's default governor and its one thermal zone."""
    for base in ("/proc/device-tree", "/sys/firmware/devicetree/base"):
        write(root, f"{base}/model", RPI5_MODEL + "\x00")
        write(root, f"{base}/compatible", "raspberrypi,5-model-b\x00brcm,bcm2712\x00")
    write(root, "/proc/sys/kernel/arch", "aarch64\n")
    write(
        root,
        "/proc/cpuinfo",
        "".join(RPI5_CPUINFO_CORE.format(n=n) for n in range(4))
        + f"Revision\t: d04170\nSerial\t\t: 5d3b4ac4f2e6a1c9\nModel\t\t: {RPI5_MODEL}\n",
    )
    cpufreq(root, 4, "ondemand", 1500000, 2400000, 2400000)
    thermal(root, {"cpu-thermal": 48.3}, passive_c=80.0)
    return root


def rapl(root: Path, max_range_uj: int) -> Path:
    """One package domain with a core sub-domain (which must not be added: it is inside the package)."""
    pkg = root / "sys/class/powercap/intel-rapl:0"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "name").write_text("package-0\n")
    (pkg / "energy_uj").write_text("0\n")
    (pkg / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
    sub = root / "sys/class/powercap/intel-rapl:0:0"
    sub.mkdir(parents=True, exist_ok=True)
    (sub / "name").write_text("core\n")
    (sub / "energy_uj").write_text("0\n")
    (sub / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
    return root


# ------------------------------------------------------------------------------------- known power
class SinePower:
    """P(t) = mean + amplitude * sin(2 pi t / period), t in Unix seconds; exact integral."""

    def __init__(self, mean: float, amplitude: float, period_s: float) -> None:
        self.mean, self.amplitude, self.period = mean, amplitude, period_s

    def __call__(self, t: float) -> float:
        return self.mean + self.amplitude * math.sin(2 * math.pi * t / self.period)

    def energy(self, t0: float, t1: float) -> float:
        w = 2 * math.pi / self.period
        return self.mean * (t1 - t0) - self.amplitude / w * (math.cos(w * t1) - math.cos(w * t0))


class Driver(threading.Thread):
    """Calls ``step(now)`` every ``period_s`` until stopped (a board's sensor, updating its files)."""

    def __init__(self, step: Callable[[float], None], period_s: float = 0.005) -> None:
        super().__init__(daemon=True, name="fixture-driver")
        self.step, self.period_s = step, period_s
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.step(time.time())
            self.halt.wait(self.period_s)

    def __enter__(self) -> Driver:
        self.step(time.time())
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.halt.set()
        self.join()


def drive_ina3221(hwmon: Path, channel: int, power: Callable[[float], float], volts_mv: int = 5000) -> Driver:
    """Rewrite ``currN_input`` so that mV x mA / 1e6 equals ``power(now)``."""
    curr = hwmon / f"curr{channel}_input"
    replace(hwmon / f"in{channel}_input", f"{volts_mv}\n")
    return Driver(lambda now: replace(curr, f"{round(power(now) * 1e6 / volts_mv)}\n"))


def drive_rapl(root: Path, power: SinePower, max_range_uj: int, start: float) -> Driver:
    """``energy_uj`` = energy since ``start`` modulo the wrap point (the core sub-domain gets half)."""
    pkg = root / "sys/class/powercap/intel-rapl:0/energy_uj"
    core = root / "sys/class/powercap/intel-rapl:0:0/energy_uj"

    def step(now: float) -> None:
        uj = int(power.energy(start, now) * 1e6)
        replace(pkg, f"{uj % max_range_uj}\n")
        replace(core, f"{(uj // 2) % max_range_uj}\n")

    return Driver(step)


def drive_csv(path: Path, power: Callable[[float], float], period_s: float = 0.05) -> Driver:
    """A USB meter's logger: appends ``timestamp,watts`` rows (header first)."""
    path.write_text("timestamp,watts\n")

    def step(now: float) -> None:
        with path.open("a") as handle:
            handle.write(f"{now:.6f},{power(now):.6f}\n")

    return Driver(step, period_s)


# ------------------------------------------------------------------------------------ fake tools
def fake_tool(bin_dir: Path, name: str, body: str) -> Path:
    """An executable Python script standing in for a board tool (it prints the tool's real format)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


# ---------------------------------------------------------------------------- permission denied
@contextlib.contextmanager
def unreadable(path: Path) -> Iterator[None]:
    """Make ``path`` unreadable to this thread, as a root-only sysfs file is to a normal user.

    ``chmod 000`` does it for a normal user; root ignores mode bits through CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH, so for root those two are dropped from this thread's effective set (and
    restored after). Capabilities are per thread on Linux, so nothing else is affected.
    """
    mode = path.stat().st_mode
    path.chmod(0)
    dropped = None
    try:
        if os.geteuid() == 0:
            dropped = _drop_dac_caps()
        yield
    finally:
        if dropped is not None:
            _restore_caps(*dropped)
        path.chmod(mode)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_dac_caps():  # type: ignore[no-untyped-def]
    import pytest

    libc = ctypes.CDLL(None, use_errno=True)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        pytest.skip("capget failed: cannot make a file unreadable for root here")
    saved = [(d.effective, d.permitted, d.inheritable) for d in data]
    data[0].effective &= ~((1 << 1) | (1 << 2))  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    if libc.capset(ctypes.byref(header), data) != 0:
        pytest.skip("capset failed: cannot make a file unreadable for root here")
    return libc, header, saved


def _restore_caps(libc, header, saved) -> None:  # type: ignore[no-untyped-def]
    data = (_CapData * 2)()
    for d, (e, p, i) in zip(data, saved):
        d.effective, d.permitted, d.inheritable = e, p, i
    libc.capset(ctypes.byref(header), data)
