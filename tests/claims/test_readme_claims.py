"""The claims of docs/reliability.md (faults and security) that no other test covered, one test each: Ctrl-C exits
130 with its line; ``--force`` re-measures; a cached artifact whose bytes changed is rebuilt; an MLflow
run left RUNNING is logged again; the MLflow probe's 2 s bound; throttling during timing marks the
result invalid; the archive size and member-count limits; a meter command is split into arguments,
never given to a shell.

The sweeps here use a task that trains nothing (a small ONNX classifier made with onnx.helper and an
.npz of digits), with a cache of their own, so each costs a job process and LoadGen's quick runs only.
The first test checks that docs/reliability.md still states what the others check, so the page and the
tests cannot drift apart.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from suite.records.store import load_record
from tests.conftest import REPO, edgeq
from tests.support.models import tiny_onnx

INTERRUPTED = "edgeq: interrupted; records written so far are complete"
STOPPED = "edgeq: stopped by {}; records written so far are complete"


@pytest.fixture(scope="module")
def onnx_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A task file: the tiny ONNX classifier on 60 real digits (scikit-learn's), nothing to train."""
    from sklearn.datasets import load_digits

    folder = tmp_path_factory.mktemp("onnx-task")
    tiny_onnx(folder / "tiny.onnx")
    digits = load_digits()
    np.savez(folder / "digits.npz", x=(digits.images[:60] / 16.0).astype(np.float32)[:, None], y=digits.target[:60])
    task = {
        "name": "tiny-onnx",
        "model": {"source": "onnx", "name": "tiny", "path": "tiny.onnx"},
        "dataset": {"name": "npz", "path": "digits.npz", "n_eval": 40, "n_calibration": 10},
        "input": {"shape": [1, 8, 8], "layout": "NCHW"},
        "num_classes": 10,
        "methods": ["fp32"],
    }
    path = folder / "tiny-onnx.yaml"
    path.write_text(yaml.safe_dump(task))
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    return {"EDGEQ_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "250"}


def _records(results_dir: Path) -> dict[str, dict]:
    return {r["method"]["name"]: r for r in map(load_record, (results_dir / "records").rglob("*.json"))}


RELIABILITY = REPO / "docs" / "reliability.md"


def test_docs_reliability_states_the_claims_checked_here() -> None:
    """Each claim tested below is written in docs/reliability.md, with the same figures, and the page
    names this file as the test that checks it."""
    text = " ".join(RELIABILITY.read_text(encoding="utf-8").split())
    for claim in (
        INTERRUPTED,  # Ctrl-C
        "`--force` re-measures the same job id",
        "a cached artifact whose sha256 no longer matches",
        "a run cut off mid-logging (left `RUNNING`) is logged again",
        "The sweep probes the tracking store once (at most 2 s;",
        '`invalid_reason: "throttled: ..."`',
        "64 GiB and 200,000 members at most",
        "split into arguments and run without a shell",
    ):
        assert claim in text, f"docs/reliability.md no longer says: {claim}"
    checked_here = [row for row in text.split(" | ") if "tests/claims/test_readme_claims.py" in row]
    assert len(checked_here) >= 6, "docs/reliability.md's table no longer names this file for its claims"


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("stop", "to_group", "code", "line"),
    [
        (signal.SIGINT, True, 130, INTERRUPTED),  # a terminal's Ctrl-C: the whole process group
        (signal.SIGTERM, False, 143, STOPPED.format("SIGTERM")),  # `docker stop`, `kill`: the sweep alone
        (signal.SIGTERM, True, 143, STOPPED.format("SIGTERM")),  # systemd's control-group stop
        (signal.SIGHUP, True, 129, STOPPED.format("SIGHUP")),  # a closed terminal
    ],
    ids=["SIGINT", "SIGTERM", "SIGTERM-group", "SIGHUP-group"],
)
def test_ctrl_c_exits_130_with_its_line_and_keeps_finished_records(
    onnx_task: Path, tmp_path: Path, results_dir: Path, stop: int, to_group: bool, code: int, line: str
) -> None:
    """Ctrl-C, and SIGTERM and SIGHUP handled like it: one line naming the signal, exit 128 + signal,
    the job process ended, the finished record kept, no temp file and no leaked-semaphore warning."""
    marker = tmp_path / "slow-started"
    args = [
        sys.executable,
        "-m",
        "suite",
        "bench",
        "--quick",
        "--no-mlflow",
        "--tasks",
        str(onnx_task),
        "--methods",
        "fp32,test-slow",
        "--set",
        f"test-slow.marker={marker}",
    ]
    env = {**os.environ, **_env(tmp_path), "EDGEQ_PLUGINS": "tests.support.faulty_plugins"}
    # Its own session, so the signal goes to the sweep's process group as a terminal's Ctrl-C does; SIGINT
    # at its default, as in a terminal (a shell's background job, a CI runner, inherits it ignored, and
    # Python then leaves it ignored).
    sweep = subprocess.Popen(
        args,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists() and sweep.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), sweep.communicate(timeout=30)
        if to_group:
            os.killpg(sweep.pid, stop)
        else:
            os.kill(sweep.pid, stop)
        try:
            out, err = sweep.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # say where it waits (suite.cli.main: SIGUSR1 dumps the stacks)
            os.kill(sweep.pid, signal.SIGUSR1)
            time.sleep(2)
            os.killpg(sweep.pid, signal.SIGKILL)
            out, err = sweep.communicate(timeout=30)
            pytest.fail(
                f"the sweep did not exit within 60 s of {signal.Signals(stop).name}; its stacks:\n{err[-6000:]}"
            )
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
            sweep.wait()
    assert sweep.returncode == code, (out, err)
    assert "Traceback" not in out + err
    assert "leaked" not in err, err  # multiprocessing's resource tracker saw every semaphore released
    assert err.strip().splitlines()[-1] == line, err
    worker = int(marker.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.1)
    assert not _alive(worker), "the job process outlived the interrupted sweep"
    records = _records(results_dir)
    assert list(records) == ["fp32"] and records["fp32"]["status"] == "ok"  # complete; the interrupted job has none
    assert not [p for p in (results_dir / "records").rglob("*") if p.name.startswith(".")]  # no temp file left


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_force_remeasures_and_a_changed_cached_artifact_is_rebuilt(
    onnx_task: Path, tmp_path: Path, results_dir: Path
) -> None:
    args = ("bench", "--quick", "--no-mlflow", "--tasks", str(onnx_task), "--methods", "fp32", "--runtimes", "ort")
    first = edgeq(*args, env=_env(tmp_path))
    assert first.returncode == 0, first.stdout + first.stderr
    (path,) = list((results_dir / "records").rglob("*.json"))
    original = load_record(path)
    assert original["artifact"]["cached"] is False  # (a rerun without --force reuses it: test_bench_e2e)

    cached = Path(original["artifact"]["path"])
    assert cached.is_file() and str(tmp_path / "cache") in str(cached)
    cached.write_bytes(cached.read_bytes() + b"\0")  # a bad disk, a hand edit: the bytes no longer match
    forced = edgeq(*args, "--force", env=_env(tmp_path))
    assert forced.returncode == 0, forced.stdout + forced.stderr
    redone = load_record(path)  # same job, same file
    assert redone["job_id"] == original["job_id"] and redone["fingerprint"] == original["fingerprint"]
    assert redone["latency"]["per_run_p50_ms"] != original["latency"]["per_run_p50_ms"]  # timed again
    assert redone["artifact"]["cached"] is False  # rebuilt, not taken from the changed cache entry
    assert redone["artifact"]["sha256"] == original["artifact"]["sha256"]  # the same bytes as first built
    assert redone["accuracy"]["top1"] == original["accuracy"]["top1"]


@pytest.mark.slow
def test_an_mlflow_run_left_running_is_logged_again(tmp_path: Path) -> None:
    """A run cut off mid-logging (status RUNNING) does not count as logged: ``edgeq sync`` logs the
    record again, and a second sync finds the finished run and logs nothing."""
    from suite.tracking.mlflow import FINGERPRINT_TAG, Tracker
    from suite.tracking.sink import sync
    from tests.support.publish_records import make_record

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    record = make_record("fp32", 0.98, 2.0)
    tracker = Tracker(uri)
    exp = tracker.experiment_id("digits-cnn")
    tracker.client.create_run(
        exp, tags={FINGERPRINT_TAG: record["fingerprint"], "edgeq.kind": "job"}
    )  # never terminated
    path = tmp_path / "r.json"
    path.write_text(json.dumps(record))
    assert sync([(record, path)], uri) == (1, 0)
    assert sync([(record, path)], uri) == (0, 1)
    runs = tracker.client.search_runs([exp], filter_string=f"tags.`{FINGERPRINT_TAG}` = '{record['fingerprint']}'")
    assert sorted(r.info.status for r in runs) == ["FINISHED", "RUNNING"]


class _SilentServer:
    """A TCP server on 127.0.0.1 that accepts and then, per ``drip``, says nothing or sends one byte
    every 0.5 s: a hung MLflow server. Bounded: it closes every connection after 20 s and stops when told."""

    def __init__(self, drip: bool) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.drip = drip
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conns = []
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
                conns.append((conn, time.monotonic()))
            except OSError:
                pass
            for conn, since in list(conns):
                if self.drip:
                    try:
                        conn.send(b"H")
                    except OSError:
                        pass
                if time.monotonic() - since > 20:
                    conn.close()
                    conns.remove((conn, since))
            self.stop.wait(0.5 if self.drip else 0.05)
        for conn, _ in conns:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("drip", [False, True], ids=["silent", "drip-feeding"])
def test_mlflow_probe_gives_up_within_its_2_s_bound(drip: bool) -> None:
    """The bound is a correctness property (a sweep never waits on a hung server), checked with slack
    for a loaded machine; urllib's own timeout alone would wait forever on the drip-feeding server."""
    from suite.tracking.mlflow import probe

    server = _SilentServer(drip)
    try:
        start = time.monotonic()
        problem = probe(f"http://127.0.0.1:{server.port}")
        elapsed = time.monotonic() - start
    finally:
        server.stop.set()
        server.thread.join(5)
    assert problem is not None and f"127.0.0.1:{server.port}" in problem
    assert 1.5 <= elapsed < 4.0, elapsed  # waited for the 2 s, and not much past it


def test_throttling_during_timing_marks_both_scenarios_invalid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from suite.job import hardware
    from suite.machine.target import load_target
    from suite.records.blocks import Blocks, assemble
    from tests.support import boards

    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("EDGEQ_SYSROOT", str(root))
    boards.orin_nano(root)
    profile = load_target(str(REPO / "hardware" / "jetson-orin-nano.yaml")).config
    assert "thermal_trip" in profile.throttle
    temp = root / "sys/class/thermal/thermal_zone0/temp"
    cool = temp.read_text()
    record = {"method": {"family": "baseline"}}
    blocks = Blocks(environment={"os": "Linux"}, latency={"valid": True}, throughput={"valid": True})
    before = hardware.begin(profile, blocks)
    temp.write_text("96500\n")  # past the passive trip point mid-window
    hardware.end(profile, record, blocks, before, None)
    assemble(record, blocks)
    for key in ("latency", "throughput"):
        assert record[key]["valid"] is False and record[key]["invalid_reason"].startswith("throttled: "), record[key]
    assert record["environment"]["throttled"]["throttled"] is True
    temp.write_text(cool)  # cooled down: a window without throttling stays valid
    calm = {"method": {"family": "baseline"}}
    blocks = Blocks(environment={"os": "Linux"}, latency={"valid": True}, throughput={"valid": True})
    hardware.end(profile, calm, blocks, hardware.begin(profile, blocks), None)
    assemble(calm, blocks)
    assert calm["latency"]["valid"] is True and calm["environment"]["throttled"]["throttled"] is False


def test_archive_size_and_member_count_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from suite.bundle import archives
    from suite.errors import BadInput

    claims = tmp_path / "claims-65-gib.tar"  # a header that claims 65 GiB: refused before anything is written
    with tarfile.open(claims, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("model.onnx")
        info.size = 65 * 2**30
        tar.addfile(info)
    assert archives.MAX_BYTES == 64 * 2**30
    with pytest.raises(BadInput, match="unpacks to more than 64 GiB"):
        archives.safe_extract(claims, tmp_path / "out1")
    assert not any((tmp_path / "out1").iterdir())

    many = tmp_path / "many.tar"
    with tarfile.open(many, "w") as tar:
        for i in range(12):
            info = tarfile.TarInfo(f"f{i}")
            tar.addfile(info, io.BytesIO(b""))
    monkeypatch.setattr(archives, "MAX_MEMBERS", 10)  # the 200,000 of a real bundle, lowered to keep this small
    with pytest.raises(BadInput, match="more than 10 members"):
        archives.safe_extract(many, tmp_path / "out2")
    assert not any((tmp_path / "out2").iterdir())


def test_meter_command_is_split_into_arguments_never_given_to_a_shell(tmp_path: Path) -> None:
    from suite.power.external import ExternalMeterSensor
    from tests.support import boards

    seen = tmp_path / "argv.json"
    pwned = tmp_path / "pwned"
    script = boards.fake_tool(
        tmp_path / "bin",
        "meter",
        f"""
        import json, sys, time
        open({str(seen)!r}, "w").write(json.dumps(sys.argv[1:]))
        while True:
            print("2.0", flush=True)
            time.sleep(0.02)
    """,
    )
    command = f"{script} 'two words' $HOME ; touch {pwned} && echo `id`"
    sensor = ExternalMeterSensor(command=command, settle_s=2.0)
    assert sensor.probe().ok
    sensor.start()
    time.sleep(0.3)
    reading = sensor.stop()
    assert reading.avg_w == pytest.approx(2.0)
    assert json.loads(seen.read_text()) == ["two words", "$HOME", ";", "touch", str(pwned), "&&", "echo", "`id`"]
    assert not pwned.exists()  # no shell ran the ';' or the '&&'
