"""Carry-on bundles through the real CLI: ``edgeq prepare`` here, ``edgeq run`` in a fresh virtual
environment that has only ``edgeq[device]`` installed (no torch, TensorFlow, mlflow or pandas), then
``edgeq import`` back here, twice, into MLflow and the leaderboard.

The device environment is a clean ``python -m venv`` (no system site-packages) into which pip installs a
wheel of this tree with the ``device`` extra: what a Raspberry Pi or a Jetson would do.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from suite.records.store import SCHEMA
from tests.conftest import REPO, edgeq

pytestmark = pytest.mark.slow

METHODS = ["fp32", "ptq-static"]
LIMIT = 120
PREPARE_SIDE = ("torch", "tensorflow", "mlflow", "pandas", "sklearn", "onnx")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path):  # type: ignore[no-untyped-def]
    """A bundle of digits-cnn fp32 + ptq-static for local-cpu, prepared on this 'workstation'."""
    base = tmp_path_factory.mktemp("bundle")
    env = {"EDGEQ_RESULTS_DIR": str(base / "workstation"), "EDGEQ_CACHE_DIR": str(shared_cache)}
    path = base / "digits.tar"
    out = edgeq(
        "prepare",
        "--target",
        "local-cpu",
        "--tasks",
        "digits-cnn",
        "--methods",
        ",".join(METHODS),
        "--runtimes",  # the device venv has ONNX Runtime only (fp32 and ptq-static would also plan on openvino)
        "ort",
        "--quick",
        "--limit",
        str(LIMIT),
        "-o",
        str(path),
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return path, env, out


def _device_env(venv: Path, results: Path) -> dict[str, str]:
    """A clean environment for the device: its own venv first on PATH, no PYTHONPATH, pip's settings kept."""
    keep = {k: v for k, v in os.environ.items() if k.startswith(("PIP_", "LANG", "LC_")) or k in ("HOME", "TMPDIR")}
    return {
        **keep,
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "EDGEQ_RESULTS_DIR": str(results),
        "EDGEQ_CACHE_DIR": str(results / "cache"),
    }


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A fresh venv with ``edgeq[device]`` from a wheel of this tree (built from a copy: no build/ here)."""
    base = tmp_path_factory.mktemp("device")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "suite", src / "suite", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = base / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(wheels.glob("edgeq-*.whl"))
    venv = base / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    env = _device_env(venv, base / "results")
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"edgeq[device] @ {wheel.as_uri()}"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]
    return venv, env, base


@pytest.fixture(scope="module")
def device_run(bundle, device):  # type: ignore[no-untyped-def]
    """``edgeq run`` of the bundle on the 'device' (its venv, its own results root, outside the repo)."""
    bundle_path = bundle[0]
    venv, env, base = device
    results_tar = base / "local-cpu-results.tar"
    out = subprocess.run(
        [str(venv / "bin" / "edgeq"), "run", str(bundle_path), "-o", str(results_tar)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=base,
    )
    return results_tar, out, env, base


def test_device_venv_has_only_the_run_side(device) -> None:  # type: ignore[no-untyped-def]
    venv, env, _ = device
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.util, json, sys; "
            f"print(json.dumps({{m: importlib.util.find_spec(m) is not None for m in {list(PREPARE_SIDE) + ['suite', 'onnxruntime', 'mlperf_loadgen']}}})); "
            "print(sys.prefix != sys.base_prefix)",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    found, in_venv = probe.stdout.splitlines()
    found = json.loads(found)
    assert in_venv == "True"
    assert not any(found[m] for m in PREPARE_SIDE), found
    assert found["suite"] and found["onnxruntime"] and found["mlperf_loadgen"], found


def test_run_on_the_device_measures_every_job(bundle, device_run) -> None:  # type: ignore[no-untyped-def]
    results_tar, out, _, base = device_run
    assert out.returncode == 0, out.stdout + out.stderr
    with tarfile.open(results_tar) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("edgeq-results.json"))  # type: ignore[arg-type]
        records = [json.load(tar.extractfile(n)) for n in names if n.startswith("records/")]  # type: ignore[arg-type]
    assert manifest["schema"] == "edgeq.results/1" and manifest["target"] == "local-cpu"
    assert sorted(r["method"]["name"] for r in records) == sorted(METHODS)
    bundle_manifest = json.load(tarfile.open(bundle[0]).extractfile("edgeq-bundle.json"))  # type: ignore[arg-type]
    planned = {e["job"]["job_id"]: e["job"]["fingerprint"] for e in bundle_manifest["jobs"]}
    for r in records:
        assert r["schema"] == SCHEMA and r["status"] == "ok", r["error"]
        assert planned[r["job_id"]] == r["fingerprint"], "the device keeps the workstation's fingerprint"
        assert r["target"] == {"name": "local-cpu", "matched": True, "override": False}
        assert r["accuracy"]["n"] == LIMIT and r["latency"]["p50_ms"] > 0 and r["latency"]["quick"] is True
        assert r["dispatch"]["via"] == "bundle" and r["dispatch"]["bundle_sha256"] == manifest["bundle_sha256"]
        packages = r["environment"]["packages"]
        assert "onnxruntime" in packages and not {"torch", "tensorflow", "mlflow", "pandas"} & set(packages), packages
        assert str(base) in r["artifact"]["path"], "measured from the bundle's copy, not the workstation cache"
    by_method = {r["method"]["name"]: r for r in records}
    assert by_method["ptq-static"]["accuracy"]["fp32_top1"] == by_method["fp32"]["accuracy"]["top1"]
    assert by_method["ptq-static"]["artifact"]["precision_map"] == {"int8": 4}


def test_rerun_on_the_device_reuses_its_records(bundle, device_run) -> None:  # type: ignore[no-untyped-def]
    results_tar, first, env, base = device_run
    assert first.returncode == 0, first.stdout + first.stderr
    again = subprocess.run(
        [str(Path(env["PATH"].split(":")[0]) / "edgeq"), "run", str(bundle[0]), "-o", str(base / "again.tar")],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=base,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "running" not in again.stdout, "nothing is measured twice"
    with tarfile.open(results_tar) as a, tarfile.open(base / "again.tar") as b:
        first_records = {n: json.load(a.extractfile(n)) for n in a.getnames() if n.startswith("records/")}  # type: ignore[arg-type]
        second_records = {n: json.load(b.extractfile(n)) for n in b.getnames() if n.startswith("records/")}  # type: ignore[arg-type]
    assert first_records == second_records


def test_import_merges_idempotently_into_mlflow(bundle, device_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results_tar, out, _, _ = device_run
    assert out.returncode == 0, out.stdout + out.stderr
    _, ws_env, _ = bundle
    env = {**ws_env, "EDGEQ_RESULTS_DIR": str(tmp_path / "ws")}
    first = edgeq("import", str(results_tar), env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"{len(METHODS)} new" in first.stdout and f"MLflow: {len(METHODS)} run(s) logged" in " ".join(
        first.stdout.split()
    )
    second = edgeq("import", str(results_tar), env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{len(METHODS)} unchanged" in second.stdout and "0 run(s) logged" in second.stdout

    stored = sorted((tmp_path / "ws" / "records" / "local-cpu" / "digits-cnn").glob("*.json"))
    assert len(stored) == len(METHODS)
    with tarfile.open(results_tar) as tar:
        shipped = {Path(n).stem: json.load(tar.extractfile(n)) for n in tar.getnames() if n.startswith("records/")}  # type: ignore[arg-type]
    for path in stored:
        assert json.loads(path.read_text()) == shipped[path.stem]

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'ws' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("edgeq/digits-cnn")
    runs = client.search_runs([exp.experiment_id], filter_string="tags.`edgeq.kind` = 'job'")
    assert sorted(r.data.tags["edgeq.fingerprint"] for r in runs) == sorted(r["fingerprint"] for r in shipped.values())
    assert (tmp_path / "ws" / "leaderboard" / "local-cpu" / "README.md").is_file()


# ------------------------------------------------------------------------------------- bad input
def _retar(src: Path, dest: Path, edit) -> None:  # type: ignore[no-untyped-def]
    """Copy a tar member by member, letting ``edit(name, data)`` change (or drop, with None) a member."""
    with tarfile.open(src) as tin, tarfile.open(dest, "w") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read()  # type: ignore[union-attr]
            data = edit(member.name, data)
            if data is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


def _one_line_exit_2(out: subprocess.CompletedProcess, expected: str) -> None:
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert expected in lines[0], lines[0]


def test_a_damaged_bundle_is_refused(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = bundle[0]
    flipped = tmp_path / "flipped.tar"
    _retar(path, flipped, lambda name, data: data[:-1] + bytes([data[-1] ^ 1]) if name.endswith("model.onnx") else data)
    _one_line_exit_2(edgeq("run", str(flipped)), "does not match its sha256")

    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../../outside.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    _one_line_exit_2(edgeq("run", str(evil)), "climbs out of the destination")
    assert not (tmp_path.parent / "outside.txt").exists()

    _one_line_exit_2(edgeq("run", str(tmp_path / "missing.tar")), "no such bundle file")
    _one_line_exit_2(edgeq("import", str(path)), "not an EdgeQ results tarball")


def test_a_bundle_for_another_board_is_refused(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The device checks the profile's detection rules itself: a bundle for a RISC-V board does not run here."""
    import hashlib

    path = bundle[0]
    with tarfile.open(path) as tar:
        manifest = json.load(tar.extractfile("edgeq-bundle.json"))  # type: ignore[arg-type]
        profile_name = manifest["profile_file"]
        profile = tar.extractfile(profile_name).read().decode()  # type: ignore[union-attr]
    profile = profile.replace("arch: [x86_64, AMD64, aarch64, arm64]", "arch: [riscv64]")
    assert "riscv64" in profile
    manifest["files"][profile_name] = hashlib.sha256(profile.encode()).hexdigest()
    other = tmp_path / "riscv.tar"
    edits = {profile_name: profile.encode(), "edgeq-bundle.json": json.dumps(manifest).encode()}
    _retar(path, other, lambda name, data: edits.get(name, data))
    _one_line_exit_2(edgeq("run", str(other)), "--override-target")


def test_import_refuses_a_bad_record_before_writing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar"
    good = {
        "schema": SCHEMA,
        "job_id": "a" * 16,
        "fingerprint": "a" * 64,
        "status": "ok",
        "task": {"name": "t"},
        "method": {"name": "fp32"},
        "target": {"name": "x"},
        "runtime": {"name": "ort"},
    }
    wrong = {**good, "job_id": "b" * 16, "schema": "other/9"}
    manifest = {"schema": "edgeq.results/1", "target": "x", "records": ["records/x/t/a.json", "records/x/t/b.json"]}
    with tarfile.open(bad, "w") as tar:
        for name, data in [
            ("edgeq-results.json", manifest),
            ("records/x/t/a.json", good),
            ("records/x/t/b.json", wrong),
        ]:
            raw = json.dumps(data).encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    _one_line_exit_2(edgeq("import", str(bad), "--no-mlflow"), "schema: got 'other/9'")
    assert not (tmp_path / "results" / "records").exists(), "nothing is merged from a tarball with a bad record"


def test_prepare_refuses_an_alias_target(tmp_path: Path) -> None:
    _one_line_exit_2(edgeq("prepare", "--target", "jetson", "-o", str(tmp_path / "b.tar")), "is an alias")
    assert not (tmp_path / "b.tar").exists()
