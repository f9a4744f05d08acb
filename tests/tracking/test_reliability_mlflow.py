"""MLflow faults: a dead server costs nothing but a warning; sync fills it later; sqlite is shared safely."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from suite.records.store import load_record
from tests.conftest import REPO, edgeq, free_port


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.timeout(600)
def test_closed_port_sweep_finishes_then_sync_fills_a_real_server(results_dir: Path, mlflow_server: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    # --limit 97: fingerprints no other test produces, so this test's runs are told apart on the shared server.
    args = ("bench", "--quick", "--methods", "fp32,dynamic", "--runtimes", "ort", "--limit", "97")  # one run each
    r = edgeq(*args, env={"MLFLOW_TRACKING_URI": closed, "COLUMNS": "250"})
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    files = sorted((results_dir / "records").rglob("*.json"))
    assert len(files) == 2 and all(load_record(f)["status"] == "ok" for f in files)
    warnings = [line for line in out.splitlines() if "warning" in line.lower()]
    assert len(warnings) == 1, warnings
    assert "MLflow: 2 run(s) wait for `edgeq sync`" in warnings[0] and closed in warnings[0]
    assert "Traceback" not in out

    s = edgeq("sync", env={"MLFLOW_TRACKING_URI": mlflow_server})
    assert s.returncode == 0, s.stdout + s.stderr
    assert f"synced 2 run(s) to {mlflow_server}; 0 already there" in s.stdout

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name("edgeq/digits-cnn")
    for f in files:
        rec = load_record(f)
        runs = client.search_runs(
            [exp.experiment_id], filter_string=f"tags.`edgeq.fingerprint` = '{rec['fingerprint']}'"
        )
        assert len(runs) == 1
        assert runs[0].data.metrics["acc/top1"] == pytest.approx(rec["accuracy"]["top1"])
        assert runs[0].info.status == "FINISHED"

    again = edgeq("sync", env={"MLFLOW_TRACKING_URI": mlflow_server})
    assert "synced 0 run(s)" in again.stdout and "2 already there" in again.stdout  # idempotent


WRITER = textwrap.dedent(
    """
    import sys
    from suite.tracking import mlflow as tracking
    from suite.records.store import empty_record

    uri, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tracker = tracking.Tracker(uri, f"sweep {who}")
    for i in range(n):
        rec = empty_record(f"{who}{i:04d}", f"{who}-{i}")
        rec.update(status="ok", task={"name": "digits-cnn"}, target={"name": "local-cpu"},
                   method={"name": "fp32", "family": "baseline", "params": {}}, runtime={"name": "ort"},
                   accuracy={"top1": 0.5 + i / 1000})
        tracker.log(rec)
    tracker.finish()
    print("done", who)
    """
)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_concurrent_sweeps_share_a_new_sqlite_store(tmp_path: Path) -> None:
    """Three writers open the same *new* embedded store at once (MLflow alone fails this: schema
    migrations race, 'table already exists'), then log runs concurrently ('database is locked')."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, uri, f"w{k}", "5"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(3)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err[-3000:]
        assert "done" in out

    import sqlite3

    db = sqlite3.connect(tmp_path / "mlflow.db")
    names = [row[0] for row in db.execute("select name from experiments where name like 'edgeq/%'")]
    assert names == ["edgeq/digits-cnn"]  # created once, not raced
    (jobs,) = db.execute("select count(*) from tags where key = 'edgeq.kind' and value = 'job'").fetchone()
    assert jobs == 15
    db.close()
