"""Every bad input gets one line and a non-zero exit, never a traceback.

Exit 2 for what is caught before any job runs (the plan reads the files); exit 1, with the one-line
reason in the job's failed record and in the summary, for what only the data shows (labels, shapes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from suite.records.store import load_record
from tests.conftest import REPO, edgeq
from tests.support.models import tiny_onnx

WIDE = {"COLUMNS": "250"}
DIGITS = yaml.safe_load((REPO / "tasks" / "digits-cnn.yaml").read_text())


def one_line(r: subprocess.CompletedProcess, code: int = 2) -> str:
    """The single stderr line of a run that exited with ``code``."""
    text = r.stdout + r.stderr
    assert r.returncode == code, text
    assert "Traceback" not in text
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("edgeq: error: ")
    return lines[0]


def task_file(tmp_path: Path, filename: str = "task.yaml", **changes: object) -> Path:
    data = {**DIGITS, **changes}
    path = tmp_path / filename
    path.write_text(yaml.safe_dump(data))
    return path


def bench_task(path: Path, *extra: str) -> subprocess.CompletedProcess:
    return edgeq("bench", "--quick", "--no-mlflow", "--tasks", str(path), "--methods", "fp32", *extra, env=WIDE)


# --------------------------------------------------------------------------------- config files
def test_malformed_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nmodel: {source: builtin, name: digits-cnn\ndataset: x\n")
    line = one_line(bench_task(path))
    assert f"{path}: malformed YAML at line" in line
    assert "FAIL" in edgeq("validate", str(path)).stderr


def test_unknown_key(tmp_path: Path) -> None:
    line = one_line(bench_task(task_file(tmp_path, colour="red")))
    assert "unknown key 'colour'" in line and "task.yaml" in line


def test_wrong_type(tmp_path: Path) -> None:
    path = task_file(tmp_path, dataset={**DIGITS["dataset"], "n_eval": "many"})
    line = one_line(bench_task(path))
    assert "dataset.n_eval: got 'many', expected" in line


# ------------------------------------------------------------------------------ missing things
def test_missing_model_file(tmp_path: Path) -> None:
    path = task_file(tmp_path, model={"source": "onnx", "name": "mine", "path": str(tmp_path / "nope.onnx")})
    line = one_line(bench_task(path))
    assert "model.path" in line and "nope.onnx" in line and "no such file" in line


def test_missing_dataset(tmp_path: Path) -> None:
    line = one_line(bench_task(task_file(tmp_path, dataset={**DIGITS["dataset"], "name": "sklearn-digitz"})))
    assert "dataset.name: unknown dataset 'sklearn-digitz'; did you mean 'sklearn-digits'?" in line
    npz = {"name": "npz", "path": str(tmp_path / "gone.npz"), "n_eval": 10, "n_calibration": 5}
    line = one_line(bench_task(task_file(tmp_path, "npz.yaml", dataset=npz)))
    assert "dataset.path" in line and "gone.npz" in line and "no such file" in line


@pytest.mark.parametrize(
    ("kind", "args", "expected"),
    [
        ("method", ("--methods", "ptq-statik"), "unknown method 'ptq-statik'; did you mean 'ptq-static'?"),
        ("runtime", ("--runtimes", "onnxrt"), "unknown runtime 'onnxrt'"),
        ("target", ("--target", "jetsn-orin"), "unknown target 'jetsn-orin'"),
    ],
)
def test_unknown_plugin_names(kind: str, args: tuple[str, ...], expected: str) -> None:
    line = one_line(edgeq("bench", "--quick", "--no-mlflow", *args))
    assert expected in line, line


def test_unknown_sensor(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "hardware" / "local-cpu.yaml").read_text())
    data["power"] = ["rapl", "ina3222"]
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump(data))
    line = one_line(edgeq("bench", "--quick", "--no-mlflow", "--target", str(profile)))
    assert "power.1" in line and "'ina3222'" in line and "ina3221" in line  # the key, the value, the close match


# --------------------------------------------------------------------------------- model files
def test_corrupt_and_truncated_onnx(tmp_path: Path) -> None:
    good = tiny_onnx(tmp_path / "good.onnx")
    data = good.read_bytes()
    for name, payload in (("truncated.onnx", data[: len(data) // 2]), ("corrupt.onnx", os.urandom(len(data)))):
        (tmp_path / name).write_bytes(payload)
        model = {"source": "onnx", "name": "tiny", "path": str(tmp_path / name)}
        line = one_line(bench_task(task_file(tmp_path, f"{name}.yaml", model=model)))
        assert f"{tmp_path / name}: not a valid ONNX model, truncated or corrupt" in line


def test_corrupt_and_truncated_tflite(tmp_path: Path) -> None:
    header = bytes(4) + b"TFL3"
    cases = {
        "empty.tflite": b"",
        "truncated.tflite": header,  # the flatbuffer's first 8 bytes and nothing after
        "corrupt.tflite": header + os.urandom(4000),
    }
    for name, payload in cases.items():
        (tmp_path / name).write_bytes(payload)
        model = {"source": "tflite", "name": "t", "path": str(tmp_path / name)}
        line = one_line(bench_task(task_file(tmp_path, f"{name}.yaml", model=model)))
        assert f"{tmp_path / name}: not a" in line and "TFLite model" in line, line


def test_onnx_input_shape_that_does_not_fit_the_task(tmp_path: Path) -> None:
    model = {"source": "onnx", "name": "flat", "path": str(tiny_onnx(tmp_path / "flat.onnx", flat_input=True))}
    line = one_line(bench_task(task_file(tmp_path, model=model)))
    assert "flat.onnx" in line and "input" in line and "[1, 8, 8]" in line


# ----------------------------------------------------------------------- data that does not fit
@pytest.mark.slow
def test_layout_and_labels_that_do_not_fit_fail_the_job_in_one_line(tmp_path: Path, results_dir: Path) -> None:
    nhwc = task_file(tmp_path, "nhwc.yaml", name="digits-nhwc", input={"shape": [8, 8, 1], "layout": "NHWC"})
    five = task_file(tmp_path, "five.yaml", name="digits-five", num_classes=5)
    r = edgeq("bench", "--quick", "--no-mlflow", "--tasks", f"{nhwc},{five}", "--methods", "fp32", env=WIDE)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "Traceback" not in out
    recs = {rec["task"]["name"]: rec for rec in map(load_record, (results_dir / "records").rglob("*.json"))}
    layout, labels = recs["digits-nhwc"], recs["digits-five"]
    assert layout["error"].startswith(
        "input.shape: [8, 8, 1] (input.layout NHWC) does not fit the builtin model 'digits-cnn': "
    )  # found before training, not as a torch stack trace from inside the training loop
    assert labels["error"].startswith("num_classes: dataset 'sklearn-digits' has eval label ")
    assert "outside the model's classes 0..4" in labels["error"]
    for rec in (layout, labels):
        assert rec["status"] == "failed" and rec["error_kind"] == "bad_input"
        assert f"failed {rec['task']['name']} / fp32: {rec['error']}" in r.stdout


# ------------------------------------------------------------------------------------ privilege
def _unprivileged() -> list[str]:
    """A command prefix that runs without root's file-access override: nothing for a normal user; for
    root, util-linux ``setpriv`` dropping CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (root stays uid 0
    and can still run the interpreter under /root, but a mode-000 file is as closed to it as to anyone)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without util-linux setpriv: cannot make a file unreadable")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


def test_power_sensor_that_needs_root(tmp_path: Path) -> None:
    """A profile that requires energy (no 'none' in power:) on a machine whose RAPL counter is root-only.

    The RAPL tree is a fixture in the real powercap layout (docs/formats.md) under EDGEQ_SYSROOT whose
    ``energy_uj`` cannot be read by the user running the sweep, as since CVE-2020-8694.
    """
    domain = tmp_path / "sys" / "sys" / "class" / "powercap" / "intel-rapl:0"
    domain.mkdir(parents=True)
    (domain / "name").write_text("package-0\n")
    (domain / "max_energy_range_uj").write_text("262143328850\n")
    (domain / "energy_uj").write_text("123456789\n")
    (domain / "energy_uj").chmod(0o000)
    data = yaml.safe_load((REPO / "hardware" / "local-cpu.yaml").read_text())
    data["power"] = ["rapl"]
    profile = tmp_path / "needs-energy.yaml"
    profile.write_text(yaml.safe_dump(data))
    env = {**os.environ, "EDGEQ_SYSROOT": str(tmp_path / "sys"), "COLUMNS": "250"}
    cmd = [
        *_unprivileged(),
        sys.executable,
        "-m",
        "suite",
        "bench",
        "--quick",
        "--no-mlflow",
        "--override-target",
        "--target",
        str(profile),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    line = one_line(r)
    assert f"{profile}: power: needs privilege" in line
    assert "energy_uj is readable by root only" in line and "sudo chmod o+r" in line
    assert "or add 'none' to power:" in line
