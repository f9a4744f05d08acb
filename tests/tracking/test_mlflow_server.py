"""MLflow against a real ``mlflow server`` on 127.0.0.1: two sweeps logging at once both land, the runs
read back match the records (layout, params, metrics, tags, attached record), and ``edgeq sync`` is
idempotent into any tracking URI.

The server (``mlflow_server`` in conftest) is shared with other test modules, so nothing here assumes
an empty server: each sweep evaluates a different ``--limit`` of samples, which is part of the job
fingerprint, so its runs are found by fingerprint and belong to these sweeps alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, edgeq

pytestmark = [pytest.mark.server, pytest.mark.slow]

# (methods, --limit): fp32 runs in both sweeps, each with its own fingerprint (the limit differs).
SWEEPS = [("fp32,ptq-static", 137), ("fp32,dynamic", 139)]
DESIGN_METRICS = {
    "acc/top1",
    "acc/top5",
    "acc/delta_top1",
    "acc/simulated_top1",
    "latency/p50_ms",
    "latency/p90_ms",
    "latency/p99_ms",
    "latency/cv",
    "throughput/items_per_s",
    "power/avg_w",
    "energy/mj_per_item",
    "efficiency/items_per_j",
    "model/size_mb",
    "acc/top1_ci_lo",
    "acc/top1_ci_hi",
    "acc/mcnemar_p",
    "latency/p50_ci_lo_ms",
    "latency/p50_ci_hi_ms",
    "throughput/ci_lo",
    "throughput/ci_hi",
    # text and language-model tasks (logged only where the record has them; every record has memory)
    "acc/perplexity",
    "acc/delta_perplexity",
    "acc/embedding_cosine",
    "latency/ttft_ms",
    "latency/tpot_ms",
    "throughput/tokens_per_s",
    "memory/peak_rss_mb",
    # work per item and efficiency (docs/compute.md): every record with a MAC count; TOPS/W where power was measured
    "compute/macs_per_item",
    "efficiency/gops",
    "efficiency/gops_single_stream",
    "efficiency/share_of_peak_pct",
    "efficiency/tops_per_w",
    "efficiency/decode_share_of_roofline_pct",
    # the decision metrics (speed-up against fp32, significance as 0/1, one size unit, p50 in us)
    "speedup/p50",
    "speedup/items_per_s",
    "acc/delta_significant",
    "model/size_kib",
    "latency/p50_us",
    # logit fidelity of causal LMs (accuracy.fidelity) and the stored bits per weight of every artifact
    "acc/kld_mean",
    "acc/kld_median",
    "acc/kld_p99",
    "acc/top1_agreement",
    "acc/delta_p_mean",
    "model/bits_per_weight",
}
DESIGN_PARAMS = {"method", "family", "w_bits", "a_bits", "runtime", "provider", "target", "batch_size", "scenario"}


def _records(results: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((results / "records").rglob("*.json"))]


@pytest.fixture(scope="module")
def sweeps(mlflow_server: str, shared_cache: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Warm the model/artifact cache once, then run both sweeps at the same time against the server."""
    base = tmp_path_factory.mktemp("two-sweeps")
    warm = edgeq(
        "bench",
        "--quick",
        "--limit",
        "5",
        "--methods",
        "fp32,ptq-static,dynamic",
        "--runtimes",
        "ort",
        "--no-mlflow",
        env={"EDGEQ_RESULTS_DIR": str(base / "warm"), "EDGEQ_CACHE_DIR": str(shared_cache)},
    )
    assert warm.returncode == 0, warm.stdout + warm.stderr
    procs = []
    for i, (methods, limit) in enumerate(SWEEPS):
        results = base / f"sweep-{i}"
        env = {
            **os.environ,
            "EDGEQ_RESULTS_DIR": str(results),
            "EDGEQ_CACHE_DIR": str(shared_cache),
            "MLFLOW_TRACKING_URI": mlflow_server,
        }
        cmd = [sys.executable, "-m", "suite", "bench", "--quick", "--limit", str(limit), "--methods", methods]
        cmd += ["--runtimes", "ort"]  # one run per method: the plan adds openvino for fp32 and ptq-static
        procs.append(
            (
                results,
                subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
            )
        )
    outs = []
    for results, proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        outs.append((results, proc.returncode, stdout, stderr))
    return mlflow_server, outs


def _client(uri: str):  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _runs_by_fingerprint(client, fingerprint: str) -> list:  # type: ignore[no-untyped-def]
    exp = client.get_experiment_by_name("edgeq/digits-cnn")
    assert exp is not None, "experiment per task: edgeq/<task>"
    assert exp.tags.get("mlflow.experimentKind") == "custom_model_development"  # the UI opens its runs table
    return client.search_runs([exp.experiment_id], filter_string=f"tags.`edgeq.fingerprint` = '{fingerprint}'")


def test_two_concurrent_sweeps_both_land(sweeps) -> None:  # type: ignore[no-untyped-def]
    uri, outs = sweeps
    client = _client(uri)
    parents = set()
    for (results, code, stdout, stderr), (methods, _) in zip(outs, SWEEPS):
        assert code == 0, stdout + stderr
        said = " ".join(stdout.split())  # rich wraps lines at the console width
        assert "wait for `edgeq sync`" not in said, stdout
        records = _records(results)
        assert sorted(r["method"]["name"] for r in records) == sorted(methods.split(","))
        assert f"MLflow: {len(records)} run(s) logged in {uri}" in said
        sweep_parents = set()
        for record in records:
            runs = _runs_by_fingerprint(client, record["fingerprint"])
            assert len(runs) == 1, f"{record['method']['name']}: {len(runs)} runs with its fingerprint"
            check_run_against_record(client, runs[0], record)
            sweep_parents.add(runs[0].data.tags["mlflow.parentRunId"])
        assert len(sweep_parents) == 1, "one parent run per sweep"
        parents |= sweep_parents
    assert len(parents) == 2, "each sweep has its own parent run"
    for parent_id in parents:
        parent = client.get_run(parent_id)
        assert parent.data.tags["edgeq.kind"] == "sweep" and parent.data.tags["edgeq.target"] == "local-cpu"
        assert re.fullmatch(r"local-cpu \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", parent.info.run_name), parent.info.run_name
        assert parent.info.status == "FINISHED"


def check_run_against_record(client, run, record: dict) -> None:  # type: ignore[no-untyped-def]
    """A child run says what its record says: params, metrics (single step, '/' sections, units), tags."""
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    art = record["artifact"]
    assert tags["edgeq.kind"] == "job" and tags["edgeq.status"] == record["status"] == "ok"
    assert tags["edgeq.fingerprint"] == record["fingerprint"] and tags["edgeq.job_id"] == record["job_id"]
    assert tags["edgeq.simulated"] == str(art["simulated"]).lower()
    assert tags["power.status"] == record["power"]["status"]
    assert tags["git.commit"] == str(record["environment"]["git"]["commit"])
    assert run.info.run_name == f"{record['method']['name']} · ort" and run.info.status == "FINISHED"

    assert DESIGN_PARAMS <= set(params), DESIGN_PARAMS - set(params)
    assert params["method"] == record["method"]["name"] and params["family"] == record["method"]["family"]
    assert params["w_bits"] == str(art["weight_bits"]) and params["a_bits"] == str(art["activation_bits"])
    assert params["runtime"] == record["runtime"]["name"] and params["provider"] == record["runtime"]["provider"]
    assert params["target"] == "local-cpu" and params["batch_size"] == str(record["throughput"]["batch_size"])
    for key, value in record["method"]["params"].items():
        if value is not None:
            assert params[f"param.{key}"] == str(value), key
    if record["method"]["name"] == "ptq-static":
        assert params["calibration"] == record["method"]["params"]["calibration"]
        assert params["granularity"] == ("per_channel" if record["method"]["params"]["per_channel"] else "per_tensor")

    assert set(metrics) <= DESIGN_METRICS, set(metrics) - DESIGN_METRICS
    acc, lat, thr = record["accuracy"], record["latency"], record["throughput"]
    expected = {
        "acc/top1": acc["top1"],
        "acc/delta_top1": acc["delta_top1"],
        "latency/p50_ms": lat["p50_ms"],
        "latency/p90_ms": lat["p90_ms"],
        "latency/p99_ms": lat["p99_ms"],
        "throughput/items_per_s": thr["items_per_s"],
        "model/size_mb": art["size_bytes"] / 1e6,
        "model/size_kib": art["size_bytes"] / 1024,
        "latency/p50_us": round(lat["p50_ms"] * 1000, 3),
    }
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(value, rel=1e-9), name
    if record["method"]["family"] == "baseline":
        assert metrics["speedup/p50"] == metrics["speedup/items_per_s"] == 1.0
    else:
        diagnosis = record["diagnosis"]
        assert metrics["speedup/p50"] == pytest.approx(diagnosis["speedup_p50"], abs=5e-4)
        assert metrics["speedup/items_per_s"] == pytest.approx(diagnosis["speedup_items_per_s"], abs=5e-4)
        assert metrics["acc/delta_significant"] == float(acc["vs_fp32"]["significant"])
    if record["power"]["status"] != "measured":
        assert "power/avg_w" not in metrics and "energy/mj_per_item" not in metrics  # absent, never a zero
    for name in metrics:
        assert len(client.get_metric_history(run.info.run_id, name)) == 1, f"{name}: single step"
    names = [a.path for a in client.list_artifacts(run.info.run_id)]
    assert f"{record['job_id']}.json" in names, names


def test_record_attached_to_its_run(sweeps) -> None:  # type: ignore[no-untyped-def]
    import mlflow.artifacts

    uri, outs = sweeps
    record = _records(outs[0][0])[0]
    run = _runs_by_fingerprint(_client(uri), record["fingerprint"])[0]
    local = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path=f"{record['job_id']}.json", tracking_uri=uri
    )
    assert json.loads(Path(local).read_text()) == record


def _count_runs(uri: str) -> int:
    client = _client(uri)
    exp = client.get_experiment_by_name("edgeq/digits-cnn")
    return 0 if exp is None else len(client.search_runs([exp.experiment_id], max_results=5000))


def test_sync_is_idempotent_into_any_uri(sweeps, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    uri, outs = sweeps
    results = outs[0][0]
    records = _records(results)
    env = {"EDGEQ_RESULTS_DIR": str(results)}

    # Into the server that already has these runs (logged by the sweep itself): nothing is logged twice.
    from suite.tracking.sink import sync

    before = _count_runs(uri)
    assert sync([(r, None) for r in records], uri) == (0, len(records))
    assert _count_runs(uri) == before

    # Into a fresh store (any URI): everything once, then nothing; same number of runs after both.
    fresh = f"sqlite:///{tmp_path / 'other.db'}"
    first = edgeq("sync", "--uri", fresh, env=env)
    assert first.returncode == 0, first.stderr
    assert f"synced {len(records)} run(s)" in first.stdout
    after_first = _count_runs(fresh)
    assert after_first == len(records) + 1  # the children and one parent run for the sync
    second = edgeq("sync", "--uri", fresh, env=env)
    assert second.returncode == 0, second.stderr
    assert f"synced 0 run(s) to {fresh}; {len(records)} already there" in second.stdout
    assert _count_runs(fresh) == after_first
    client = _client(fresh)
    for record in records:
        runs = _runs_by_fingerprint(client, record["fingerprint"])
        assert len(runs) == 1
        check_run_against_record(client, runs[0], record)


def test_links_to_the_runs_on_the_server(sweeps) -> None:  # type: ignore[no-untyped-def]
    """Each sweep ends with a link to its own job runs on this server (a shared runs-table view, saved
    on the experiment, whose filter is the sweep's parent run); ``edgeq ui`` prints each task
    experiment's runs table (the job runs flat, best top-1 first)."""
    from urllib.parse import parse_qs, urlparse

    uri, outs = sweeps
    client = _client(uri)
    exp = client.get_experiment_by_name("edgeq/digits-cnn")
    for results, _code, stdout, _stderr in outs:
        last = stdout.rstrip().splitlines()[-1]
        url = last.split(": ", 1)[1]
        assert url.startswith(f"{uri}/#/experiments/{exp.experiment_id}/runs?")
        query = parse_qs(urlparse(url.split("#", 1)[1]).query)
        assert query["workflowType"] == ["machine_learning"]
        key = query["viewStateShareKey"][0]
        view = json.loads(client.get_experiment(exp.experiment_id).tags[f"mlflow.sharedViewState.{key}"])
        runs = [_runs_by_fingerprint(client, r["fingerprint"])[0] for r in _records(results)]
        assert {run.data.tags["mlflow.parentRunId"] for run in runs} == {key}
        assert view["searchFilter"] == f"tags.mlflow.parentRunId = '{key}'"
        assert view["selectedColumns"][:2] == ["metrics.`speedup/p50`", "metrics.`acc/delta_top1`"]
        found = client.search_runs([exp.experiment_id], filter_string=view["searchFilter"])
        assert sorted(r.info.run_id for r in found) == sorted(r.info.run_id for r in runs)
    out = edgeq("ui", env={"MLFLOW_TRACKING_URI": uri})
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if line.startswith("edgeq/digits-cnn: "))
    link = line.split(": ", 1)[1]
    assert link.startswith(f"{uri}/#/experiments/{exp.experiment_id}/runs?")
    state = parse_qs(urlparse(link.split("#", 1)[1]).query)
    assert state["searchFilter"] == ["tags.`edgeq.kind` = 'job'"] and state["orderByKey"] == ["metrics.`acc/top1`"]
    assert f"the runs are on a server: open {uri}" in out.stdout
