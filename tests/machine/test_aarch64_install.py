"""What installs on an Arm board, proven with pip's own resolver for aarch64 (no Arm machine needed).

- The board install (the `device` extra and ai-edge-litert) on a Raspberry Pi (CPython 3.11, Debian 12's
  glibc 2.36) with the lock's versions, and on JetPack 6 (Ubuntu 22.04: CPython 3.10, glibc 2.35) with
  the extra's ranges (the lock pins numpy 2.4, which needs 3.11): every package an aarch64 wheel, except
  LoadGen, which PyPI has only as source (the README's board install brings g++ and python3-dev for it;
  the emulated board test builds it).
- `make setup` on aarch64: every pin of the lock as the Makefile rewrites it there (`make arch-lock`)
  has an aarch64 wheel or is one of a known list of source distributions.
- The run side's syntax, imports and library calls are valid on Python 3.10 (vermin).

The resolutions need PyPI: skipped without it, failed under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[2]
PIP = [sys.executable, "-m", "pip"]
# Source-only pins of the lock on aarch64 (measured with this test): LoadGen and onnxoptimizer build
# with a C++ compiler (onnxoptimizer also needs cmake and protobuf), coremltools (executorch's) too;
# antlr4's runtime is pure Python; llama-cpp-python is source-only on every platform (`make llamacpp` builds
# it, never `make setup`).
SDIST_ON_AARCH64 = {"antlr4-python3-runtime", "coremltools", "llama-cpp-python", "mlcommons-loadgen", "onnxoptimizer"}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason)
    pytest.skip(reason)


def aarch64_platforms(glibc_minor: int) -> list[str]:
    """pip's --platform list for a glibc 2.<minor> aarch64 machine (pip does not expand one tag to older ones)."""
    tags = [f"manylinux_2_{minor}_aarch64" for minor in range(17, glibc_minor + 1)] + ["manylinux2014_aarch64"]
    return [arg for tag in tags for arg in ("--platform", tag)]


def resolve(tmp_path: Path, python: str, glibc_minor: int, args: list[str]) -> list[dict]:
    report = tmp_path / f"report-{python}.json"
    out = subprocess.run(
        [*PIP, "install", "--dry-run", "--quiet", "--ignore-installed", "--report", str(report)]
        + ["--python-version", python, *aarch64_platforms(glibc_minor), *args],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if out.returncode != 0 and any(
        s in out.stderr for s in ("NewConnectionError", "Could not fetch URL", "Network is unreachable")
    ):
        _unavailable(f"PyPI is not reachable: {out.stderr.strip().splitlines()[-1]}")
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(report.read_text())["install"]


def device_requirements() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return project["optional-dependencies"]["device"]


def wheel_name(item: dict) -> str:
    return item["download_info"]["url"].rsplit("/", 1)[-1]


def name_of(item: dict) -> str:
    return item["metadata"]["name"].lower().replace("_", "-")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("python", "glibc_minor", "use_lock"),
    [("3.11", 36, True), ("3.10", 35, False)],
    ids=["raspberry-pi-os-bookworm", "jetpack-6"],
)
def test_device_extra_and_litert_resolve_to_aarch64_wheels(
    tmp_path: Path, python: str, glibc_minor: int, use_lock: bool
):
    requirements = [r for r in device_requirements() if not r.startswith("mlcommons-loadgen")] + ["ai-edge-litert"]
    lock = ["-c", str(REPO / "constraints.txt")] if use_lock else []
    installed = resolve(tmp_path, python, glibc_minor, ["--only-binary=:all:", *lock, *requirements])
    names = {name_of(i) for i in installed}
    assert {"numpy", "onnxruntime", "ai-edge-litert", "pydantic", "pyyaml"} <= names
    for item in installed:
        wheel = wheel_name(item)
        assert wheel.endswith(".whl") and ("aarch64" in wheel or wheel.endswith("-any.whl")), wheel
    # LoadGen: a source distribution only, for any CPython, of the version the lock pins.
    loadgen = [r for r in device_requirements() if r.startswith("mlcommons-loadgen")]
    source = resolve(tmp_path, python, glibc_minor, ["--no-deps", "--no-binary=:all:", *lock, *loadgen])
    assert [wheel_name(i).endswith(".tar.gz") for i in source] == [True], source


@pytest.mark.slow
def test_the_lock_as_make_setup_uses_it_on_aarch64(tmp_path: Path):
    if shutil.which("make") is None:
        _unavailable("make is missing")
    subprocess.run(["make", "-s", "arch-lock", "MACHINE=aarch64", f"VENV={tmp_path}"], cwd=REPO, check=True)
    arch_lock = (tmp_path / "constraints-aarch64.txt").read_text()
    assert "torch==2.13.0\n" in arch_lock and "+cpu" not in arch_lock
    pins = tmp_path / "pins.txt"
    pins.write_text("".join(line + "\n" for line in arch_lock.splitlines() if line and line[0].isalnum()))
    installed = resolve(
        tmp_path, "3.11", 36, ["--no-deps", "--prefer-binary", "--platform", "linux_aarch64", "-r", str(pins)]
    )
    assert len(installed) == len(pins.read_text().splitlines())
    not_wheels = {name_of(i) for i in installed if not wheel_name(i).endswith(".whl")}
    assert not_wheels == SDIST_ON_AARCH64
    wrong_arch = [
        wheel_name(i)
        for i in installed
        if wheel_name(i).endswith(".whl") and not ("aarch64" in wheel_name(i) or wheel_name(i).endswith("-any.whl"))
    ]
    assert not wrong_arch


RUN_SIDE = ["suite"]


def test_run_side_is_valid_python_3_10(tmp_path: Path):
    """vermin checks syntax, standard-library modules and calls by the version that introduced them."""
    vermin = shutil.which("vermin", path=str(Path(sys.executable).parent))
    if vermin is None:
        _unavailable("vermin is missing (it is in the dev extra: make setup)")
    command = [vermin, "-t=3.10-", "--violations", "--no-tips", "--eval-annotations"]
    out = subprocess.run([*command, *RUN_SIDE], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    # The same check catches what 3.10 lacks.
    newer = tmp_path / "newer.py"
    newer.write_text("import tomllib\n\ntry:\n    pass\nexcept* ValueError:\n    pass\n")
    out = subprocess.run([*command, str(newer)], capture_output=True, text=True)
    assert out.returncode != 0 and "tomllib" in out.stdout and "except*" in out.stdout, out.stdout
