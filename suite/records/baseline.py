"""The one rule for a job's fp32 baseline: the record its accuracy delta, speed-up diagnosis and paired
accuracy comparison are measured against.

The baseline of a job is the newest ``ok`` record of a baseline-family method (fp32, tflite-fp32,
fp32-torch) for the same target and task whose inputs agree on everything that decides *what was
measured and how*: the task file, the model and dataset identity (file hashes), the full runtime entry
(name, threads, providers, options), the quick flag and the eval limit. So a quantized job on
``ort DLA0`` is compared with fp32 on ``ort DLA0``, never with fp32 on another entry of the same runtime,
and a ``--quick`` job with a ``--quick`` baseline.

Jobs and records carry the same ``inputs`` block (what the fingerprint hashes), so the rule reads only
that: a job about to be measured, a record imported from a board, and the leaderboard all agree.
"""

from __future__ import annotations

from typing import Any

from suite.records.store import RecordStore

MATCHED_INPUTS = ("task_sha256", "identity", "runtime", "quick", "limit")


def same_setup(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Do two ``inputs`` blocks measure the same thing the same way (all but method and parameters)?"""
    return all(a.get(key) == b.get(key) for key in MATCHED_INPUTS)


def baseline_of(store: RecordStore, target: str, task: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """The newest ok baseline-family record of ``target``/``task`` measured like ``inputs``, or None."""
    best = None
    for record in store.iter_records(target, task):
        if (
            record.get("status") == "ok"
            and (record.get("method") or {}).get("family") == "baseline"
            and same_setup(record.get("inputs") or {}, inputs)
            and (best is None or str(record.get("created_at", "")) > str(best.get("created_at", "")))
        ):
            best = record
    return best
