"""The core vertical slice through the real CLI: train, quantize, evaluate, time, record, MLflow, tables."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from suite.records.store import RECORD_KEYS, SCHEMA
from tests.conftest import edgeq

pytestmark = pytest.mark.slow


def load_records(results: Path) -> dict[str, dict]:
    records = {}
    for path in (results / "records" / "local-cpu" / "digits-cnn").glob("*.json"):
        record = json.loads(path.read_text())
        records[record["method"]["name"]] = record
    return records


SWEEP = ("--methods", "fp32,ptq-static,dynamic", "--runtimes", "ort")


@pytest.fixture(scope="module")
def first_sweep(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path):
    results = tmp_path_factory.mktemp("bench") / "results"
    env = {"EDGEQ_RESULTS_DIR": str(results), "EDGEQ_CACHE_DIR": str(shared_cache)}
    # An 80-column terminal: the summary must still show method, top-1, Δ, p50 and speed-up in full.
    # --runtimes ort: without it the planning rule also runs fp32 and ptq-static on local-cpu's openvino
    # entry (its default_methods), which tests/methods/test_toolkits.py checks.
    out = edgeq("bench", "--quick", *SWEEP, env={**env, "COLUMNS": "80"})
    return results, env, out


def test_sweep_writes_three_ok_records(first_sweep) -> None:
    results, _, out = first_sweep
    assert out.returncode == 0, out.stdout + out.stderr
    records = load_records(results)
    assert set(records) == {"fp32", "ptq-static", "dynamic"}
    # The plan, printed before the first job: jobs per task and runtime, each entry left out and why.
    plan = out.stdout[out.stdout.index("plan: 3 job(s) on local-cpu") :].splitlines()[:6]
    assert plan[1] == "  digits-cnn: ort 3"
    assert sorted(plan[2:6]) == [
        f"  left out {e}: --runtimes ort leaves it out" for e in ("executorch", "litert", "llamacpp", "openvino")
    ]
    for record in records.values():
        assert record["schema"] == SCHEMA
        assert set(RECORD_KEYS) <= set(record)
        assert record["status"] == "ok", record["error"]
        assert record["latency"]["quick"] is True and record["latency"]["runs"] >= 3
        assert record["latency"]["p50_ms"] > 0 and record["throughput"]["items_per_s"] > 0
        assert record["runtime"]["provider"] == "CPUExecutionProvider"
        assert record["power"]["status"] in ("unavailable", "needs_privilege", "measured")
        if record["power"]["status"] != "measured":
            assert record["power"]["reason"] and record["power"]["avg_w"] is None
        assert record["artifact"]["sha256"] and record["artifact"]["size_bytes"] > 0
    fp32, ptq = records["fp32"], records["ptq-static"]
    assert fp32["accuracy"]["top1"] >= 0.97
    assert abs(ptq["accuracy"]["top1"] - fp32["accuracy"]["top1"]) <= 0.01
    assert ptq["accuracy"]["fp32_top1"] == fp32["accuracy"]["top1"]
    assert fp32["artifact"]["precision_map"] == {"fp32": 4}
    assert ptq["artifact"]["precision_map"] == {"int8": 4}
    assert records["dynamic"]["artifact"]["precision_map"] == {"int8-dynamic": 4}
    assert ptq["artifact"]["size_bytes"] < fp32["artifact"]["size_bytes"] / 2
    # The profile decides the activation type (uint8 on x86, measured: tools/qdq_activation_types.py).
    assert ptq["method"]["params"]["activation_type"] == "uint8"


def test_precision_timing_and_accuracy_statistics(first_sweep) -> None:
    results, _, out = first_sweep
    records = load_records(results)
    for record in records.values():
        lat, thr, acc = record["latency"], record["throughput"], record["accuracy"]
        assert lat["mode"] == "precision" and record["inputs"]["timing"] == "precision"
        lo, hi = lat["p50_ci_ms"]
        assert lo <= lat["p50_ms"] <= hi and isinstance(lat["precision_met"], bool)
        assert lat["duration_s"] <= 0.5 + 0.5  # --quick bounds each scenario at 0.5 s (profile: quick_max_duration_s)
        assert thr["ci"][0] <= thr["items_per_s"] <= thr["ci"][1] and thr["samples"] >= thr["runs"] * 32
        top1_lo, top1_hi = acc["top1_ci"]
        assert top1_lo <= acc["top1"] <= top1_hi and acc["correct"]["n"] == acc["n"] == 540
    assert "vs_fp32" not in records["fp32"]["accuracy"]
    paired = records["ptq-static"]["accuracy"]["vs_fp32"]
    assert paired["baseline_job"] == records["fp32"]["job_id"]
    assert paired["both_right"] + paired["only_fp32"] + paired["only_method"] + paired["both_wrong"] == 540
    assert 0 < paired["mcnemar_p"] <= 1 and paired["significant"] == (paired["mcnemar_p"] < 0.05)
    assert records["ptq-static"]["accuracy"]["delta_top1"] * 540 == pytest.approx(
        paired["only_method"] - paired["only_fp32"]
    )


def test_summary_fits_80_columns_and_ends_with_the_compare_link(first_sweep) -> None:
    results, _, out = first_sweep
    lines = out.stdout.rstrip().splitlines()
    table = [line for line in lines if line.startswith("│")]
    assert table and all(len(line) <= 80 for line in table) and "…" not in out.stdout
    records = load_records(results)
    for method, record in records.items():
        row = next(line for line in table if line.startswith(f"│ {method} "))
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert cells[0] == method and cells[1] == f"{record['accuracy']['top1'] * 100:.2f}"
        assert cells[2].startswith(f"{record['accuracy']['delta_top1'] * 100:+.2f}")
        assert cells[3] == f"{record['latency']['p50_ms']:.4f}"
        assert cells[4].endswith("x")
    assert lines[-1].startswith("compare these 3 run(s) in MLflow") and "viewStateShareKey=" in lines[-1]

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{results / 'mlflow.db'}")
    exp = client.get_experiment_by_name("edgeq/digits-cnn")
    runs = client.search_runs([exp.experiment_id], filter_string="tags.`edgeq.kind` = 'job'")
    # The link is MLflow's shared view of this sweep (suite/tracking/mlflow.py): the experiment's runs tab,
    # keyed by the sweep's parent run, whose view state the experiment holds as a tag.
    key = re.search(r"viewStateShareKey=([0-9a-f]+)", lines[-1])
    assert len(runs) == 3 and key and f"#/experiments/{exp.experiment_id}/runs" in lines[-1]
    assert f"mlflow.sharedViewState.{key.group(1)}" in client.get_experiment(exp.experiment_id).tags


def test_mlperf_mode_keeps_the_fixed_counts(tmp_path: Path, shared_cache: Path) -> None:
    """``--mlperf``: the profile's fixed SingleStream minimum (500 queries, 1 s) in each of 3 runs."""
    env = {"EDGEQ_RESULTS_DIR": str(tmp_path / "results"), "EDGEQ_CACHE_DIR": str(shared_cache)}
    out = edgeq("bench", "--mlperf", "--methods", "fp32", "--runtimes", "ort", "--limit", "64", "--no-mlflow", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    (record,) = load_records(tmp_path / "results").values()
    lat = record["latency"]
    assert lat["mode"] == "mlperf" and record["throughput"]["mode"] == "mlperf" and "timing" not in record["inputs"]
    assert lat["runs"] == 3 and all(q >= 500 for q in lat["per_run_queries"]) and lat["precision_met"] is None


def test_leaderboard_and_mlflow(first_sweep) -> None:
    results, _, out = first_sweep
    board = results / "leaderboard" / "local-cpu"
    text = (board / "README.md").read_text()
    assert "## digits-cnn" in text and "ptq-static" in text and "not measured" in text
    rows = list(csv.DictReader((board / "leaderboard.csv").open()))
    assert {r["method"] for r in rows} == {"fp32", "ptq-static", "dynamic"}
    assert "edgeq ui" in out.stdout

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{results / 'mlflow.db'}")
    exp = client.get_experiment_by_name("edgeq/digits-cnn")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id], filter_string="tags.`edgeq.kind` = 'job'")
    assert len(runs) == 3
    parents = {r.data.tags["mlflow.parentRunId"] for r in runs}
    assert len(parents) == 1
    for run in runs:
        for metric in ("acc/top1", "latency/p50_ms", "throughput/items_per_s", "model/size_mb"):
            assert metric in run.data.metrics
        assert run.data.params["target"] == "local-cpu" and run.data.params["runtime"] == "ort"
        assert run.data.tags["edgeq.status"] == "ok"


def test_second_run_reuses_every_job(first_sweep) -> None:
    results, env, _ = first_sweep
    before = {p: p.stat().st_mtime_ns for p in (results / "records").rglob("*.json")}
    out = edgeq("bench", "--quick", *SWEEP, env=env)
    assert out.returncode == 0, out.stderr
    assert "3 job(s) reused" in out.stdout
    assert "import torch" not in out.stderr
    after = {p: p.stat().st_mtime_ns for p in (results / "records").rglob("*.json")}
    assert before == after


def test_planning_needs_no_torch(first_sweep) -> None:
    """Fingerprints are known before any training: planning imports neither torch nor onnxruntime."""
    results, env, _ = first_sweep
    code = (
        "import sys\n"
        "from suite.machine.target import load_target\n"
        "from suite.job.plan import plan\n"
        "from suite.job.request import SweepRequest\n"
        "jobs = plan(load_target('local-cpu'), SweepRequest(quick=True)).jobs\n"
        "print(len(jobs), [m for m in ('torch', 'onnxruntime', 'tensorflow') if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**__import__("os").environ, **env}
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("[]")


def test_fidelity_line_format() -> None:
    # --runtimes ort: fp32 also plans on local-cpu's openvino entry (its default_methods)
    out = edgeq("fidelity", "--tasks", "digits-cnn", "--methods", "fp32", "--runtimes", "ort", "--seconds", "0.2")
    assert out.returncode == 0, out.stderr
    pattern = re.compile(
        r"^fidelity task=digits-cnn method=fp32 runtime=ort bare_p50_ms=[\d.]+ suite_p50_ms=[\d.]+ "
        r"ratio=[\d.]+ overhead_us=-?[\d.]+ ci_ms=[\d.]+\.\.[\d.]+ bare_in_ci=(yes|no) precision_met=(yes|no) "
        r"queries=\d+ suite_s=[\d.]+ bare_calls=\d+$"
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("fidelity ")]
    assert len(lines) == 1 and pattern.match(lines[0]), out.stdout
    offline = re.compile(
        r"^fidelity-offline task=digits-cnn method=fp32 runtime=ort batch=32 bare_items_per_s=[\d.]+ "
        r"suite_items_per_s=[\d.]+ ratio=([\d.]+) overhead_us_per_item=-?[\d.]+ ci_half_width_pct=[\d.na]+ "
        r"precision_met=(yes|no) suite_s=[\d.]+$"
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("fidelity-offline ")]
    assert len(lines) == 1 and offline.match(lines[0]), out.stdout
    assert 0.2 < float(offline.match(lines[0]).group(1)) < 2.0  # the same model both ways: same order
