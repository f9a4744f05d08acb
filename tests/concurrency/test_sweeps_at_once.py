"""Two `edgeq bench` sweeps started together on one empty results root and one empty cache (the issue's
case: both ran every job, one failed on the other's half-built artifact): each job is measured by one of
them and reused by the other, each artifact is built once, both exit 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from suite.records.store import load_record
from tests.conftest import REPO


def _reused(out: str) -> int:
    found = re.search(r"(\d+) job\(s\) reused from their records", out)
    return int(found.group(1)) if found else 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_sweeps_at_once_measure_each_job_once(tmp_path: Path, results_dir: Path) -> None:
    env = {
        **os.environ,
        "EDGEQ_RESULTS_DIR": str(results_dir),
        "EDGEQ_CACHE_DIR": str(tmp_path / "cache"),  # empty: both sweeps train and build at the same time
        "COLUMNS": "250",
    }
    args = [sys.executable, "-m", "suite", "bench", "--tasks", "digits-cnn", "--methods", "fp32,ptq-static"]
    args += ["--runtimes", "ort,openvino", "--quick", "--no-mlflow"]  # two jobs per artifact
    t0 = time.monotonic()
    sweeps = [
        subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [sweep.communicate(timeout=840) for sweep in sweeps]
    wall = time.monotonic() - t0
    for sweep, (out, err) in zip(sweeps, outputs):
        assert sweep.returncode == 0, (out, err)
        assert "Traceback" not in out + err
    records = [load_record(p) for p in (results_dir / "records").rglob("*.json")]
    assert len(records) == 4 and all(r["status"] == "ok" for r in records), [r.get("error") for r in records]
    reused = sum(_reused(out) for out, _ in outputs)
    measured = 2 * len(records) - reused
    print(f"two sweeps at once: {wall:.1f} s wall, {measured} job runs for {len(records)} jobs")
    assert measured == len(records), outputs  # each job measured by one sweep, reused by the other
    built = {}
    for record in records:  # one record per artifact says it was built, the other found it cached
        built.setdefault(record["artifact"]["sha256"], []).append(record["artifact"]["cached"])
    assert sorted(map(sorted, built.values())) == [[False, True], [False, True]], built
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if ".building" in p.name or p.suffix == ".lease"]
    assert not leftovers and not list((results_dir / "records").rglob("*.lease"))
