"""Resume after SIGKILL, and records that are whole or absent: never half-written, never a stray file.

Real processes killed by pid: the sweep in the middle of a job, and a record writer in the middle of a
write. A full disk is simulated by making ``fsync``/``write`` fail with ENOSPC.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from suite.records import store as records
from suite.records.store import RecordStore, atomic_write_json, load_record
from tests.conftest import REPO, edgeq

FAULTY = {"EDGEQ_PLUGINS": "tests.support.faulty_plugins", "COLUMNS": "250"}


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _wait_for(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _dead(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _killed_writer(folder: Path) -> Path:
    """A real process killed by pid in the middle of an atomic record write: returns its temp file."""
    target = folder / "deadbeefdeadbeef.json"
    code = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from suite.records import store as records\n"
        "os.fsync = lambda fd: time.sleep(600)  # stall between write and rename\n"
        f"records.atomic_write_json(Path({str(target)!r}), {{'schema': 'edgeq.record/1', 'half': 'x' * 100000}})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    try:
        _wait_for(lambda: any(p.name.startswith(".") for p in folder.glob("*")), 60, "the writer's temp file")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    temps = [p for p in folder.iterdir() if p.name.startswith(".")]
    assert len(temps) == 1 and not target.exists()
    return temps[0]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkill_mid_job_then_rerun_skips_finished_and_does_the_rest(tmp_path: Path, results_dir: Path) -> None:
    marker = tmp_path / "slow-job-started"
    args = [
        "bench",
        "--quick",
        "--no-mlflow",
        "--methods",
        "fp32,test-slow,dynamic",
        "--runtimes",
        "ort",
        "--set",
        f"test-slow.marker={marker}",
    ]
    sweep = subprocess.Popen(
        [sys.executable, "-m", "suite", *args],
        cwd=REPO,
        env={**os.environ, **FAULTY},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(lambda: marker.exists() or sweep.poll() is not None, 300, "the slow job to start")
        assert sweep.poll() is None, sweep.communicate()[0]
        worker_pid = int(marker.read_text())
        assert worker_pid != sweep.pid and psutil.Process(worker_pid).ppid() == sweep.pid  # a separate process
    finally:
        os.kill(sweep.pid, signal.SIGKILL)  # in the middle of the test-slow job
        sweep.communicate()
    _wait_for(lambda: _dead(worker_pid), 10, "the orphaned worker to die with its parent")

    folder = results_dir / "records" / "local-cpu" / "digits-cnn"
    before = _files(results_dir / "records")
    leases = [p for p in before if p.suffix == ".lease"]  # the killed sweep's hold on test-slow
    before = [p for p in before if p.suffix != ".lease"]
    assert len(leases) == 1  # its owner is dead: the rerun takes it over (suite.records.lease)
    assert [p.parent for p in before] == [folder]  # the finished fp32 job, nothing else
    fp32_bytes = before[0].read_bytes()
    assert load_record(before[0])["method"]["name"] == "fp32"

    stale = _killed_writer(folder)  # and a writer killed mid-write left its temp file there

    r = edgeq(*args, env=FAULTY)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert f"removed {stale.name}" in out
    assert "1 job(s) reused" in out
    after = _files(results_dir / "records")
    assert all(p.suffix == ".json" and not p.name.startswith(".") for p in after), after  # no stray file
    recs = {rec["method"]["name"]: rec for rec in map(load_record, after)}
    assert sorted(recs) == ["dynamic", "fp32", "test-slow"]
    assert all(rec["status"] == "ok" for rec in recs.values())
    assert (folder / f"{recs['fp32']['job_id']}.json").read_bytes() == fp32_bytes  # not redone, not touched


def test_killed_writer_temp_is_never_read_and_is_cleaned(results_dir: Path) -> None:
    store = RecordStore()
    folder = store.root / "local-cpu" / "digits-cnn"
    folder.mkdir(parents=True)
    good = records.empty_record("0123456789abcdef", "f" * 64)
    good.update(
        task={"name": "digits-cnn"},
        target={"name": "local-cpu"},
        method={"name": "fp32"},
        runtime={"name": "ort"},
        status="ok",
    )
    store.write(good)
    stale = _killed_writer(folder)
    live = folder / f".x.json.{os.getpid()}.abcd1234.tmp"  # a writer that is still running: left alone
    live.write_text("{")
    assert [r["job_id"] for r in store.iter_records()] == ["0123456789abcdef"]  # temp files are never records
    assert store.clean_stale_temps() == [stale]
    assert not stale.exists() and live.exists()


def test_full_disk_on_fsync_leaves_the_old_record_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.json"
    atomic_write_json(path, {"v": "old"})

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError) as info:
        atomic_write_json(path, {"v": "new" * 1000})
    assert info.value.errno == errno.ENOSPC
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left
    assert json.loads(path.read_text()) == {"v": "old"}


def test_full_disk_mid_write_leaves_nothing_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills after part of the payload is on it: the partial temp file goes, no record appears."""
    real_fdopen = os.fdopen

    class HalfFull:
        def __init__(self, handle) -> None:  # type: ignore[no-untyped-def]
            self.handle = handle

        def write(self, data: str) -> int:
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
            self.handle.close()

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: HalfFull(real_fdopen(fd, *a, **k)))
    with pytest.raises(OSError):
        atomic_write_json(tmp_path / "new.json", {"v": "x" * 10000})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_full_disk_during_a_sweep_is_one_line_and_exit_2(
    results_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sweep's own process (the worker is spawned and unaffected) cannot write the record."""
    from suite.cli import main as cli

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    monkeypatch.setattr(sys, "argv", ["edgeq", "bench", "--quick", "--no-mlflow", "--methods", "fp32", "--limit", "50"])
    monkeypatch.setenv("COLUMNS", "250")
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("edgeq: error: ") and "cannot write the record (No space left on device)" in err[0]
    assert "finished jobs are kept" in err[0]
    assert not [p for p in (results_dir / "records").rglob("*") if p.is_file()]
