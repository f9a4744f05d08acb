"""Property tests (hypothesis) of bad input: task files, profiles, command lines and record JSON, valid
ones, mutated ones and hostile ones, and what must hold for every one of them:

- the exit code is 0, 1 or 2, never a traceback;
- exit 2 says one line on stderr (``edgeq: error: ...``, or validate's ``FAIL <file>: ...``);
- on success, stderr holds warnings only (``edgeq: warning: ...``, one per unusable record);
- no record already in the store is lost or changed, and nothing unreadable is stored.

Commands run in this process (``suite.cli.main.run``, the console script's own function), so an
example costs milliseconds, not an interpreter start. Example counts are bounded for ``make test``
(about a minute here, all together) and derandomized, so CI runs the same examples every time;
``EDGEQ_HYPOTHESIS_PROFILE=long`` multiplies them by 20 with fresh random draws for a longer hunt, and
``EDGEQ_HYPOTHESIS_PROFILE=fast`` (set by ``make test-fast``) keeps a quarter of them (at least 3,
derandomized too), so the edit-test loop checks every property in seconds while ``make test`` runs the
full count.
Nothing here runs a job: sweeps are fuzzed on a task whose data is named by an unset environment
variable, so every job is planned, checked and recorded as skipped.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import string
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suite.cli.main import run
from suite.records import store as store_module
from tests.conftest import REPO
from tests.support.publish_records import make_record, write_records

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.register_profile("fast", parent=settings.get_profile("ci"))
PROFILE = os.environ.get("EDGEQ_HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)
#: examples per property, relative to the counts below: the fast tier's quarter, the long hunt's 20-fold
SCALE = {"long": 20.0, "fast": 0.25}.get(PROFILE, 1.0)


def examples(n: int) -> Any:
    return settings(max_examples=max(3, round(n * SCALE)))


DIGITS = yaml.safe_load((REPO / "tasks" / "digits-cnn.yaml").read_text())
LOCAL_CPU = yaml.safe_load((REPO / "hardware" / "local-cpu.yaml").read_text())
UNSET = "${EDGEQ_PROPERTY_UNSET}"  # never set: a task naming it is skipped, never run

NAMES = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e30",
            "nan",
            "../../etc/passwd",
            UNSET,
            "~nobody/x",
            "\x00",
            "é🙂",
            "x" * 300,
            "fp32",
            "all",
            "none",
            "onnx",
            "builtin",
            "tflite",
            "npz",
            "imagefolder",
            "sklearn-digits",
            "mnist5k",
            "samples-folder",
            "NHWC",
            "uint8",
            "split",
            "eval",
            "folder",
            "ort",
            "litert",
            "rapl",
            "external",
        ]
    ),
    NAMES,
    st.lists(st.integers(-3, 2000), max_size=4),
    st.dictionaries(NAMES, st.integers(-3, 3), max_size=3),
)


@st.composite
def mutated(draw: Any, base: dict[str, Any]) -> Any:
    """``base`` with one to three changes: a value replaced, a key deleted, a key added, at any depth."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        node: Any = data
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            if isinstance(child, (dict, list)) and child and draw(st.booleans()):
                node = child
                continue
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                node[key] = draw(HOSTILE)
            elif action == "delete":
                del node[key]
            elif isinstance(node, dict):
                node[draw(NAMES)] = draw(HOSTILE)
            else:
                node.append(draw(HOSTILE))
            break
    return data


@st.composite
def hostile_yaml(draw: Any) -> bytes:
    """Text no task file should be: alias bombs of any size, recursion, deep nesting, tags, binary."""
    kind = draw(st.sampled_from(["bomb", "loop", "deep", "tag", "binary", "huge", "top"]))
    if kind == "bomb":
        levels, width = draw(st.integers(2, 12)), draw(st.integers(2, 12))
        lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
        return (yaml.safe_dump(DIGITS) + "\n".join(lines) + "\n").encode()
    if kind == "loop":
        return b"name: &a [*a]\n"
    if kind == "deep":
        depth = draw(st.integers(100, 30000))
        return ("x: " + "[" * depth + "]" * depth + "\n").encode()
    if kind == "tag":
        return draw(
            st.sampled_from(
                [b"name: !!python/object/apply:os.system ['true']\n", b"x: !!binary AAAA\n", b"x: !custom 1\n"]
            )
        )
    if kind == "binary":
        return draw(st.binary(max_size=300))
    if kind == "huge":
        return yaml.safe_dump(DIGITS).encode() + b"#" + b"x" * ((1 << 20) + draw(st.integers(1, 4096))) + b"\n"
    return draw(st.sampled_from([b"- a\n- b\n", b"42\n", b"", b"~\n", b"'just a string'\n"]))


def call(*argv: str) -> tuple[int, list[str]]:
    """Run ``edgeq ARGV`` here; (exit code, stderr lines), with the contract checked on the way."""
    out, err = io.StringIO(), io.StringIO()
    import contextlib

    store_module._WARNED.clear()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(list(argv))
    text = out.getvalue() + err.getvalue()
    lines = err.getvalue().strip().splitlines()
    assert code in (0, 1, 2), (argv, code, text[-2000:])
    assert "Traceback" not in text, (argv, text[-3000:])
    if code == 2 and argv[:1] == ("validate",) and lines and lines[0].startswith("FAIL "):
        assert len(lines) <= len(argv) - 1 and all(line.startswith("FAIL ") for line in lines), (
            argv,
            lines,
        )  # one per file
    elif code == 2:
        assert len(lines) == 1 and lines[0].startswith("edgeq: error: "), (argv, lines)
    else:
        assert all(line.startswith("edgeq: warning: ") for line in lines), (argv, lines)
    return code, lines


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def dump(data: Any) -> bytes:
    try:
        return yaml.safe_dump(data, allow_unicode=True).encode()
    except yaml.YAMLError:
        return json.dumps(data, default=str).encode()


# ------------------------------------------------------------------------------------ the files
@examples(60)
@given(st.one_of(mutated(DIGITS), st.just(DIGITS)), st.booleans())
def test_task_files_valid_and_mutated(tmp_path: Path, task: Any, skipped: bool) -> None:
    task = copy.deepcopy(task)  # examples are shared with the strategy (st.just): never change them
    if skipped and isinstance(task, dict) and isinstance(task.get("dataset"), dict):
        task["dataset"]["path"] = UNSET  # data this machine does not have: skipped, never an error
    path = tmp_path / "task.yaml"
    path.write_bytes(dump(task))
    code, _ = call("validate", str(path))
    if task == DIGITS or (skipped and task == {**DIGITS, "dataset": {**DIGITS["dataset"], "path": UNSET}}):
        assert code == 0


@examples(40)
@given(hostile_yaml())
def test_hostile_task_text_is_one_line_exit_2(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(text)
    code, lines = call("validate", str(path))
    assert code == 2, lines


@examples(40)
@given(st.one_of(mutated(LOCAL_CPU), st.just(LOCAL_CPU)))
def test_profiles_valid_and_mutated(tmp_path: Path, profile: Any) -> None:
    path = tmp_path / "profile.yaml"
    path.write_bytes(dump(profile))
    code, _ = call("validate", str(path))
    if profile == LOCAL_CPU:
        assert code == 0


# -------------------------------------------------------------------------------- command lines
@pytest.fixture
def world(tmp_path: Path, results_dir: Path) -> dict[str, Any]:
    """A results store with records, a task that is always skipped here, and files to name."""
    write_records(
        results_dir,
        [make_record("fp32", 0.98, 2.0), make_record("ptq-static", 0.97, 1.0, params={"per_channel": True})],
    )
    write_records(results_dir, [make_record("fp32", 0.98, 2.0, target="local-cpu", task="skipped-task")])
    skipped = tmp_path / "skipped-task.yaml"
    skipped.write_text(
        yaml.safe_dump(
            {**DIGITS, "name": "skipped-task", "dataset": {**DIGITS["dataset"], "name": "npz", "path": UNSET}}
        )
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "edgeq.record/1", "job_')
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(
        "a: &a [x, x, x, x, x, x, x, x]\n"
        + "".join(f"b{i}: &b{i} [{', '.join(['*a' if i == 0 else f'*b{i - 1}'] * 8)}]\n" for i in range(8))
    )
    record = next((results_dir / "records" / "bench-a").rglob("*.json"))
    return {
        "results": results_dir,
        "skipped": skipped,
        "broken": broken,
        "bomb": bomb,
        "record": record,
        "before": digest(results_dir / "records"),
    }


def values(world: dict[str, Any]) -> Any:
    return st.sampled_from(
        [
            "0",
            "-1",
            "x",
            "",
            ",,,",
            " ",
            "fp32",
            "ptq-static",
            "all",
            "nosuch",
            "1e30",
            "a.b=c",
            "fp32.x=1",
            "ptq-static.per_channel=maybe",
            "ptq-static.calibration=[",
            "ptq-static.calibration=*a",
            "table",
            "csv",
            "json",
            "methods",
            "tasks",
            "targets",
            "runtimes",
            "sensors",
            "datasets",
            "zoo",
            "bench-a",
            "bench-a#method=fp32",
            "bench-a#nosuch=1",
            "local-cpu",
            "nosuch-target",
            str(world["broken"]),
            str(world["bomb"]),
            str(world["record"]),
            str(world["results"]),
            str(world["skipped"]),
            "/nonexistent/x",
            "--",
            "-",
            "🙂",
            "\x01",
        ]
    )


OPTIONS = [
    "--limit",
    "--methods",
    "-m",
    "--set",
    "--runtimes",
    "--quick",
    "--force",
    "--retry-failed",
    "--override-target",
    "--bogus",
    "--format",
    "--from",
    "--help",
    "-x",
    "--share",
    "--fleet-timeout",
    "--uri",
    "--out",
]


@examples(80)
@given(st.data())
def test_command_lines(world: dict[str, Any], data: Any) -> None:
    """Commands that read and print (never one that runs jobs, serves, or writes outside the store)."""
    command = data.draw(st.sampled_from(["list", "validate", "show", "compare", "publish", "nosuchcmd", "lst", ""]))
    tokens = data.draw(st.lists(st.one_of(st.sampled_from(OPTIONS), values(world)), max_size=6))
    argv = [command, *tokens] if command else tokens
    if command == "publish" and "--from" not in argv:
        argv += ["--from", str(world["results"])]  # never the repository's results/ folder
    call(*argv)
    assert digest(world["results"] / "records") == world["before"]


@examples(12)
@given(st.data())
def test_sweep_options(world: dict[str, Any], data: Any) -> None:
    """``edgeq bench`` with fuzzed options on a task whose jobs are all skipped here: planning, checks,
    the sweep loop, the store and the leaderboard run for real; no job does."""
    sensible = st.sampled_from(
        [
            ["--methods", "fp32"],
            ["--methods", "all"],
            ["--quick"],
            ["--limit", "5"],
            ["--runtimes", "ort"],
            ["--set", "ptq-static.per_channel=false"],
            ["--force"],
            ["--retry-failed"],
            ["--override-target"],
        ]
    )
    tokens = [t for pair in data.draw(st.lists(sensible, max_size=3)) for t in pair]
    noise = [o for o in OPTIONS if o not in ("--from", "--uri", "--out")]
    tokens += data.draw(st.lists(st.one_of(st.sampled_from(noise), values(world)), max_size=2))
    tokens = [t for t in tokens if t != str(world["skipped"])]
    code, _ = call("bench", "--no-mlflow", "--tasks", str(world["skipped"]), *tokens)
    before = world["before"]
    after = digest(world["results"] / "records")
    assert {k: after.get(k) for k in before} == before  # new skipped records may appear; none lost or changed


# ------------------------------------------------------------------------------------- records
def record_strategy() -> Any:
    base = make_record("dynamic", 0.95, 1.5)
    raw = st.sampled_from(
        [
            b"",
            b"{",
            b"[]",
            b"null",
            b'"x"',
            b"{}",
            b'{"schema": "edgeq.record/1"}',
            b"\xff\xfe",
            b"[" * 5000,
            json.dumps({**base, "accuracy": {"top1": float("nan")}}).encode(),
        ]
    )
    return st.one_of(mutated(base).map(lambda r: json.dumps(r, default=str).encode()), raw, st.binary(max_size=64))


@examples(40)
@given(record_strategy())
def test_record_files(world: dict[str, Any], payload: bytes) -> None:
    folder = world["results"] / "records" / "bench-a" / "digits-cnn"
    path = folder / "zz-fuzzed.json"
    path.write_bytes(payload)
    try:
        call("show", str(path))
        call("compare", "bench-a", str(world["results"]))
        assert path.read_bytes() == payload  # read, never rewritten
        assert digest(world["results"] / "records") == {
            **world["before"],
            "bench-a/digits-cnn/zz-fuzzed.json": hashlib.sha256(payload).hexdigest(),
        }
    finally:
        path.unlink()


@examples(15)
@given(record_strategy())
def test_imported_records(world: dict[str, Any], payload: bytes) -> None:
    """A results tarball holding the record: refused whole (nothing stored), or stored schema-valid."""
    from suite.records.store import load_record

    records = world["results"] / "records"
    with tempfile.TemporaryDirectory() as tmp:
        tarball = Path(tmp) / "results.tar"
        manifest = {"schema": "edgeq.results/1", "target": "bench-a", "records": ["records/bench-a/digits-cnn/r.json"]}
        with tarfile.open(tarball, "w") as tar:
            for name, raw in (
                ("edgeq-results.json", json.dumps(manifest).encode()),
                ("records/bench-a/digits-cnn/r.json", payload),
            ):
                info = tarfile.TarInfo(name)
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
        before = digest(records)
        code, _ = call("import", str(tarball), "--no-mlflow")
    after = digest(records)
    assert {k: after.get(k) for k in world["before"]} == world["before"]  # nothing that was there changed
    if code == 2:
        assert after == before  # refused whole
    for name in set(after) - set(before):
        load_record(records / name)  # whatever was stored reads back as a valid record
