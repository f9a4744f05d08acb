"""Job-process isolation: a segfault, a hang, an OOM kill and an exception each cost one job, not the sweep.

The faults come from test-only methods (``tests/support/faulty_plugins.py``) loaded into the sweep and its
spawned worker through ``EDGEQ_PLUGINS``; the jobs before and after them are real jobs that must
still be measured by a fresh worker.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import psutil
import pytest
import yaml

from suite.records.store import load_record
from tests.conftest import REPO, edgeq

FAULTY = {"EDGEQ_PLUGINS": "tests.support.faulty_plugins", "COLUMNS": "250"}


def profile_with_timeout(tmp_path: Path, seconds: float) -> Path:
    """local-cpu with short ``measurement.job_timeout_s`` and ``build_timeout_s`` (a hang must not cost
    15 minutes here)."""
    data = yaml.safe_load((REPO / "hardware" / "local-cpu.yaml").read_text())
    data["measurement"]["job_timeout_s"] = seconds
    data["measurement"]["build_timeout_s"] = 3 * seconds  # training the model first, on a loaded machine
    path = tmp_path / "local-cpu-short.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def records_by_method(results: Path) -> dict[str, dict]:
    files = sorted((results / "records").rglob("*"))
    stray = [f for f in files if f.is_file() and (f.suffix != ".json" or f.name.startswith("."))]
    assert not stray, f"stray files in the records folder: {stray}"
    return {r["method"]["name"]: r for r in (load_record(f) for f in files if f.is_file())}


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_segfault_hang_oom_and_exception_become_failed_records(tmp_path: Path, results_dir: Path) -> None:
    methods = "fp32,test-segfault,test-oom,test-raise,dynamic"
    r = edgeq("bench", "--quick", "--no-mlflow", "--methods", methods, "--runtimes", "ort", env=FAULTY)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out  # some jobs failed, after every job ran
    assert "Traceback" not in out
    # The hang gets a profile of its own with short bounds (the defaults are 60 and 15 minutes); the
    # build's bound counts from the job's start, so it must also cover importing torch in a fresh worker.
    profile = profile_with_timeout(tmp_path, 15)
    h = edgeq("bench", "--quick", "--no-mlflow", "--target", str(profile), "--methods", "test-hang", env=FAULTY)
    assert h.returncode == 1 and "Traceback" not in h.stdout + h.stderr, h.stdout + h.stderr

    recs = records_by_method(results_dir)
    assert set(recs) == {*methods.split(","), "test-hang"}
    assert recs["fp32"]["status"] == "ok" and recs["dynamic"]["status"] == "ok"  # after 4 faults, a new worker

    seg = recs["test-segfault"]
    assert seg["status"] == "failed" and seg["error_kind"] == "crash"
    assert "SIGSEGV" in seg["error"]
    tail = "\n".join(seg["error_tail"])
    assert "Fatal Python error: Segmentation fault" in tail  # faulthandler's dump from the worker
    assert "faulty_plugins.py" in tail and "test-segfault: about to read address 0" in tail

    hang = recs["test-hang"]
    assert hang["status"] == "failed" and hang["error_kind"] == "timeout"
    assert hang["error"].startswith("timed out after 45 s building (measurement.build_timeout_s")
    assert hang["timeout_phase"] == "build"  # test-hang hangs while quantizing: the build's bound ran out
    assert "test-hang: sleeping forever" in hang["error_tail"]

    oom = recs["test-oom"]
    assert oom["status"] == "failed" and oom["error_kind"] == "killed"
    assert "SIGKILL" in oom["error"] and "out-of-memory" in oom["error"]

    exc = recs["test-raise"]
    assert exc["status"] == "failed" and exc["error_kind"] == "exception"
    assert exc["error"] == "RuntimeError: test-raise: a bug in a method"

    for method in ("test-segfault", "test-hang", "test-oom", "test-raise"):
        rec = recs[method]
        assert "\n" not in rec["error"]
        assert rec["job_id"] and rec["fingerprint"] and rec["sources"]["task"]["text"]
        assert f"failed digits-cnn / {method}: {rec['error']}" in (r.stdout + h.stdout)  # the summary lists each

    # Every worker that ran a job is gone (the log lines name their pids), none left behind.
    pids = {
        int(m)
        for rec in recs.values()
        for line in rec.get("error_tail") or []
        for m in re.findall(r"edgeq job process (\d+):", line)
    }
    assert len(pids) >= 3
    deadline = time.monotonic() + 10
    while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(_gone(p) for p in pids), pids

    # --retry-failed redoes exactly the failed jobs; the others are reused from their records.
    before = {m: json.dumps(rec, sort_keys=True) for m, rec in recs.items()}
    r2 = edgeq(
        "bench",
        "--quick",
        "--no-mlflow",
        "--methods",
        "fp32,test-raise,dynamic",
        "--runtimes",
        "ort",
        "--retry-failed",
        env=FAULTY,
    )
    assert r2.returncode == 1, r2.stdout + r2.stderr
    assert "2 job(s) reused" in r2.stdout
    after = records_by_method(results_dir)
    assert json.dumps(after["fp32"], sort_keys=True) == before["fp32"]
    assert json.dumps(after["test-hang"], sort_keys=True) == before["test-hang"]  # not asked for: untouched
    assert after["test-raise"]["created_at"] >= recs["test-raise"]["created_at"]
    assert json.dumps(after["test-raise"], sort_keys=True) != before["test-raise"]  # it ran again
