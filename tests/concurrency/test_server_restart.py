"""The MLflow server restarted in the middle of a sweep (killed, then started again on its database):
the sweep goes on with records only and exits 0, `edgeq sync` logs what is missing, and every record
ends with exactly one finished run (a run the dead server left RUNNING is removed by its next logger)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from suite.records.store import load_record
from tests.conftest import REPO, free_port

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _server(root: Path, port: int) -> subprocess.Popen:
    log = open(root / "server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"]
        + ["--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port)]
        + ["--workers", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=root,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((root / "server.log").read_text()[-2000:])
        time.sleep(0.5)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


@pytest.mark.timeout(900)
def test_mlflow_restarted_mid_sweep_ends_with_one_run_per_record(tmp_path: Path, results_dir: Path) -> None:
    root = tmp_path / "server"
    root.mkdir()
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    server = _server(root, port)
    env = {**os.environ, "EDGEQ_RESULTS_DIR": str(results_dir), "MLFLOW_TRACKING_URI": uri, "COLUMNS": "250"}
    args = [sys.executable, "-m", "suite", "bench", "--tasks", "digits-cnn", "--methods", "fp32,ptq-static,dynamic"]
    args += ["--runtimes", "ort", "--quick", "--limit", "130"]
    try:
        sweep = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 600
        while not list((results_dir / "records").rglob("*.json")) and sweep.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        _kill(server)  # mid-sweep: the first record is written, its run may be half-logged
        time.sleep(1)
        server = _server(root, port)
        out, _ = sweep.communicate(timeout=600)
        assert sweep.returncode == 0, out[-4000:]
        sync = subprocess.run(
            [sys.executable, "-m", "suite", "sync", "--uri", uri], cwd=REPO, env=env, capture_output=True, text=True
        )
        assert sync.returncode == 0, sync.stdout + sync.stderr
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name("edgeq/digits-cnn")
        records = [load_record(p) for p in (results_dir / "records").rglob("*.json")]
        assert len(records) == 3
        for record in records:
            runs = client.search_runs(
                [experiment.experiment_id], filter_string=f"tags.`edgeq.fingerprint` = '{record['fingerprint']}'"
            )
            assert [r.info.status for r in runs] == ["FINISHED"], (record["method"]["name"], out[-3000:])
    finally:
        _kill(server)
