"""The load test: four sweeps (three here, one through the fleet) and two fleet workers on one machine,
one results root and one cache, a real redis-server and a real `mlflow server` on 127.0.0.1, all on
digits-cnn's methods. No job fails, each job has one record and one MLflow run, no job is measured twice,
and the leaderboard is the one a rebuild from the records gives. Prints the wall time and the duplicate
work (job runs beyond one per job)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from suite.records.store import load_record
from suite.tracking.mlflow import RECORD_TAG, record_id
from tests.conftest import REPO
from tests.fleet.test_fleet import _stop, _wait_for, redis_server  # noqa: F401  (redis_server: a fixture)

pytestmark = [pytest.mark.server, pytest.mark.slow]

COMMON = ["--tasks", "digits-cnn", "--runtimes", "ort", "--quick", "--limit", "130"]
LOCAL_SWEEPS = ["fp32,ptq-static,dynamic", "dynamic,fp16,fp32", "fp16,int4,ptq-static"]
FLEET_SWEEP = "fp32,ptq-static,dynamic,fp16,int4"


def _reused(out: str) -> int:
    found = re.search(r"(\d+) job\(s\) reused from their records", out)
    return int(found.group(1)) if found else 0


@pytest.mark.timeout(1500)
def test_four_sweeps_and_two_workers_on_one_results_root(
    tmp_path: Path,
    results_dir: Path,
    redis_server,  # noqa: F811  (the fixture imported above)
    mlflow_server: str,
) -> None:
    env = {
        **os.environ,
        "EDGEQ_RESULTS_DIR": str(results_dir),
        "EDGEQ_CACHE_DIR": str(tmp_path / "cache"),  # empty: the builds race too
        "EDGEQ_BROKER_URL": redis_server["url"],
        "EDGEQ_BROKER_PASSWORD": redis_server["password"],
        "MLFLOW_TRACKING_URI": mlflow_server,
        "COLUMNS": "250",
    }
    workers: list[tuple[subprocess.Popen, Path]] = []
    sweeps: list[tuple[subprocess.Popen, Path, int]] = []
    t0 = time.monotonic()
    try:
        for n in range(2):
            log = tmp_path / f"worker-{n}.log"
            proc = subprocess.Popen(
                [sys.executable, "-m", "suite", "worker", "--target", "local-cpu"],
                cwd=REPO,
                env=env,
                stdout=open(log, "wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            workers.append((proc, log))
        for proc, log in workers:
            _wait_for(
                lambda p=proc, f=log: " ready." in f.read_text(errors="replace") or p.poll() is not None,
                180,
                "a worker",
            )
            assert proc.poll() is None, log.read_text()[-3000:]
        commands = [(["bench", "--methods", m, *COMMON], len(m.split(","))) for m in LOCAL_SWEEPS]
        commands.append((["bench", "--fleet", "--target", "local-cpu", "--methods", FLEET_SWEEP, *COMMON], 5))
        for n, (args, planned) in enumerate(commands):
            log = tmp_path / f"sweep-{n}.log"
            proc = subprocess.Popen(
                [sys.executable, "-m", "suite", *args],
                cwd=REPO,
                env=env,
                stdout=open(log, "wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            sweeps.append((proc, log, planned))
        for proc, _log, _planned in sweeps:
            proc.wait(timeout=1200)
        wall = time.monotonic() - t0
        outs = [log.read_text(errors="replace") for _, log, _ in sweeps]
        for (proc, _, _), out in zip(sweeps, outs):
            assert proc.returncode == 0, out[-4000:]
            assert "Traceback" not in out, out[-4000:]
    finally:
        for proc, _, _ in sweeps:
            if proc.poll() is None:
                _stop(proc)
        for proc, _ in workers:
            _stop(proc)
    worker_logs = [log.read_text(errors="replace") for _, log in workers]

    records = [load_record(p) for p in sorted((results_dir / "records").rglob("*.json"))]
    assert len(records) == 5 and all(r["status"] == "ok" for r in records), [(r["method"], r["error"]) for r in records]
    assert len({r["job_id"] for r in records}) == 5

    # Duplicate work: every job run beyond one per job (local sweeps: planned - reused; workers: "ran").
    local_runs = sum(planned - _reused(out) for (_, _, planned), out in zip(sweeps[:3], outs[:3]))
    worker_runs = sum(len(re.findall(r"edgeq worker: job \w+ ran:", log)) for log in worker_logs)
    duplicates = local_runs + worker_runs - len(records)
    print(
        f"load test: 4 sweeps + 2 workers, {len(records)} jobs in {wall:.1f} s wall; "
        f"{local_runs} measured by the sweeps, {worker_runs} by the workers, {duplicates} measured twice"
    )
    assert duplicates == 0, (outs, worker_logs)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name("edgeq/digits-cnn")
    for record in records:  # the server is shared by the session: look runs up by this record's ids
        runs = client.search_runs(
            [experiment.experiment_id], filter_string=f"tags.`edgeq.fingerprint` = '{record['fingerprint']}'"
        )
        assert [r.data.tags.get(RECORD_TAG) for r in runs] == [record_id(record)], record["method"]["name"]

    from suite.publish.build import build
    from suite.records.store import RecordStore

    rebuilt = tmp_path / "rebuilt"
    build(list(RecordStore(results_dir).iter_records()), rebuilt, ["local-cpu"])
    published = results_dir / "leaderboard"
    for rel in ["local-cpu/leaderboard.csv", "local-cpu/leaderboard.json", "index.html", "cross-target.csv"]:
        assert (published / rel).read_text() == (rebuilt / rel).read_text(), rel
    leftovers = [
        p for p in results_dir.rglob("*") if p.suffix == ".lease" or ".building" in p.name or p.name.startswith(".")
    ]
    assert not leftovers, leftovers
