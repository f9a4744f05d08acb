"""The carry-on flow on an emulated Raspberry Pi 5 (tests/support/emulated_board.py).

`edgeq prepare --target rpi5` here -> `edgeq run` on a Debian 12 arm64 userland under qemu-aarch64
(QEMU_CPU=cortex-a76, the Pi 5's core), installed with exactly README.md's board install commands and
made a Pi 5 for detection by a fixture tree as EDGEQ_SYSROOT -> `edgeq import` here. Every job must be
ok, flagged emulated (detected by the run side), and score exactly as the x86 build of the same
artifacts does: the same bundle is also run here (`--override-target`) and the two sets of records are
compared job by job, item by item (the packed correctness bits).

Needs root, qemu-user-static, debootstrap and the network (Debian's mirror, PyPI): skipped with the
reason where they are missing, failed under CI=true. `make board-test BOARD=rpi5` runs it alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import boards
from tests.support.emulated_board import BOARDS, REPO, BoardUnavailable, build_wheel, check_host, chroot_run, rootfs

pytestmark = [pytest.mark.board, pytest.mark.slow]
BOARD = BOARDS[os.environ.get("EDGEQ_BOARD", "rpi5")]
# (bundle, task, methods, --limit): every method the issue names; --limit keeps emulation to minutes.
BUNDLES = [
    ("digits", "digits-cnn", "fp32,ptq-static,dynamic,tflite-fp32,tflite-int8", 360),
    ("resnet", "mnist5k-resnet", "fp32,ptq-static", 200),
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"board test cannot run in CI: {reason}")
    pytest.skip(reason)


def edgeq(*args: str, env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, "-m", "suite", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, (
        f"edgeq {' '.join(args)}: exit {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    )
    return out


def results(tarball: Path) -> dict[str, dict[str, Any]]:
    """The records of a results tarball, by job id."""
    records = {}
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".json") and not member.name.endswith("edgeq-results.json"):
                record = json.load(tar.extractfile(member))  # type: ignore[arg-type]
                records[record["job_id"]] = record
    return records


@pytest.fixture(scope="module")
def board_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    try:
        check_host(BOARD)
    except BoardUnavailable as exc:
        _unavailable(str(exc))
    wheel = build_wheel(tmp_path_factory.mktemp("wheel"))
    log = tmp_path_factory.mktemp("board-log") / "install.log"
    try:
        return rootfs(BOARD, wheel, log=log), wheel
    except (OSError, subprocess.CalledProcessError) as exc:  # e.g. no route to the Debian mirror
        _unavailable(f"could not build the {BOARD.name} root filesystem: {exc}")
        raise


def test_carry_on_flow_on_an_emulated_board(board_tree: tuple[Path, Path], tmp_path: Path) -> None:
    root, wheel = board_tree
    shared = tmp_path / "shared"  # bound at /work on the board
    shared.mkdir()
    (shared / wheel.name).write_bytes(wheel.read_bytes())
    boards.rpi5(shared / "sysroot")
    host_env = {"EDGEQ_RESULTS_DIR": str(tmp_path / "workstation"), "EDGEQ_SYSROOT": "/"}
    x86_env = {"EDGEQ_RESULTS_DIR": str(tmp_path / "x86"), "EDGEQ_SYSROOT": "/"}

    x86: dict[str, dict[str, Any]] = {}
    board_script = [
        f"~/edgeq/bin/pip install --quiet --no-deps --force-reinstall /work/{wheel.name}",
        # A wheel install has no hardware/ folder (profiles travel in the bundle): doctor stops at the
        # profile with exit 2, after the machine lines this test reads.
        "~/edgeq/bin/edgeq doctor > /work/doctor.txt 2>&1 || true",
    ]
    for name, task, methods, limit in BUNDLES:
        bundle = shared / f"{name}.tar"
        edgeq(
            "prepare",
            "--target",
            BOARD.name,
            "--tasks",
            task,
            "--methods",
            methods,
            "--quick",
            "--limit",
            str(limit),
            "-o",
            str(bundle),
            env=host_env,
        )
        edgeq("run", str(bundle), "--override-target", "-o", str(tmp_path / f"x86-{name}.tar"), env=x86_env)
        x86.update(results(tmp_path / f"x86-{name}.tar"))
        board_script.append(f"~/edgeq/bin/edgeq run /work/{name}.tar -o /work/{name}-results.tar")

    started = time.monotonic()
    env = {"EDGEQ_SYSROOT": "/work/sysroot", "EDGEQ_RESULTS_DIR": "/work/board-results"}
    out = chroot_run(
        BOARD,
        root,
        "export " + " ".join(f"{k}={v}" for k, v in env.items()) + "\n" + "\n".join(board_script),
        upper=tmp_path / "overlay",
        binds={shared: "/work"},
        env=None,
        timeout=3600,
    )
    board_s = time.monotonic() - started
    assert out.returncode == 0, (
        f"edgeq run on the emulated {BOARD.name} failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    )

    doctor = (shared / "doctor.txt").read_text()
    assert f"emulated: qemu-aarch64 (CPU {BOARD.qemu_cpu}, on a x86_64 host)" in doctor, doctor
    assert f"device-tree model {boards.RPI5_MODEL!r}" in doctor, doctor

    on_board: dict[str, dict[str, Any]] = {}
    for name, *_ in BUNDLES:
        tarball = shared / f"{name}-results.tar"
        on_board.update(results(tarball))
        edgeq("import", str(tarball), "--no-mlflow", env=host_env)
    print(f"emulated {BOARD.name}: edgeq run of {len(on_board)} jobs took {board_s:.0f} s")

    wanted = {(task, m) for _, task, methods, _ in BUNDLES for m in methods.split(",")}
    assert {(r["task"]["name"], r["method"]["name"]) for r in on_board.values()} == wanted
    differences = []
    for job_id, record in sorted(on_board.items()):
        label = f"{record['task']['name']}/{record['method']['name']}"
        assert record["status"] == "ok", f"{label}: {record.get('error')}"
        environment = record["environment"]
        assert environment["emulated"] == "qemu-aarch64", label
        assert environment["emulation"]["cpu"] == BOARD.qemu_cpu, label
        assert (
            environment["cpu"]["arch"] == "aarch64" and environment["board"]["device_tree_model"] == boards.RPI5_MODEL
        )
        assert record["dispatch"]["via"] == "bundle"
        reference = x86[job_id]
        assert reference["status"] == "ok" and reference["environment"]["emulated"] is None
        assert record["artifact"]["sha256"] == reference["artifact"]["sha256"], label
        if record["accuracy"]["correct"] != reference["accuracy"]["correct"]:
            differences.append(
                f"{label}: top-1 {record['accuracy']['top1']} on the board vs {reference['accuracy']['top1']} on x86"
            )
    assert not differences, "the Arm build scored differently from x86 on the same artifacts:\n" + "\n".join(
        differences
    )

    imported = list((tmp_path / "workstation" / "records" / BOARD.name).rglob("*.json"))
    assert {json.loads(p.read_text())["job_id"] for p in imported} >= set(on_board)
    assert all(json.loads(p.read_text())["environment"]["emulated"] == "qemu-aarch64" for p in imported)
