"""Is this process running under QEMU user-mode emulation? Detected from the kernel, never declared.

An Arm userland run on an x86 machine through ``qemu-aarch64`` (binfmt_misc) computes with the Arm
builds of every library, so its accuracy is the board's; its timing is that of a translator and means
nothing. Records say so (``environment.emulated``) so that tables never rank such timing.

QEMU user mode translates system calls but not the kernel's view of the machine: ``uname`` and
``/proc/self/auxv`` are the guest's, while ``/proc/cpuinfo`` is read from the host kernel and still
describes the host CPU. So the evidence is a mismatch between the architecture this interpreter was
built for and the architecture the kernel's cpuinfo describes; ``/proc/self/maps`` naming a
``qemu-*`` binary (older QEMUs show it) and an enabled binfmt_misc entry for the interpreter's
architecture are recorded as supporting evidence. These files are read from the real ``/proc`` and
``/proc/sys/fs/binfmt_misc``, never under ``EDGEQ_SYSROOT``: a board's fixture tree describes the board
being imitated, not the process.

The emulated CPU is ``QEMU_CPU`` when set (QEMU reads it), else QEMU's default (``max``); its features
come from the auxiliary vector's ``AT_HWCAP``/``AT_HWCAP2``, which QEMU fills from the CPU it emulates.
The vector is decoded here with ``struct`` because no library exposes it (Python has
``os.confstr``/``sysconf`` but no ``getauxval``); the bit names are those of the kernel's
``arch/arm64/include/uapi/asm/hwcap.h``.
"""

from __future__ import annotations

import os
import platform
import re
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any

AT_HWCAP, AT_HWCAP2 = 16, 26
# arch/arm64/include/uapi/asm/hwcap.h, bit -> name as /proc/cpuinfo's Features line spells it.
ARM64_HWCAP = (
    "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop "
    "sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg"
).split()
ARM64_HWCAP2 = (
    "dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm svef32mm svef64mm svebf16 "
    "i8mm bf16 dgh rng bti mte ecv afp rpres"
).split()
# Interpreter architecture -> the QEMU user-mode binary that would run it.
QEMU_NAMES = {"aarch64": "qemu-aarch64", "arm64": "qemu-aarch64", "armv7l": "qemu-arm", "riscv64": "qemu-riscv64"}


def cpuinfo_arch(text: str) -> str | None:
    """The architecture family ``/proc/cpuinfo`` describes: x86 (vendor_id/flags), arm (CPU implementer), else None."""
    if re.search(r"^vendor_id\s*:", text, flags=re.M) or re.search(r"^flags\s*:.*\bsse2\b", text, flags=re.M):
        return "x86_64"
    if re.search(r"^CPU implementer\s*:", text, flags=re.M):
        return "aarch64"
    if re.search(r"^isa\s*:\s*rv64", text, flags=re.M):
        return "riscv64"
    return None


def _family(arch: str) -> str:
    arch = arch.lower()
    if arch in ("aarch64", "arm64") or arch.startswith("armv"):
        return "aarch64"
    if arch in ("x86_64", "amd64", "i686", "i386"):
        return "x86_64"
    return arch


def auxv_hwcaps(raw: bytes) -> list[str]:
    """Feature names of an arm64 auxiliary vector (pairs of native unsigned longs, AT_NULL-terminated)."""
    hwcap = hwcap2 = 0
    pair = struct.calcsize("@LL")
    for key, value in struct.iter_unpack("@LL", raw[: len(raw) // pair * pair]):
        if key == AT_HWCAP:
            hwcap = value
        elif key == AT_HWCAP2:
            hwcap2 = value
        elif key == 0:
            break
    names = [name for bit, name in enumerate(ARM64_HWCAP) if hwcap >> bit & 1]
    return names + [name for bit, name in enumerate(ARM64_HWCAP2) if hwcap2 >> bit & 1]


def detect(
    machine: str,
    cpuinfo: str,
    maps: str = "",
    binfmt_entries: dict[str, str] | None = None,
    qemu_cpu: str | None = None,
    auxv: bytes = b"",
) -> dict[str, Any] | None:
    """``{emulator, cpu, cpu_source, host_arch, evidence, features}`` when emulated, else None.

    ``machine`` is the interpreter's ``platform.machine()``; the other arguments are the contents of
    /proc/cpuinfo, /proc/self/maps, the binfmt_misc entries (name -> text) and /proc/self/auxv.
    """
    guest = _family(machine)
    host = cpuinfo_arch(cpuinfo)
    evidence = []
    if host is not None and host != guest:
        evidence.append(f"/proc/cpuinfo describes a {host} CPU under a {guest} interpreter")
    mapped = sorted(set(re.findall(r"/\S*qemu-[\w.-]+", maps)))
    if mapped:
        evidence.append(f"/proc/self/maps maps {', '.join(mapped)}")
    if not evidence:
        return None
    emulator = QEMU_NAMES.get(machine.lower(), f"qemu-{guest}")
    entry = (binfmt_entries or {}).get(emulator)
    if entry is not None and entry.startswith("enabled"):
        interpreter = re.search(r"^interpreter\s+(\S+)", entry, flags=re.M)
        evidence.append(f"binfmt_misc {emulator} enabled ({interpreter.group(1) if interpreter else '?'})")
    return {
        "emulator": emulator,
        "cpu": qemu_cpu or "max",
        "cpu_source": "QEMU_CPU" if qemu_cpu else "QEMU's default",
        "host_arch": host,
        "evidence": evidence,
        "features": auxv_hwcaps(auxv) if guest == "aarch64" else [],
    }


def _read(path: str, binary: bool = False) -> Any:
    try:
        return Path(path).read_bytes() if binary else Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return b"" if binary else ""


def _binfmt_entries() -> dict[str, str]:
    base = Path("/proc/sys/fs/binfmt_misc")
    try:
        return {p.name: _read(str(p)) for p in base.glob("qemu-*")}
    except OSError:
        return {}


@lru_cache(maxsize=1)
def emulation() -> dict[str, Any] | None:
    """This process's emulation (see ``detect``), read once from the real /proc."""
    return detect(
        machine=platform.machine(),
        cpuinfo=_read("/proc/cpuinfo"),
        maps=_read("/proc/self/maps"),
        binfmt_entries=_binfmt_entries(),
        qemu_cpu=os.environ.get("QEMU_CPU") or None,
        auxv=_read("/proc/self/auxv", binary=True),
    )


def record_fields() -> dict[str, Any]:
    """``environment.emulated`` (``"qemu-aarch64"`` or None) and ``environment.emulation`` (the details)."""
    found = emulation()
    return {"emulated": found["emulator"] if found else None, "emulation": found}
