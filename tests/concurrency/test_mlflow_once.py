"""Exactly one MLflow run per record against a real `mlflow server` on 127.0.0.1, however many processes
sync at once: three `edgeq sync` on the records' own results root (they take turns through the record's
lease) and two from copies of the records in other folders (no shared lease: they dedup after logging,
keeping the oldest run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from suite.tracking.mlflow import RECORD_TAG, record_id
from tests.conftest import REPO
from tests.support.publish_records import make_record, write_records

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.mark.timeout(600)
def test_five_syncs_at_once_leave_one_run_per_record(tmp_path: Path, results_dir: Path, mlflow_server: str) -> None:
    task = f"conc-{uuid.uuid4().hex[:8]}"  # the server is shared by the session: an experiment of our own
    records = [
        make_record(method, 0.9 + i / 100, 1.0 + i, task=task, created_at=f"2026-05-01T10:0{i}:00Z")
        for i, method in enumerate(["fp32", "ptq-static", "dynamic", "nncf-ptq"])
    ]
    write_records(results_dir, records)
    copies = []
    for n in range(2):
        copy = tmp_path / f"copy-{n}"
        shutil.copytree(results_dir / "records", copy / "records")
        copies.append(copy)
    env = {**os.environ, "EDGEQ_RESULTS_DIR": str(results_dir)}
    commands = [[sys.executable, "-m", "suite", "sync", "--uri", mlflow_server] for _ in range(3)]
    commands += [[sys.executable, "-m", "suite", "sync", "--uri", mlflow_server, "--from", str(c)] for c in copies]
    procs = [
        subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for cmd in commands
    ]
    outputs = [proc.communicate(timeout=500) for proc in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, (out, err)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name(f"edgeq/{task}")
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.`edgeq.kind` = 'job'", max_results=100)
    by_record: dict[str, list[str]] = {}
    for run in runs:
        by_record.setdefault(run.data.tags.get(RECORD_TAG, ""), []).append(run.info.status)
    assert by_record == {record_id(r): ["FINISHED"] for r in records}, (by_record, outputs)
    logged = sum(int(out.split()[1]) for out, _ in outputs)
    assert logged >= len(records)  # every record was logged by some process; the extra ones were deleted
    assert not list(results_dir.rglob("*.lease"))
