"""Task and profile files: strict schemas, one-line errors naming file, key, got and expected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from suite.config import load_task
from suite.errors import BadInput
from suite.job.checks import load_checked_task
from suite.machine.target import load_target
from suite.paths import HARDWARE_DIR, TASKS_DIR
from tests.conftest import edgeq

GOOD_TASK = (TASKS_DIR / "digits-cnn.yaml").read_text()
GOOD_PROFILE = (HARDWARE_DIR / "local-cpu.yaml").read_text()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_files_validate() -> None:
    assert load_task("digits-cnn").config.num_classes == 10
    assert load_target("local-cpu").config.runtimes[0].name == "ort"


@pytest.mark.parametrize(
    "text, expected",
    [
        (GOOD_TASK.replace("num_classes: 10", "num_classes: ten"), r"num_classes: got 'ten', expected .*integer"),
        (GOOD_TASK + "\ncolour: blue\n", r"unknown key 'colour'"),
        (GOOD_TASK.replace("n_eval: 540", "n_eval: 540\n  bogus: 1"), r"unknown key 'dataset.bogus'"),
        (GOOD_TASK.replace("name: digits-cnn\ndescription", "description"), r"missing required key 'name'"),
        ("name: [unclosed\n", r"malformed YAML at line"),
        ("- just\n- a list\n", r"expected a mapping"),
        (GOOD_TASK.replace("source: builtin", "source: nosuchzoo"), r"model.source: unknown model source 'nosuchzoo'"),
        (re.sub(r"(?m)^methods: .*$", "methods: [fp32, ptq-statik]", GOOD_TASK), r"did you mean 'ptq-static'"),
    ],
)
def test_broken_task_gives_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "task.yaml", text)
    with pytest.raises(BadInput, match=expected) as info:
        load_checked_task(str(path))
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_broken_profile_gives_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", GOOD_PROFILE.replace("runs: 3", "runs: 2"))
    with pytest.raises(BadInput, match=r"measurement.runs: got 2, expected .*greater than or equal to 3"):
        load_target(str(path))
    data = yaml.safe_load(GOOD_PROFILE)
    data["power"] = ["rapl", "watts9000"]
    path = write(tmp_path, "q.yaml", yaml.safe_dump(data))
    with pytest.raises(BadInput, match=r"power.1: unknown sensor 'watts9000'"):
        load_target(str(path))


def test_validate_cli_exit_codes(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", GOOD_TASK + "\nextra: 1\n")
    missing = tmp_path / "missing.yaml"
    ok = edgeq("validate", str(TASKS_DIR / "digits-cnn.yaml"), str(HARDWARE_DIR / "local-cpu.yaml"))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("ok ") == 2
    out = edgeq("validate", str(bad), str(missing))
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, out.stderr
    assert "unknown key 'extra'" in lines[0] and "no such file" in lines[1]
    assert "Traceback" not in out.stderr


def test_unknown_method_names_known_ones() -> None:
    out = edgeq("bench", "--methods", "nosuch", "--no-mlflow")
    assert out.returncode == 2
    assert "unknown method 'nosuch'" in out.stderr and "ptq-static" in out.stderr
    assert "Traceback" not in out.stderr
    out = edgeq("bench", "--target", "nosuch-board")
    assert out.returncode == 2 and "unknown target 'nosuch-board'" in out.stderr
