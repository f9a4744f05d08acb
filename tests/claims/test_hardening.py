"""The cases of the hardening issue, each one line and exit 2 (or, for unreadable records, one warning
and the rest of the work done), and a few hostile inputs beside them.

Commands run in this process through ``suite.cli.main.run`` (the console script's own function), so
dozens of cases cost seconds; what needs a real terminal signal or a job process is in
``tests/claims/test_readme_claims.py``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from suite.cli.main import run
from suite.records import store as store_module
from tests.conftest import REPO
from tests.support.models import tiny_onnx
from tests.support.publish_records import make_record, write_records

DIGITS = yaml.safe_load((REPO / "tasks" / "digits-cnn.yaml").read_text())


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "_WARNED", set())  # each test sees its own warnings
    monkeypatch.setenv("COLUMNS", "250")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    """(exit code, stdout, stderr lines) of ``edgeq ARGV`` run in this process."""
    capsys.readouterr()
    code = run(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, out + err
    return code, out, err.strip().splitlines()


def one_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = cli(capsys, *argv)
    assert code == 2, (code, out, err)
    assert len(err) == 1 and err[0].startswith(("edgeq: error: ", "FAIL ")), err
    return err[0]


def task_file(folder: Path, filename: str = "task.yaml", text: str | None = None, **changes: object) -> Path:
    path = folder / filename
    path.write_text(text if text is not None else yaml.safe_dump({**DIGITS, **changes}))
    return path


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (what "no record lost or changed" is checked against)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------------------ 1. command-line usage
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bench", "--limit", "0"], "--limit"),
        (["bench", "--bogus"], "no such option --bogus; options: "),
        (["list"], "Missing argument"),
        (["nosuchcmd"], "No such command 'nosuchcmd'; commands: bench"),
        (["bench", "--limit", "many"], "valid integer"),
        (["compare", "only-one"], "Missing argument"),
        (["bench", "--target"], "requires an argument"),
        (["validate", "--format", "x", "a.yaml"], "no such option --format"),
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    line = one_error(capsys, *argv)
    assert line.startswith("edgeq: error: ") and expected in line, line
    assert "--help" in line  # and where to see what is accepted


def test_no_arguments_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys)
    assert code == 0 and "bench" in out and "validate" in out and not err


# ------------------------------------------------------------------------------ 2. YAML bombs
def _bomb(indent: str, levels: int = 9) -> str:
    """A billion laughs as the items of a YAML list: nine levels of nine aliases (9**9 leaves expanded)."""
    lines = ["- &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"- &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "".join(f"{indent}{line}\n" for line in lines)


@pytest.mark.parametrize("where", ["dataset.options", "method_params.ptq-static.calibration"])
def test_alias_bomb_is_refused_before_pydantic(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str) -> None:
    base = yaml.safe_dump({k: v for k, v in DIGITS.items() if k != "dataset"})
    if where == "dataset.options":
        text = (
            base
            + "dataset:\n  name: sklearn-digits\n  n_eval: 540\n  n_calibration: 256\n  options:\n    x:\n"
            + _bomb("    ")
        )
    else:
        text = (
            base
            + "dataset: "
            + json.dumps(DIGITS["dataset"])
            + "\nmethod_params:\n  ptq-static:\n    calibration:\n"
            + _bomb("    ")
        )
    path = task_file(tmp_path, text=text)
    for argv in (["validate", str(path)], ["bench", "--quick", "--no-mlflow", "--tasks", str(path)]):
        line = one_error(capsys, *argv)
        assert "refused" in line and "aliases" in line and "nodes after alias expansion" in line, line


def test_size_cap_and_recursive_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = task_file(tmp_path, "big.yaml", text=yaml.safe_dump(DIGITS) + "#" + "x" * (2 << 20) + "\n")
    assert "MiB per file" in one_error(capsys, "validate", str(big))
    loop = task_file(tmp_path, "loop.yaml", text=yaml.safe_dump(DIGITS) + "extra: &a [*a]\n")
    line = one_error(capsys, "validate", str(loop))
    assert str(loop) in line
    deep = task_file(tmp_path, "deep.yaml", text="x: " + "[" * 20000 + "]" * 20000 + "\n")
    assert str(deep) in one_error(capsys, "validate", str(deep))


def test_set_values_get_the_same_guard(capsys: pytest.CaptureFixture[str]) -> None:
    bomb = "&a [1, 1, 1, 1, 1, 1, 1, 1, 1]"  # an anchor is fine; a bomb is not
    many = "[" + ", ".join(["*a"] * 101) + "]"
    line = one_error(capsys, "bench", "--no-mlflow", "--param", f"ptq-static.calibration=[{bomb}, {many}]")
    assert "--param ptq-static.calibration: refused: more than 100 aliases" in line
    assert "expected a YAML value" in one_error(capsys, "bench", "--no-mlflow", "--set", "ptq-static.calibration=[")


# -------------------------------------------------------------------------- 3. broken records
def _broken_store(root: Path) -> Path:
    write_records(root, [make_record("fp32", 0.98, 2.0), make_record("ptq-static", 0.97, 1.0)])
    folder = root / "records" / "bench-a" / "digits-cnn"
    (folder / "truncated.json").write_text('{"schema": "edgeq.record/1", "job')
    (folder / "x.json").mkdir()
    wrong = make_record("dynamic", 0.9, 1.0)
    wrong["accuracy"]["top1"] = "high"
    (folder / "typed.json").write_text(json.dumps(wrong))
    return folder


@pytest.mark.slow(reason="publishes the whole leaderboard, charts included, twice")
def test_unreadable_records_are_skipped_with_one_warning_each(
    results_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _broken_store(results_dir)
    before = tree_digest(results_dir / "records")
    code, out, err = cli(capsys, "publish")
    assert code == 0, err
    assert len(err) == 3 and all(line.startswith("edgeq: warning: ") and "skipped" in line for line in err), err
    assert any("truncated.json" in e for e in err) and any("x.json" in e and "not a regular file" in e for e in err)
    assert any("typed.json" in e and "accuracy.top1: got 'high'" in e for e in err)
    board = json.loads((results_dir / "leaderboard" / "bench-a" / "leaderboard.json").read_text())
    assert sorted(r["method"] for r in board["rows"]) == ["fp32", "ptq-static"]  # the rest of the work is done
    for argv in (["publish", "--from", str(results_dir)], ["compare", "bench-a", str(results_dir)]):
        code, out, err = cli(capsys, *argv)
        assert code == 0 and all(line.startswith("edgeq: warning: ") for line in err), err
    assert "2 method(s) compared" in out
    assert tree_digest(results_dir / "records") == before  # nothing lost, nothing rewritten
    assert (folder / "x.json").is_dir()


def test_bench_is_not_blocked_by_an_unreadable_record(
    tmp_path: Path, results_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sweep whose jobs are skipped here (data named by an unset variable) still plans, stores and
    publishes past a truncated record of its own target; the file stays as it was."""
    folder = results_dir / "records" / "local-cpu" / "npz-task"
    folder.mkdir(parents=True)
    (folder / "truncated.json").write_text('{"schema": "edgeq.re')
    task = task_file(
        tmp_path,
        "npz-task.yaml",
        name="npz-task",
        dataset={"name": "npz", "path": "${EDGEQ_TEST_UNSET}/d.npz", "n_calibration": 5},
    )
    code, out, err = cli(capsys, "bench", "--quick", "--no-mlflow", "--tasks", str(task), "--methods", "fp32")
    assert code == 0, (out, err)
    assert len(err) == 1 and err[0].startswith("edgeq: warning: ") and "truncated.json" in err[0], err
    assert (folder / "truncated.json").read_text() == '{"schema": "edgeq.re'
    assert (results_dir / "leaderboard" / "local-cpu" / "README.md").is_file()


def test_writer_keeps_an_ill_typed_result_as_a_failed_record(results_dir: Path) -> None:
    from suite.records.store import RecordStore, load_record
    from suite.sweep.loop import store_record

    record = make_record("fp32", 0.98, 2.0)
    record["latency"]["p50_ms"] = "fast"  # a plugin that reports nonsense
    stored, path = store_record(RecordStore(), record)
    again = load_record(path)
    assert again["status"] == "failed" and again["error_kind"] == "bad_record" and again["latency"] is None
    assert "latency.p50_ms: got 'fast'" in again["error"]
    assert again["accuracy"]["top1"] == 0.98  # what fitted is kept
    with pytest.raises(Exception, match="does not fit edgeq.record/1"):
        RecordStore().write({**record, "target": {"name": "../x"}})


# ---------------------------------------------------------------------------- 4. reproduce
@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"schema": "edgeq.record/1", "status": "ok"}, "missing required key 'job_id'"),
        ({**make_record("fp32", 0.98, 2.0), "method": "fp32"}, "method: got 'fp32', expected"),
        ({**make_record("fp32", 0.98, 2.0), "sources": None}, "sources.task"),
    ],
)
def test_reproduce_of_an_incomplete_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], record: dict, expected: str
) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(record))
    line = one_error(capsys, "reproduce", str(path))
    assert str(path) in line and expected in line, line


def test_reproduce_names_package_versions_that_differ() -> None:
    from suite.job.reproduce import package_differences

    record = make_record("fp32", 0.98, 2.0, packages={"numpy": "0.0.1", "not-installed-here": "1.0"})
    lines = package_differences(record)
    assert any(line.startswith("numpy 0.0.1 -> ") for line in lines), lines
    assert "not-installed-here 1.0 -> (none)" in lines
    import numpy

    same = make_record("fp32", 0.98, 2.0, packages={"numpy": numpy.__version__})
    assert package_differences(same) == []


# ------------------------------------------------------------------------------ 5. options
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--param", "nosuchmethod.x=1"], "--param nosuchmethod.x: unknown method 'nosuchmethod'"),
        (["--set", "nosuchmethod.x=1"], "--param nosuchmethod.x: unknown method 'nosuchmethod'"),  # the old name
        (["--methods", ""], "--methods: got '', expected one or more names"),
        (["--methods", ",,,"], "--methods: got ',,,', expected one or more names"),
        (["--tasks", " , "], "--tasks: got"),
        (
            ["--set", "ptq-static.per_channel=false", "--methods", "fp32"],
            "--param: ptq-static is not among the methods of this sweep (fp32)",
        ),
    ],
)
def test_options_that_would_be_dropped_are_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    line = one_error(capsys, "bench", "--quick", "--no-mlflow", *argv)
    assert expected in line, line


# --------------------------------------------------------------------- 6. validate = pre-flight
def _image_folder(root: Path, classes: list[str]) -> Path:
    from PIL import Image

    for name in classes:
        (root / name).mkdir(parents=True)
        Image.new("RGB", (8, 8), (10, 20, 30)).save(root / name / "a.png")
    return root


def test_validate_runs_what_bench_would_refuse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "zero.onnx").write_bytes(b"")
    (tmp_path / "random.onnx").write_bytes(np.random.default_rng(1).bytes(4000))
    seven = tiny_onnx(tmp_path / "seven.onnx", classes=7)
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    _image_folder(tmp_path / "named", ["cat", "dog"])
    image = {"input": {"shape": [3, 8, 8]}}
    cases = {
        "zero": (
            {"model": {"source": "onnx", "name": "m", "path": "zero.onnx"}},
            "zero.onnx: not a valid ONNX model, truncated or corrupt (an empty file)",
        ),
        "random": (
            {"model": {"source": "onnx", "name": "m", "path": "random.onnx"}},
            "random.onnx: not a valid ONNX model",
        ),
        "seven": ({"model": {"source": "onnx", "name": "m", "path": str(seven)}}, "returns 7 class scores"),
        "nopath": ({"model": {"source": "onnx", "name": "m"}}, "model.path: missing"),
        "empty": (
            {"dataset": {"name": "imagefolder", "path": "empty", "n_calibration": 1}, **image},
            "has no samples there",
        ),
        "named": (
            {
                "dataset": {
                    "name": "imagefolder",
                    "path": "named",
                    "n_calibration": 1,
                    "options": {"class_index": "name"},
                },
                **image,
            },
            "class folder 'cat' is not an integer",
        ),
        "ncal": (
            {"dataset": {**DIGITS["dataset"], "n_calibration": 5000}},
            "dataset.n_calibration: got 5000, expected at most 1257",
        ),
        "neval": (
            {"dataset": {**DIGITS["dataset"], "n_eval": 1797}},
            "dataset.n_eval: got 1797, expected fewer than the 1797",
        ),
        "classes": ({"num_classes": 1e30}, "num_classes: got 1e+30"),
        "shape": ({"input": {"shape": [0, 8, 8]}}, "input.shape.0: got 0"),
        "seed": ({"dataset": {**DIGITS["dataset"], "seed": -1}}, "dataset.seed: got -1"),
    }
    for name, (changes, expected) in cases.items():
        path = task_file(tmp_path, f"{name}.yaml", **changes)
        line = one_error(capsys, "validate", str(path))
        assert line.startswith("FAIL ") and expected in line, (name, line)
    code, out, err = cli(capsys, "validate", str(REPO / "tasks" / "digits-cnn.yaml"))
    assert code == 0 and not err and "(task)" in out


def test_bench_refuses_counts_that_do_not_fit_before_any_job(
    tmp_path: Path, results_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = task_file(tmp_path, dataset={**DIGITS["dataset"], "n_calibration": 5000})
    line = one_error(capsys, "bench", "--quick", "--no-mlflow", "--tasks", str(path), "--methods", "fp32")
    assert f"{path}: dataset.n_calibration: got 5000" in line
    assert not (results_dir / "records").exists()  # refused at planning: no job ran, nothing recorded


def test_validate_says_a_task_with_unset_data_is_skipped_not_broken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = task_file(tmp_path, dataset={"name": "npz", "path": "${EDGEQ_TEST_UNSET}/d.npz", "n_calibration": 5})
    code, out, err = cli(capsys, "validate", str(path))
    assert code == 0 and "skipped here" in out and "EDGEQ_TEST_UNSET" in out, (out, err)


def test_npz_count_comes_from_the_array_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((12, 1, 8, 8), np.float32), y=np.arange(12) % 10)
    path = task_file(tmp_path, dataset={"name": "npz", "path": "d.npz", "n_eval": 8, "n_calibration": 5})
    assert "dataset.n_calibration: got 5, expected at most 4 (npz has 12 samples" in one_error(
        capsys, "validate", str(path)
    )


# ----------------------------------------------------------------------------------- 7. import
def _results_tarball(path: Path, records: list[dict]) -> Path:
    manifest = {
        "schema": "edgeq.results/1",
        "target": "bench-a",
        "records": [f"records/bench-a/digits-cnn/{i}.json" for i in range(len(records))],
    }
    with tarfile.open(path, "w") as tar:
        for name, data in [
            ("edgeq-results.json", json.dumps(manifest)),
            *((n, json.dumps(r, allow_nan=True)) for n, r in zip(manifest["records"], records)),
        ]:
            raw = data.encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("top1", "high", "accuracy.top1: got 'high', expected a valid number"),
        ("top1", float("nan"), "NaN is not strict JSON"),
        ("top1", 1.5, "accuracy.top1: got 1.5, expected less than or equal to 1"),
        ("n", -3, "accuracy.n: got -3"),
    ],
)
def test_import_checks_every_value_before_storing_anything(
    tmp_path: Path, results_dir: Path, capsys: pytest.CaptureFixture[str], key: str, value: object, expected: str
) -> None:
    good = make_record("fp32", 0.98, 2.0)
    bad = make_record("ptq-static", 0.97, 1.0)
    bad["accuracy"][key] = value
    tarball = _results_tarball(tmp_path / "results.tar", [good, bad])
    line = one_error(capsys, "import", str(tarball), "--no-mlflow")
    assert "1.json" in line and expected in line, line
    assert not (results_dir / "records").exists()  # nothing stored, not even the good one


def test_import_refuses_path_names_that_leave_the_store(
    tmp_path: Path, results_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for target in ("../../etc", ".hidden", "a/b", ""):
        record = make_record("fp32", 0.98, 2.0, target=target)
        line = one_error(capsys, "import", str(_results_tarball(tmp_path / "r.tar", [record])), "--no-mlflow")
        assert "target.name: got" in line, line
    assert not results_dir.exists() or not any(results_dir.rglob("*.json"))


# ------------------------------------------------------------------------------ other inputs
def test_other_hostile_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "python.yaml").write_text("name: !!python/object/apply:os.system ['touch pwned']\n")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    for name in ("fifo", "dir", "binary", "python", "list", "empty", "zero"):
        line = one_error(capsys, "validate", str(tmp_path / f"{name}.yaml"))
        assert f"{name}.yaml" in line, line
    assert not (REPO / "pwned").exists() and not Path("pwned").exists()
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    assert "not a readable EdgeQ record" in one_error(capsys, "show", str(tmp_path / "deep.json"))
    (tmp_path / "inf.json").write_text(
        json.dumps(make_record("fp32", 0.98, 2.0)).replace('"p50_ms": 2.0', '"p50_ms": Infinity')
    )
    assert "not strict JSON" in one_error(capsys, "show", str(tmp_path / "inf.json"))


def _manifest_tar(path: Path, name: str, manifest: object) -> Path:
    with tarfile.open(path, "w") as tar:
        raw = json.dumps(manifest).encode()
        info = tarfile.TarInfo(name)
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return path


@pytest.mark.parametrize(
    ("command", "member", "manifest", "expected"),
    [
        (
            "import",
            "edgeq-results.json",
            {"schema": "edgeq.results/1", "target": "x", "records": 5},
            "records: got 5, expected a valid list",
        ),
        (
            "import",
            "edgeq-results.json",
            {"schema": "edgeq.results/1", "target": "x", "records": [{"a": 1}]},
            "records.0: got {'a': 1}",
        ),
        ("import", "edgeq-results.json", [1, 2], "schema: got 'list'"),
        (
            "run",
            "edgeq-bundle.json",
            {"schema": "edgeq.bundle/1", "target": "local-cpu", "profile_file": "p.yaml", "jobs": 5, "files": {}},
            "jobs: got 5, expected a valid list",
        ),
        (
            "run",
            "edgeq-bundle.json",
            {"schema": "edgeq.bundle/1", "target": 5, "profile_file": ["x"], "jobs": [], "files": {}},
            "target: got 5",
        ),
        (
            "run",
            "edgeq-bundle.json",
            {"schema": "edgeq.bundle/1", "target": "local-cpu", "profile_file": "p.yaml", "jobs": [], "files": "x"},
            "files: got 'x'",
        ),
    ],
)
def test_archives_whose_manifest_has_the_wrong_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, member: str, manifest: object, expected: str
) -> None:
    archive = _manifest_tar(tmp_path / "a.tar", member, manifest)
    line = one_error(capsys, command, str(archive), *(["--no-mlflow"] if command == "import" else []))
    assert f"{archive}: {member}: " in line and expected in line, line


def test_a_results_dir_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("EDGEQ_RESULTS_DIR", str(tmp_path / "file"))
    assert str(tmp_path / "file") in one_error(capsys, "publish")


def test_a_model_path_that_loops(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "loop.onnx").symlink_to("loop.onnx")
    path = task_file(tmp_path, model={"source": "onnx", "name": "m", "path": "loop.onnx"})
    assert "model.path" in one_error(capsys, "validate", str(path))
