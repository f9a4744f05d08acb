"""Records with known numbers, for the publishing tests (leaderboards, Pareto fronts, HTML, compare).

They follow the record schema ``edgeq.record/1`` field by field, as ``suite.job.run`` writes it, so the
tables are built from exactly what a sweep would leave on disk; only the numbers are chosen.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from suite.measure.stats import coefficient_of_variation
from suite.records.store import SCHEMA, RecordStore


def make_record(
    method: str,
    top1: float | None,
    p50_ms: float | None,
    *,
    target: str = "bench-a",
    task: str = "digits-cnn",
    family: str | None = None,
    params: dict[str, Any] | None = None,
    runtime: str = "ort",
    version: str = "1.32.0",
    provider: str = "CPUExecutionProvider",
    simulated: bool = False,
    simulated_top1: float | None = None,
    fp32_top1: float | None = 0.97,
    per_run_p50_ms: list[float] | None = None,
    items_per_s: float | None = 1000.0,
    mj_per_item: float | None = None,
    avg_w: float | None = None,
    power_reason: str = "rapl: no RAPL package domain under /sys/class/powercap (a VM)",
    status: str = "ok",
    error: str | None = None,
    size_bytes: int = 40_000,
    bits: tuple[int, int] = (8, 8),
    quick: bool = False,
    created_at: str = "2026-05-01T10:00:00Z",
    commit: str = "0123456789abcdef0123456789abcdef01234567",
    packages: dict[str, str] | None = None,
    n_eval: int = 540,
    p50_ci: tuple[float, float] | None = None,
    precision_met: bool | None = None,
    significant: bool | None = None,
) -> dict[str, Any]:
    """One record; its job id is the hash of what tells it apart, as a real fingerprint would be."""
    params = params if params is not None else {}
    fp = hashlib.sha256(
        json.dumps(
            [target, task, method, params, runtime, version, provider, quick, created_at], sort_keys=True
        ).encode()
    ).hexdigest()
    runs = per_run_p50_ms or ([p50_ms] * 3 if p50_ms is not None else [])
    mean = sum(runs) / len(runs) if runs else None
    cv = coefficient_of_variation(runs) if runs and mean else None  # the suite's own formula (sample std / mean)
    measured = mj_per_item is not None
    ok = status == "ok"
    return {
        "schema": SCHEMA,
        "job_id": fp[:16],
        "fingerprint": fp,
        "status": status,
        "error": error,
        "error_tail": None,
        "created_at": created_at,
        "task": {
            "name": task,
            "file_sha256": "t" * 64,
            "dataset": {"name": "sklearn-digits", "n_eval": 540, "n_calibration": 256, "seed": 0},
        },
        "method": {"name": method, "family": family or ("baseline" if method == "fp32" else "ptq"), "params": params},
        "target": {"name": target, "matched": True, "override": False},
        "runtime": {
            "name": runtime,
            "version": version,
            "provider": provider,
            "providers_requested": [provider],
            "threads": 1,
            "delegate": None,
            "fallback": False,
        },
        "artifact": None
        if not ok
        else {
            "format": "onnx",
            "path": f"/cache/{method}.onnx",
            "sha256": fp,
            "size_bytes": size_bytes,
            "simulated": simulated,
            "weight_bits": bits[0],
            "activation_bits": bits[1],
            "precision_map": {"int8" if bits[0] == 8 else f"w{bits[0]}": 4},
            "compressed_size_bytes": size_bytes // 2,
        },
        "accuracy": None
        if not ok
        else {
            "metric": "top1",
            "top1": top1,
            "top5": min(1.0, (top1 or 0) + 0.02) if top1 is not None else None,
            "n": n_eval,
            "fp32_top1": fp32_top1,
            "delta_top1": (top1 - fp32_top1) if top1 is not None and fp32_top1 is not None else None,
            "simulated_top1": simulated_top1,
            **(
                {"vs_fp32": {"mcnemar_p": 0.01 if significant else 0.5, "significant": significant}}
                if significant is not None
                else {}
            ),
        },
        "latency": None
        if not ok
        else {
            "scenario": "single_stream",
            "p50_ms": p50_ms,
            "p90_ms": p50_ms * 1.1 if p50_ms else None,
            "p99_ms": p50_ms * 1.3 if p50_ms else None,
            "mean_ms": p50_ms,
            "early_stopping_p90_ms": None,
            "queries": 5000,
            "runs": len(runs),
            "per_run_p50_ms": runs,
            "cv": cv,
            "unstable": bool(cv and cv > 0.1),
            "valid": True,
            "quick": quick,
            **(
                {
                    "mode": "precision",
                    "p50_ci_ms": list(p50_ci),
                    "precision_met": precision_met,
                    "ci_half_width_pct": max(p50_ms - p50_ci[0], p50_ci[1] - p50_ms) / p50_ms * 100,
                }
                if p50_ci and p50_ms
                else {}
            ),
        },
        "throughput": None
        if not ok
        else {
            "scenario": "offline",
            "items_per_s": items_per_s,
            "per_run_items_per_s": [items_per_s] * 3 if items_per_s else [],
            "samples": 3,
            "batch_size": 32,
            "runs": 3,
            "cv": 0.0,
            "unstable": False,
            "valid": True,
            "quick": quick,
        },
        "power": {
            "status": "measured" if measured else "unavailable",
            "reason": None if measured else power_reason,
            "sensor": "rapl" if measured else None,
            "boundary": "cpu_package" if measured else None,
            "method": "energy_counter" if measured else None,
            "avg_w": avg_w,
            "energy_j": None,
            "mj_per_item": mj_per_item,
            "window_s": 2.0 if measured else None,
            "samples": None,
        },
        "environment": {
            "packages": packages or {"onnxruntime": version, "numpy": "2.4.6"},
            "cpu": {"model": "Test CPU 9000", "arch": "x86_64", "flags": ["avx2", "avx512_vnni"], "cores": 2},
            "os": "Linux Debian GNU/Linux 12 (bookworm)",
            "kernel": "6.1.0",
            "governor": "performance",
            "git": {"commit": commit, "dirty": False},
            "temperatures": {},
            "throttled": None,
        },
        "timings_s": {"prepare": 0.1, "evaluate": 0.1, "measure": 1.0},
    }


def write_records(root: Path, records: list[dict[str, Any]]) -> RecordStore:
    """Write records where a sweep would (``<root>/records/<target>/<task>/<job>.json``)."""
    store = RecordStore(root)
    for record in records:
        store.write(record)
    return store
