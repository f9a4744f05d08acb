"""Records of every task kind and outcome, for the record-vocabulary tests: the leaderboard row, the MLflow
params and metrics and the summary cells of each are frozen in ``tests/support/data/vocabulary_golden.json``
(written from the code before the vocabulary was declared once), so moving the mapping cannot change it."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.publish_records import make_record


def lm_record() -> dict[str, Any]:
    """A causal-LM record as ``suite.job.measure`` writes it (perplexity, token timing, memory)."""
    r = make_record("int8-weight-only", None, 120.0, task="tiny-lm", fp32_top1=None, n_eval=40)
    r["accuracy"] = {
        "metric": "perplexity",
        "perplexity": 31.5,
        "nll_mean": 3.45,
        "tokens_scored": 5000,
        "n": 40,
        "fp32_perplexity": 30.0,
        "delta_perplexity": 1.5,
        "fp32_top1": None,
        "delta_top1": None,
        "simulated_top1": None,
        "window": 128,
        "stride": 64,
    }
    r["latency"].update(mode="mlperf", workload="generation", ttft_ms=8.5, tpot_ms=3.2, prompt_tokens=16)
    r["throughput"].update(scenario="single_stream", batch_size=1, tokens_per_s=312.5, items_per_s=8.0)
    r["memory"] = {"peak_rss_mb": 812.0, "rss_before_mb": 400.0}
    r["runtime"]["inference_precision"] = "int8+f32"
    return r


def encoder_record() -> dict[str, Any]:
    r = make_record("dynamic", 0.91, 4.0, task="sst2-encoder", significant=False, family="dynamic")
    r["accuracy"].update(embedding_cosine=0.993, embedding_cosine_min=0.95, top1_ci=[0.88, 0.93])
    r["memory"] = {"peak_rss_mb": 300.5}
    return r


def records() -> list[dict[str, Any]]:
    """The frozen cases: classifier fp32 / ptq (precision mode, measured power, paired test), simulated,
    quick, failed, too few to rank, an LM, an encoder, a toolkit-bearing method, a fallback runtime."""
    precise = make_record(
        "ptq-static",
        0.975,
        1.0,
        params={"per_channel": True, "symmetric": True, "calibration": "minmax"},
        per_run_p50_ms=[0.9, 1.0, 1.2],
        p50_ci=(0.97, 1.04),
        precision_met=False,
        significant=True,
        mj_per_item=0.75,
        avg_w=1.5,
    )
    precise["accuracy"]["top1_ci"] = [0.96, 0.985]
    precise["throughput"].update(ci=[990.0, 1010.0], ci_half_width_pct=1.0, mode="precision", precision_met=True)
    precise["power"]["energy_j"] = 3.0
    precise["method"]["toolkit"] = {"name": "onnxruntime", "version": "1.32.0"}
    precise["runtime"]["inference_precision"] = "int8"
    fallback = make_record("fp16", 0.97, 2.5, family="fp16", quick=True)
    fallback["runtime"].update(fallback=True, provider=None, delegate="XNNPACK")
    fallback["latency"].update(valid=False, invalid_reason="throttled: x", unstable=True)
    few = make_record("binary", 0.5, 3.0, simulated=True, simulated_top1=0.6, n_eval=50, bits=(1, 32))
    return [
        make_record("fp32", 0.98, 2.0),
        precise,
        fallback,
        few,
        make_record("broken", None, None, status="failed", error="RuntimeError: bad"),
        lm_record(),
        encoder_record(),
        copy.deepcopy(make_record("kmeans", 0.95, None, items_per_s=None, family="vector")),
    ]


def outcome(record: dict[str, Any]) -> Any:
    """The sweep's Outcome of ``record`` (for the end-of-sweep summary's cells)."""
    from suite.job.spec import Job
    from suite.sweep.loop import Outcome

    job = Job(
        task_name=record["task"]["name"],
        task_path="t.yaml",
        task_sha256="t",
        target_name=record["target"]["name"],
        target_path="p.yaml",
        target_sha256="p",
        method=record["method"]["name"],
        family=record["method"]["family"],
        params=record["method"]["params"],
        runtime={"name": record["runtime"]["name"]},
        quick=False,
        limit=None,
        target_matched=True,
        target_override=False,
        artifact_key="k",
    )
    return Outcome(job=job, record=record, how="ran")
