"""The job's blocks are assembled into the record in one place: schema order kept, a stopped job keeps
what it measured, the environment gets the job's additions, assembling twice changes nothing."""

from __future__ import annotations

import json

from suite.records.blocks import Blocks, assemble
from suite.records.store import RECORD_KEYS, empty_record


def header() -> dict:
    record = empty_record("a" * 16, "a" * 64)
    record.update(task={"name": "t", "file_sha256": "x"}, runtime={"name": "ort"})
    return record


def test_assembled_in_schema_order_and_idempotent() -> None:
    blocks = Blocks(environment={"os": "Linux"}, task_added={"dataset": {"n_eval": 3}}, artifact={"format": "onnx"})
    blocks.accuracy = {"metric": "top1", "top1": 1.0}
    blocks.runtime = {"name": "ort", "provider": "CPU"}
    blocks.latency, blocks.throughput = {"p50_ms": 1.0, "valid": True}, {"items_per_s": 5.0, "valid": True}
    blocks.memory = {"peak_rss_mb": 10.0}
    blocks.environment_added["temperatures_after"] = {}
    blocks.invalidate("throttled: cpu0")
    blocks.diagnosed = True
    record = assemble(header(), blocks)
    assert list(record)[: len(RECORD_KEYS)] == list(RECORD_KEYS)
    assert list(record)[-2:] == ["memory", "diagnosis"]  # after every key of the empty record
    assert record["task"] == {"name": "t", "file_sha256": "x", "dataset": {"n_eval": 3}}
    assert record["environment"] == {"os": "Linux", "temperatures_after": {}}
    assert record["latency"]["invalid_reason"] == record["throughput"]["invalid_reason"] == "throttled: cpu0"
    again = json.dumps(assemble(json.loads(json.dumps(record)), blocks))
    assert again == json.dumps(record)


def test_a_job_that_stopped_keeps_what_it_measured() -> None:
    blocks = Blocks(environment={"os": "Linux"}, artifact={"format": "onnx"})
    blocks.accuracy = {"metric": "top1", "top1": 0.5}
    record = assemble(header(), blocks)  # timing never ran
    assert record["accuracy"]["top1"] == 0.5 and record["latency"] is None and record["runtime"] == {"name": "ort"}
    assert "diagnosis" not in record or record["diagnosis"] is None
