"""`edgeq worker` on SIGTERM (systemd's stop: the whole process group) finishes the job in flight, stores
and acknowledges its record, and exits 0 (Celery's warm shutdown; the job process ignores the signal):
the workstation gets the record, and the job is neither lost nor run a second time."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.fleet.test_fleet import _stop, _wait_for, redis_server  # noqa: F401  (redis_server: a fixture)

pytestmark = [pytest.mark.slow]


def _slow_profile(folder: Path) -> Path:
    """local-cpu as board `term-cpu`, ONNX Runtime only, with a SingleStream that lasts a few seconds."""
    data = yaml.safe_load((REPO / "hardware" / "local-cpu.yaml").read_text())
    data["name"] = "term-cpu"
    data["runtimes"] = [r for r in data["runtimes"] if r["name"] == "ort"]
    data["measurement"]["precision"]["single_stream"].update(min_duration_s=8, max_duration_s=10)
    data["measurement"]["job_timeout_s"] = 120
    data["dispatch"] = {"visibility_timeout_s": 150}
    path = folder / "term-cpu.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.timeout(900)
def test_sigterm_lets_the_worker_finish_its_job(tmp_path: Path, redis_server) -> None:  # noqa: F811
    profile = _slow_profile(tmp_path)
    env = {
        **os.environ,
        "EDGEQ_BROKER_URL": redis_server["url"],
        "EDGEQ_BROKER_PASSWORD": redis_server["password"],
        "EDGEQ_CACHE_DIR": str(tmp_path / "cache"),
        "COLUMNS": "250",
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "suite", "worker", "--target", str(profile)],
        cwd=REPO,
        env={**env, "EDGEQ_RESULTS_DIR": str(tmp_path / "board")},
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    bench = None
    try:
        _wait_for(lambda: " ready." in log.read_text(errors="replace") or worker.poll() is not None, 180, "the worker")
        assert worker.poll() is None, log.read_text()[-3000:]
        bench = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "suite",
                "bench",
                "--fleet",
                "--target",
                str(profile),
                "--share",
                str(tmp_path / "share"),
            ]
            + ["--tasks", "digits-cnn", "--methods", "fp32", "--limit", "130", "--no-mlflow"],
            cwd=REPO,
            env={**env, "EDGEQ_RESULTS_DIR": str(tmp_path / "workstation")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        _wait_for(lambda: "started on queue" in log.read_text(errors="replace"), 600, "the worker to start the job")
        os.killpg(worker.pid, signal.SIGTERM)  # mid-job, as systemd stops a unit
        assert worker.wait(timeout=300) == 0, log.read_text()[-3000:]
        out, _ = bench.communicate(timeout=300)
    finally:
        if bench is not None and bench.poll() is None:
            _stop(bench)
        if worker.poll() is None:
            _stop(worker)
    text = log.read_text(errors="replace")
    assert re.search(r"job \w+ ran: ok", text), text[-3000:]  # finished, not cut off
    assert len(re.findall(r"job \w+ started on queue", text)) == 1
    assert bench.returncode == 0, out[-3000:]
    assert re.search(r"\[1/1\] term-cpu: digits-cnn / fp32 / ort: ok from \S+\s*$", out, re.M), out[-3000:]
