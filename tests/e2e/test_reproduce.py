"""``edgeq reproduce``: a record from the default sweep rebuilt from the record alone, empty cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from suite.records.store import load_record
from tests.conftest import REPO, edgeq

WIDE = {"COLUMNS": "250"}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_reproduce_ptq_record_gives_same_accuracy_and_artifact_hash(tmp_path: Path, results_dir: Path) -> None:
    """The default task with 4 training epochs instead of 40: reproducing retrains from scratch, and the
    test budget pays for that twice (the sweep, then the reproduction). The README's figures for the
    default sweep itself were measured the same way by hand."""
    task = yaml.safe_load((REPO / "tasks" / "digits-cnn.yaml").read_text())
    task["name"] = "digits-cnn-short"
    task["model"]["train"]["epochs"] = 4
    task_path = tmp_path / "digits-cnn-short.yaml"
    task_path.write_text(yaml.safe_dump(task))
    r = edgeq("bench", "--quick", "--no-mlflow", "--tasks", str(task_path), "--methods", "fp32,ptq-static", env=WIDE)
    assert r.returncode == 0, r.stdout + r.stderr
    records = {load_record(p)["method"]["name"]: p for p in (results_dir / "records").rglob("*.json")}
    original = load_record(records["ptq-static"])

    out = tmp_path / "again.json"
    rep = edgeq("reproduce", str(records["ptq-static"]), "--out", str(out), env=WIDE)
    text = rep.stdout + rep.stderr
    assert rep.returncode == 0, text
    assert "inputs     fingerprint" in text and ": identical" in text
    lines = {line.split()[0]: line for line in rep.stdout.splitlines() if line.strip()}
    assert lines["accuracy"].endswith("identical"), text
    assert lines["model"].endswith("identical"), text  # trained again from the seeded recipe
    assert lines["artifact"].endswith("identical"), text  # quantize_static wrote the same bytes
    assert "the recorded spread" in lines["latency"]
    assert rep.stdout.strip().splitlines()[-1] == "reproduced"

    again = load_record(out)
    assert again["accuracy"]["top1"] == original["accuracy"]["top1"]
    assert again["artifact"]["sha256"] == original["artifact"]["sha256"]
    assert again["artifact"]["cached"] is False  # rebuilt, not taken from the cache
    assert again["artifact"]["path"] != original["artifact"]["path"]


def test_reproduce_refuses_an_edited_record(tmp_path: Path) -> None:
    """A record whose embedded task text does not match its recorded hash is not silently trusted."""
    record = {
        "schema": "edgeq.record/1",
        "job_id": "0" * 16,
        "fingerprint": "0" * 64,
        "status": "ok",
        "task": {"name": "digits-cnn", "file_sha256": "a" * 64},
        "method": {"name": "fp32", "params": {}},
        "runtime": {"name": "ort"},
        "target": {"name": "local-cpu"},
        "inputs": {"profile_sha256": "b" * 64},
        "sources": {
            "task": {"path": str(tmp_path / "gone.yaml"), "text": "name: digits-cnn\n"},
            "profile": {"path": str(tmp_path / "gone-too.yaml"), "text": "name: x\n"},
        },
    }
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(record))
    r = edgeq("reproduce", str(path))
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "sources.task.text: its sha256 is not the recorded" in err[0], r.stderr


def test_reproduce_refuses_a_failed_record(tmp_path: Path) -> None:
    path = tmp_path / "failed.json"
    record = {
        "schema": "edgeq.record/1",
        "job_id": "1" * 16,
        "fingerprint": "1" * 64,
        "status": "failed",
        "task": {"name": "digits-cnn"},
        "method": {"name": "fp32"},
        "target": {"name": "local-cpu"},
        "runtime": {"name": "ort"},
    }
    path.write_text(json.dumps(record))
    r = edgeq("reproduce", str(path))
    assert r.returncode == 2
    assert (
        r.stderr.strip()
        == f"edgeq: error: {path}: status: got 'failed', expected 'ok' (only a finished job can be reproduced)"
    )
