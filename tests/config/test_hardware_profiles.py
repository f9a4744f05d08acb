"""Hardware profiles: every shipped file validates, detection reads the board through EDGEQ_SYSROOT,
the ``jetson`` alias resolves to the Orin module present, a mismatch stops with one line (exit 2),
pre-flight says what to fix, throttle checks, the environment fingerprint, ``edgeq doctor``.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from suite.config.schemas import PreflightSpec
from suite.errors import BadInput
from suite.job.checks import validate_file
from suite.machine import boards as board_state
from suite.machine import preflight
from suite.machine.target import load_target
from suite.paths import HARDWARE_DIR
from tests.conftest import REPO, edgeq
from tests.support import boards


@pytest.fixture
def sysroot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("EDGEQ_SYSROOT", str(root))
    return root


def _registered(name: str) -> bool:
    from suite.registry import runtimes

    return name in runtimes


@pytest.mark.parametrize("path", sorted(HARDWARE_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_profile_validates(path: Path) -> None:
    text = path.read_text()
    if "name: litert" in text and not _registered("litert"):
        pytest.skip("the litert runtime is not registered yet (it belongs to the methods/LiteRT work)")
    assert validate_file(path) in ("hardware profile", "hardware alias")


def test_required_profiles_exist() -> None:
    names = {p.stem for p in HARDWARE_DIR.glob("*.yaml")}
    assert {
        "local-cpu",
        "jetson",
        "jetson-orin-nano",
        "jetson-agx-orin",
        "rpi5",
        "rpi4",
        "coral-usb",
        "x86-server",
        "nvidia-gpu",
    } <= names


def test_bad_system_field_and_bad_sensor_name(tmp_path: Path) -> None:
    base = (HARDWARE_DIR / "local-cpu.yaml").read_text()
    bad = tmp_path / "typo.yaml"
    bad.write_text(base.replace("system_name:", "sytem_name:"))
    with pytest.raises(BadInput, match=r"typo.yaml: unknown key 'system.sytem_name'"):
        validate_file(bad)
    bad.write_text(base.replace("power: [external, rapl, none]", "power: [{name: ina3222}]"))
    with pytest.raises(BadInput, match="power.0: unknown"):
        validate_file(bad)


# ------------------------------------------------------------------------------------- detection
def test_detection_reads_the_emulated_orin_nano(sysroot: Path) -> None:
    from suite.machine.detect import machine, match

    boards.orin_nano(sysroot)
    m = machine()
    assert m.arch == "aarch64" and m.device_tree_model == boards.ORIN_NANO_MODEL  # NUL stripped
    assert m.l4t == {"release": "R36", "revision": "4.3", "version": "36.4.3", "board": "generic", "eabi": "aarch64"}
    assert "asimddp" in m.cpu_flags
    nano, agx = load_target("jetson-orin-nano"), load_target("jetson-agx-orin")
    assert match(nano.config.detect, m).matched
    result = match(agx.config.detect, m)
    assert not result.matched and "AGX Orin" in result.expected[0]


def test_jetson_alias_resolves_to_the_module_present(sysroot: Path) -> None:
    boards.orin_nano(sysroot)
    loaded = load_target("jetson")
    assert loaded.config.name == "jetson-orin-nano" and loaded.alias == "jetson"
    for f in sysroot.rglob("*"):
        if f.is_file() and f.name == "model":
            f.write_text(boards.AGX_ORIN_MODEL + "\x00")
    assert load_target("jetson").config.name == "jetson-agx-orin"


def test_rpi5_and_gpu_detection(sysroot: Path) -> None:
    from suite.machine.detect import machine, match

    boards.rpi5(sysroot)
    assert match(load_target("rpi5").config.detect).matched
    assert not match(load_target("rpi4").config.detect).matched
    info = sysroot / "proc/driver/nvidia/gpus/0000:01:00.0/information"
    info.parent.mkdir(parents=True)
    info.write_text("Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 123\nGPU UUID: \t GPU-0000\n")
    assert machine().gpu_names == ["NVIDIA H100 80GB HBM3"]


def test_mismatch_stops_with_one_line_and_exit_2() -> None:
    """On this x86 machine (no device tree, no L4T), TARGET=jetson is refused with what was expected."""
    proc = edgeq("bench", "--target", "jetson", "--quick", "--no-mlflow", env={"EDGEQ_SYSROOT": "/"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    line = lines[0]
    assert "target 'jetson' does not match this machine" in line
    assert "jetson-orin-nano" in line and "'Orin Nano'" in line and "--override-target" in line


def test_override_is_recorded(sysroot: Path) -> None:
    from suite.job.plan import plan
    from suite.job.request import SweepRequest

    jobs = plan(
        load_target("rpi5" if _registered("litert") else "jetson-orin-nano"),
        SweepRequest(methods=("fp32",), override_target=True, quick=True),
    ).jobs
    assert jobs and all(j.target_override and not j.target_matched for j in jobs)


# -------------------------------------------------------------------------- pre-flight, throttle
def test_preflight_names_the_fix(sysroot: Path) -> None:
    boards.orin_nano(sysroot)
    spec = PreflightSpec(governor="performance", nvpmodel="MAXN_SUPER", jetson_clocks=True, max_start_temp_c=40)
    checks = {c.name: c for c in preflight.check(spec, wait=False)}
    assert checks["nvpmodel"].found == "15W (mode 0)" and checks["nvpmodel"].fix == "sudo nvpmodel -m 2"
    assert not checks["jetson_clocks"].ok and checks["jetson_clocks"].fix == "sudo jetson_clocks"
    assert not checks["cpu governor"].ok and "schedutil" in checks["cpu governor"].found
    assert not checks["start temperature"].ok and "47.5" in checks["start temperature"].found
    boards.cpufreq(sysroot, 6, "performance", 1510400, 1510400, 1510400)
    (sysroot / "sys/class/devfreq/17000000.gpu/min_freq").write_text("1020000000\n")
    (sysroot / "var/lib/nvpmodel/status").write_text("pmode:0002 fmode:quiet\n")
    checks = {c.name: c for c in preflight.check(spec, wait=False)}
    assert checks["nvpmodel"].ok and checks["jetson_clocks"].ok and checks["cpu governor"].ok


def test_rpi_get_throttled_bits() -> None:
    assert board_state.parse_get_throttled("throttled=0x50005\n") == 0x50005
    assert board_state.throttle_flags(0x50005) == [
        "under-voltage",
        "currently throttled",
        "under-voltage has occurred",
        "throttling has occurred",
    ]
    # Bits that were already set before the window do not condemn it; current ones and new ones do.
    assert preflight.compare({"rpi_get_throttled": 0x50000}, {"rpi_get_throttled": 0x50000}) == []
    reasons = preflight.compare({"rpi_get_throttled": 0x0}, {"rpi_get_throttled": 0x40000})
    assert reasons and "throttling has occurred" in reasons[0]
    assert preflight.compare({"rpi_get_throttled": 0x0}, {"rpi_get_throttled": 0x4})


def test_thermal_trip_and_frequency_cap(sysroot: Path) -> None:
    boards.orin_nano(sysroot)
    before = preflight.snapshot(["thermal_trip", "cpu_freq_cap"])
    assert preflight.compare(before, before) == []
    (sysroot / "sys/class/thermal/thermal_zone0/temp").write_text("96500\n")
    for n in range(6):
        (sysroot / f"sys/devices/system/cpu/cpu{n}/cpufreq/scaling_max_freq").write_text("1113600\n")
    reasons = preflight.compare(before, preflight.snapshot(["thermal_trip", "cpu_freq_cap"]))
    assert any("passive trip point" in r and "cpu-thermal 96.5" in r for r in reasons)
    assert any("1510400 -> 1113600" in r for r in reasons)


def test_environment_fingerprint_has_l4t_and_power_mode(sysroot: Path) -> None:
    from suite.machine.envinfo import board_state as env_board

    boards.orin_nano(sysroot)
    env = env_board()
    assert env["board"]["l4t"]["version"] == "36.4.3" and env["board"]["jetpack"] == "6.2"
    assert env["power_mode"] == {"id": 0, "name": "15W"}
    assert env["jetson_clocks"] == {"cpu_pinned": False, "gpu_pinned": False, "pinned": False}


# ---------------------------------------------------------------------------------------- doctor
def test_doctor_on_the_emulated_orin_nano(sysroot: Path) -> None:
    boards.orin_nano(sysroot)
    proc = edgeq("doctor", env={"EDGEQ_SYSROOT": str(sysroot)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert boards.ORIN_NANO_MODEL in out and "L4T 36.4.3 (JetPack 6.2)" in out
    assert "profiles matching this machine: jetson-orin-nano" in out
    assert "fallback: TensorrtExecutionProvider, CUDAExecutionProvider not in this onnxruntime build" in out
    assert re.search(r"ina3221 +available \(boundary module_input", out), out
    assert "power from: ina3221 (module_input)" in out
    assert "WARN jetson_clocks" in out and "sudo jetson_clocks" in out


def test_doctor_here_loads_no_framework_and_explains_sensors() -> None:
    """What keeps ``edgeq doctor`` quick on a board: it reads files and asks runtimes, and never imports
    torch, TensorFlow, mlflow or pandas (seconds each). Checked on the modules it loaded, not by a clock."""
    code = (
        "import sys\n"
        "from suite.cli.main import run\n"
        "code = run(['doctor', '--target', 'local-cpu'])\n"
        "print('loaded:', sorted(m for m in ('torch', 'tensorflow', 'mlflow', 'pandas') if m in sys.modules))\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, "EDGEQ_SYSROOT": "/"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "loaded: []" in proc.stdout, proc.stdout
    assert "target local-cpu" in proc.stdout and "runtimes (in profile order):" in proc.stdout
    assert re.search(r"external +unavailable: no meter configured", proc.stdout), proc.stdout
    proc = edgeq("doctor", "--target", "no-such-board", timeout=120)
    assert proc.returncode == 2 and "unknown target 'no-such-board'" in proc.stderr


def test_preflight_stop_refuses_before_any_job(sysroot: Path, tmp_path: Path) -> None:
    """``on_fail: stop``: a board in the wrong state stops the sweep with the fix in the one line."""
    from rich.console import Console

    from suite.machine.doctor import bench_preamble
    from suite.runtimes.base import label_of as runtime_label

    boards.orin_nano(sysroot)
    text = (
        (HARDWARE_DIR / "jetson-orin-nano.yaml")
        .read_text()
        .replace("  cooldown_wait_s: 120\n", "  cooldown_wait_s: 120\n  on_fail: stop\n")
    )
    strict = tmp_path / "strict-nano.yaml"
    strict.write_text(text)
    loaded = load_target(str(strict))
    with pytest.raises(
        BadInput, match=r"preflight: jetson_clocks: expected pinned, found not pinned .*fix: sudo jetson_clocks"
    ):
        bench_preamble(loaded, Console(file=io.StringIO()))
    labels = [runtime_label(r.model_dump()) for r in load_target("nvidia-gpu").config.runtimes]
    assert labels == ["torch float32", "torch float16", "torch bfloat16", "ort"]
    assert [runtime_label(r.model_dump()) for r in load_target("jetson-agx-orin").config.runtimes] == [
        "ort",
        "ort DLA0",
    ]
