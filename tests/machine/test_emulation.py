"""Emulation is detected from the kernel's files (suite/machine/emulation.py), never declared.

The auxiliary vector below was read by an arm64 Python 3.11 under qemu-aarch64 7.2 (Debian 12's
qemu-user-static) with QEMU_CPU=cortex-a76 on the x86 development VM; the end-to-end proof is the board
test (tests/machine/test_board.py), whose records come back flagged.
"""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from suite.machine import emulation
from tests.support import boards

AUXV_A76 = bytes.fromhex(
    (Path(__file__).parents[1] / "support/data/emulation/auxv-qemu-7.2-cortex-a76.hex").read_text()
)
X86_CPUINFO = (
    "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 207\n"
    "model name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 sse sse2 avx2 avx512f\n\n"
)
PI5_CPUINFO = "".join(boards.RPI5_CPUINFO_CORE.format(n=n) for n in range(4))
BINFMT_ENTRY = (
    "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\n"
    "magic 7f454c460201010000000000000000000200b700\n"
)


def test_arm_interpreter_over_x86_cpuinfo_is_qemu_with_the_emulated_cpu():
    found = emulation.detect(
        "aarch64", X86_CPUINFO, binfmt_entries={"qemu-aarch64": BINFMT_ENTRY}, qemu_cpu="cortex-a76", auxv=AUXV_A76
    )
    assert found is not None
    assert found["emulator"] == "qemu-aarch64" and found["cpu"] == "cortex-a76" and found["host_arch"] == "x86_64"
    assert found["evidence"][0] == "/proc/cpuinfo describes a x86_64 CPU under a aarch64 interpreter"
    assert "binfmt_misc qemu-aarch64 enabled (/usr/libexec/qemu-binfmt/aarch64-binfmt-P)" in found["evidence"]
    # QEMU's cortex-a76 has the Pi 5's features (its cpuinfo's Features line, less the kernel's evtstrm): no SVE, no i8mm.
    pi5_features = set(boards.RPI5_CPUINFO_CORE.split("Features\t: ")[1].split("\n")[0].split()) - {"evtstrm"}
    assert set(found["features"]) == pi5_features


def test_default_cpu_is_named_as_qemus_default():
    found = emulation.detect("aarch64", X86_CPUINFO)
    assert found is not None and found["cpu"] == "max" and found["cpu_source"] == "QEMU's default"


def test_native_machines_are_not_emulated():
    assert emulation.detect("aarch64", PI5_CPUINFO, binfmt_entries={"qemu-aarch64": BINFMT_ENTRY}) is None
    assert emulation.detect("x86_64", X86_CPUINFO, binfmt_entries={"qemu-aarch64": BINFMT_ENTRY}) is None
    # An older QEMU that shows itself in the guest's maps is caught even where cpuinfo is emulated.
    maps = "5500000000-5500001000 r-xp 00000000 08:01 42 /usr/bin/qemu-aarch64-static\n"
    assert emulation.detect("aarch64", PI5_CPUINFO, maps=maps)["evidence"] == [
        "/proc/self/maps maps /usr/bin/qemu-aarch64-static"
    ]


def test_this_process_and_a_board_sysroot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Detection reads the real /proc: a Pi 5 fixture tree as EDGEQ_SYSROOT does not make x86 'emulated'."""
    from suite.machine.envinfo import environment

    boards.rpi5(tmp_path)
    monkeypatch.setenv("EDGEQ_SYSROOT", str(tmp_path))
    emulation.emulation.cache_clear()
    env = environment()
    native = platform.machine() == emulation.cpuinfo_arch(Path("/proc/cpuinfo").read_text())
    assert (env["emulated"] is None) is native
    assert env["board"]["device_tree_model"] == boards.RPI5_MODEL
