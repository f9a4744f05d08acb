"""LM timing with MLPerf LoadGen's token latencies: time to first token and decode speed at batch 1.

One LoadGen SingleStream query is one generation: the fixed prompt runs with an empty KV cache
(prefill), its last logits give the first token (greedy argmax), the SUT reports it with
``FirstTokenComplete``; then ``new_tokens - 1`` more tokens are decoded one at a time with the cache
and the query completes with its token count. With ``use_token_latencies`` LoadGen itself measures the
time to first token (TTFT) and the time per output token (TPOT) and applies its early-stopping rule
(at least 64 queries), so the numbers and the VALID/INVALID verdict are LoadGen's, read back from its
detail log as for the image tasks (``suite.measure.loadgen.read_mllog``).

Runs and spread follow the suite's rule: ``runs`` runs (at least 3); each headline number is the
median of the per-run values, every run's value is kept, and a coefficient of variation above the
profile's threshold marks the result unstable. ``tokens_per_s`` is the decode rate, 1 / TPOT p50
(TPOT = (query latency - TTFT) / (tokens - 1), LoadGen's definition); the rate over the whole
generation, prefill included, is kept as ``tokens_per_s_with_prefill``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from suite.measure.loadgen import read_mllog
from suite.measure.stats import coefficient_of_variation


def greedy(
    session: Any, graph: Any, prompt: np.ndarray, new_tokens: int, on_first: Callable[[], None] | None = None
) -> list[int]:
    """Greedy generation of ``new_tokens`` after ``prompt`` [1, P] with the KV cache; the token ids."""
    run = session.run_feeds
    logits, past = graph.prefill(run, prompt)
    token = logits[:, -1].argmax(-1)[:, None].astype(np.int64)
    if on_first is not None:
        on_first()
    out = [int(token[0, 0])]
    for _ in range(new_tokens - 1):
        logits, past = graph.step(run, token, past)
        token = logits[:, -1].argmax(-1)[:, None].astype(np.int64)
        out.append(int(token[0, 0]))
    return out


def _run(
    session: Any,
    graph: Any,
    prompt: np.ndarray,
    new_tokens: int,
    settings: dict[str, Any],
    expected_ns: int,
    outdir: Path,
) -> dict[str, Any]:
    import mlperf_loadgen as lg

    response = lg.QuerySampleResponse

    def issue(queries: list[Any]) -> None:
        for q in queries:

            def first_token(query_id: int = q.id) -> None:
                lg.FirstTokenComplete([response(query_id, 0, 0, 1)])

            greedy(session, graph, prompt, new_tokens, on_first=first_token)
            lg.QuerySamplesComplete([response(q.id, 0, 0, new_tokens)])

    test = lg.TestSettings()
    test.scenario = lg.TestScenario.SingleStream
    test.mode = lg.TestMode.PerformanceOnly
    test.min_duration_ms = int(settings["min_duration_s"] * 1000)
    test.min_query_count = int(settings["min_queries"])
    test.single_stream_expected_latency_ns = int(expected_ns)
    test.use_token_latencies = True
    log_out = lg.LogOutputSettings()
    log_out.outdir = str(outdir)
    log_out.copy_summary_to_stdout = False
    log_settings = lg.LogSettings()
    log_settings.log_output = log_out
    log_settings.enable_trace = False
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(1, 1, lambda _s: None, lambda _s: None)
    try:
        lg.StartTestWithLogSettings(sut, qsl, test, log_settings)
    finally:
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    log = read_mllog(outdir / "mlperf_log_detail.txt")
    ms = lambda key: (log[key] / 1e6) if isinstance(log.get(key), (int, float)) else None  # noqa: E731
    return {
        "p50_ms": ms("result_50.00_percentile_latency_ns"),
        "p90_ms": ms("result_90.00_percentile_latency_ns"),
        "p99_ms": ms("result_99.00_percentile_latency_ns"),
        "mean_ms": ms("result_mean_latency_ns"),
        "ttft_ms": ms("result_first_token_50.00_percentile_latency_ns"),
        "ttft_p90_ms": ms("result_first_token_90.00_percentile_latency_ns"),
        "tpot_ms": ms("result_time_per_output_token_50.00_percentile_ns"),
        "tpot_p90_ms": ms("result_time_per_output_token_90.00_percentile_ns"),
        "queries": int(log.get("result_query_count") or 0),
        "qps": log.get("result_qps_without_loadgen_overhead"),
        "tokens_per_s_with_prefill": log.get("result_completed_tokens_per_second"),
        "valid": log.get("result_validity") == "VALID",
    }


def generation_figures(latency: dict[str, Any], throughput: dict[str, Any]) -> tuple[float, float]:
    """The two figures a generation is summarised by outside a record (``edgeq fidelity``): decode tokens/s
    and time to first token in ms, read from the blocks :func:`measure_generation` returns (NaN when absent)."""
    rate, first = throughput.get("tokens_per_s"), latency.get("ttft_ms")
    return float(rate if rate is not None else "nan"), float(first if first is not None else "nan")


def measure_generation(
    session: Any,
    prompt: np.ndarray,
    new_tokens: int,
    *,
    runs: int,
    min_duration_s: float,
    min_queries: int,
    warmup_queries: int,
    cv_threshold: float,
    quick: bool,
    on_start: Callable[[], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Any], int]:
    """``(latency, throughput, tokens generated)`` blocks of the record for one LM artifact."""
    from suite.measure.lm_eval import lm_interface

    graph = lm_interface(session)
    prompt = np.ascontiguousarray(prompt, dtype=np.int64).reshape(1, -1)
    generated = greedy(session, graph, prompt, new_tokens)
    for _ in range(warmup_queries):
        greedy(session, graph, prompt, new_tokens)
    t0 = time.perf_counter_ns()
    greedy(session, graph, prompt, new_tokens)
    expected_ns = max(1, time.perf_counter_ns() - t0)
    settings = {"min_duration_s": min_duration_s, "min_queries": min_queries}
    root = Path(tempfile.mkdtemp(prefix="edgeq-lm-loadgen-"))
    per_run: list[dict[str, Any]] = []
    if on_start:
        on_start()
    try:
        for r in range(runs):
            outdir = root / f"generation_{r}"
            outdir.mkdir()
            per_run.append(_run(session, graph, prompt, new_tokens, settings, expected_ns, outdir))
    finally:
        if on_stop:
            on_stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)

    def med(key: str) -> float | None:
        values = [r[key] for r in per_run if r[key] is not None]
        return float(np.median(values)) if values else None

    median_run = sorted(per_run, key=lambda r: r["p50_ms"] or 0)[len(per_run) // 2]
    p50s = [r["p50_ms"] for r in per_run]
    ttfts = [r["ttft_ms"] for r in per_run]
    rates = [1000.0 / r["tpot_ms"] if r["tpot_ms"] else None for r in per_run]
    cv, ttft_cv = coefficient_of_variation(p50s), coefficient_of_variation(ttfts)
    rate_cv = coefficient_of_variation([r for r in rates if r])
    valid = all(r["valid"] for r in per_run)
    latency = {
        "scenario": "single_stream",
        "workload": "generation",
        "timer": "loadgen token latencies",
        "prompt_tokens": int(prompt.shape[1]),
        "new_tokens": new_tokens,
        "p50_ms": med("p50_ms"),
        "p90_ms": median_run["p90_ms"],
        "p99_ms": median_run["p99_ms"],
        "mean_ms": median_run["mean_ms"],
        "early_stopping_p90_ms": None,
        "ttft_ms": med("ttft_ms"),
        "ttft_p90_ms": median_run["ttft_p90_ms"],
        "per_run_ttft_ms": ttfts,
        "ttft_cv": ttft_cv,
        "tpot_ms": med("tpot_ms"),
        "tpot_p90_ms": median_run["tpot_p90_ms"],
        "queries": int(sum(r["queries"] for r in per_run)),
        "runs": runs,
        "per_run_p50_ms": p50s,
        "cv": cv,
        "unstable": max(cv, ttft_cv) > cv_threshold,
        "valid": valid,
        "quick": quick,
        "expected_latency_ns": expected_ns,
        "generated_ids": generated,
        "mode": "mlperf",
        "p50_ci_ms": None,
        "precision_met": None,
        "stop_reason": "fixed counts (a generation is timed as LoadGen token latencies, at least 64 queries a run)",
    }
    throughput = {
        "scenario": "single_stream",
        "workload": "generation",
        "tokens_per_s": float(np.median([r for r in rates if r])) if any(rates) else None,
        "per_run_tokens_per_s": rates,
        "tokens_per_s_with_prefill": med("tokens_per_s_with_prefill"),
        "items_per_s": med("qps"),
        "per_run_items_per_s": [r["qps"] for r in per_run],
        "samples": latency["queries"],
        "batch_size": 1,
        "runs": runs,
        "cv": rate_cv,
        "unstable": rate_cv > cv_threshold,
        "valid": valid,
        "quick": quick,
        "mode": "mlperf",
        "ci": None,
        "precision_met": None,
    }
    return latency, throughput, latency["queries"] * new_tokens
