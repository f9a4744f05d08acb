"""Precision-driven timing (``latency.mode: precision``, the default): time until the answer is known.

Fixed counts (``--mlperf``) spend the same seconds on a 17 us model as on a 70 ms one, and say nothing
about how well the p50 is known. Here LoadGen itself still times every query, but in a sequence of
short runs, and a stopping rule between the runs decides when to stop:

**SingleStream.** Each run is a LoadGen SingleStream test with its trace log on; the per-query
latencies LoadGen's own percentiles are computed from (``complete_ns`` of its trace events,
``suite.measure.loadgen_logs``) are pooled over the runs. After each run the 95% order-statistic
(binomial) interval of the pooled median is computed (``suite.measure.stats.median_ci``: exact,
distribution-free). The scenario stops after the first run at which

1. the interval lies within ±``ci_pct`` % of the pooled p50, and
2. the minimums are met: at least ``min_runs`` runs (the CV across runs, and so ``unstable``, needs
   them), ``min_queries`` queries and ``min_duration_s`` seconds of query time,

or when ``max_duration_s`` of wall time is spent (``precision_met: false``). The first ``min_runs``
runs share the minimums; each later run asks for the queries the interval's width predicts are still
missing (a half-width shrinks as 1/sqrt(n)), never more than the time left allows. LoadGen's own
minimum duration per run is set to 1 ms and its query count to the planned one, so it ends each run
where the rule asked; LoadGen's VALID verdict of every run is kept.

Why repeated runs and not one long LoadGen run: LoadGen stops only on its minimum duration and query
count, and cannot be asked "stop when the median is known"; a run is cheap to start (about 30-40 ms of
LoadGen set-up and log writing, measured on this suite's 2-core EPYC VM).

**Offline.** LoadGen Offline runs of ``min_duration_s / min_runs`` seconds each (sized from the rate
measured so far) until the same order-statistic 95% interval, of the median of the per-run rates,
lies within ±``ci_pct`` % of it, after the same minimums (and at least 6 runs, the fewest with such an
interval), bounded by ``max_duration_s``. ``items_per_s`` is that median, as in the ``mlperf`` mode.
The median and not the mean (with a Student-t interval, tried first): on a shared machine a run now and
then loses a share of the CPU to another process, and one such run widens a t interval of a handful
of runs by several percent (per-run rates of 1 s runs here varied by 1.4-19% CV across three runs),
while the median's interval is set by the bulk of the runs.

The warm-up is kept (``warmup_queries`` untimed calls); the expected latency LoadGen needs is taken
from the warm-up itself, and the first Offline run's rate from the SingleStream latency, so this mode
spends no time on the separate 0.3 s calibration loops of the ``mlperf`` mode.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from suite.measure.loadgen import (
    TRACE_MAX_QUERIES,
    RunFn,
    ScenarioSettings,
    TimingOptions,
    TimingResult,
    loadgen_invalid,
    log_root,
    offline_batches,
    offline_run,
    single_stream_run,
)
from suite.measure.stats import coefficient_of_variation, half_width_pct, loadgen_percentile, median_ci

ESTIMATOR_P50 = "order-statistic (binomial) 95% interval of the median of the pooled per-query LoadGen latencies"
ESTIMATOR_THROUGHPUT = "order-statistic (binomial) 95% interval of the median of the per-run LoadGen Offline rates"
MIN_OFFLINE_RUNS = 6  # the fewest values with a 95% order-statistic interval of their median ([min, max] of 6)
MIN_ROUND_QUERIES = 64  # LoadGen's early-stopping estimate (and so its VALID) wants 64 queries per SingleStream run
MIN_BOUNDED_QUERIES = 8  # fewer per run only when the time bound leaves no more (LoadGen then says INVALID)
RUN_OVERHEAD_S = 0.04  # LoadGen set-up and log writing per run (measured here: 30-45 ms)
CHUNK_S = 0.5  # a run after the minimum ones takes at most max(a third of the time left, this)
MIN_WARMUP_TIMED = 10  # calls the expected latency is taken from when warmup_queries is smaller


@dataclass(frozen=True)
class PrecisionGoal:
    """When one scenario may stop: the interval goal, the minimums and the bound."""

    ci_pct: float
    min_duration_s: float
    min_queries: int
    max_duration_s: float
    min_runs: int = 3


def warm_up(run: RunFn, samples: Sequence[np.ndarray], warmup_queries: int) -> int:
    """``warmup_queries`` untimed-for-the-record calls; their later half's median latency (ns) is what
    LoadGen is told to expect (at least ``MIN_WARMUP_TIMED`` calls are made for it)."""
    times: list[int] = []
    clock = time.perf_counter_ns
    for i in range(max(warmup_queries, MIN_WARMUP_TIMED)):
        t0 = clock()
        run(samples[i % len(samples)])
        times.append(clock() - t0)
    return max(1, int(np.median(times[len(times) // 2 :])))


def _fit(planned: int, goal: PrecisionGoal, elapsed: float, done: int, item_s: float, floor: int) -> int:
    """How many queries (samples) the next run may have: ``planned``, unless the time bound leaves
    fewer (never under ``floor``). The runs the minimum still asks for share the time left evenly;
    after them a run takes at most a third of it (or ``CHUNK_S``), so a machine that slows down
    mid-way overruns the bound by a fraction of one run, not by a whole planned one."""
    runs_left = max(goal.min_runs - done, 1)
    left = goal.max_duration_s - elapsed - RUN_OVERHEAD_S * runs_left
    share = left / runs_left if done < goal.min_runs else min(left, max(left / 3, CHUNK_S))
    fit = int(share / item_s) if item_s > 0 else planned
    return int(min(planned, TRACE_MAX_QUERIES, max(floor, fit)))


def _stop(met: bool, enough: bool, elapsed: float, left_for_next: float, goal: PrecisionGoal) -> str | None:
    if met and enough:
        return "precision met"
    if elapsed >= goal.max_duration_s or left_for_next <= 0:
        return "max duration reached"
    return None


def single_stream(
    run: RunFn, samples: Sequence[np.ndarray], goal: PrecisionGoal, expected_ns: int, root: Path, cv_threshold: float
) -> dict[str, Any]:
    """SingleStream runs until the p50's interval meets ``goal`` (module docstring); the latency block."""
    t0 = time.perf_counter()
    pooled: list[int] = []
    runs: list[dict[str, Any]] = []
    widths: list[float | None] = []  # the pooled interval's half-width (%) after each run: where the rule looked
    per_run = max(
        MIN_ROUND_QUERIES,
        math.ceil(goal.min_queries / goal.min_runs),
        math.ceil(goal.min_duration_s / goal.min_runs * 1e9 / expected_ns),
    )
    planned = per_run
    mean_ns = last_ns = float(expected_ns)
    while True:  # the time a query takes: the slower of the pooled and the latest run's mean
        queries = _fit(planned, goal, time.perf_counter() - t0, len(runs), max(mean_ns, last_ns) / 1e9, MIN_BOUNDED_QUERIES)
        outdir = root / f"single_stream_{len(runs)}"
        outdir.mkdir(parents=True, exist_ok=True)
        result = single_stream_run(
            run, samples, ScenarioSettings(0.001, queries), int(mean_ns), outdir, trace=True, max_queries=queries
        )
        runs.append(result)
        pooled.extend(result["latencies_ns"])
        mean_ns = sum(pooled) / len(pooled)
        last_ns = sum(result["latencies_ns"]) / len(result["latencies_ns"])
        p50 = loadgen_percentile(pooled, 50)
        ci = median_ci(pooled)
        half = half_width_pct(ci, p50)
        widths.append(half)
        met = half is not None and half <= goal.ci_pct
        busy_s = sum(pooled) / 1e9
        enough = len(runs) >= goal.min_runs and busy_s >= goal.min_duration_s and len(pooled) >= goal.min_queries
        elapsed = time.perf_counter() - t0
        left_next = goal.max_duration_s - elapsed - RUN_OVERHEAD_S - MIN_BOUNDED_QUERIES * mean_ns / 1e9
        reason = _stop(met, enough, elapsed, left_next, goal)
        if reason:
            break
        if len(runs) < goal.min_runs:
            planned = per_run
        else:  # the queries the interval's width predicts are missing (x1.2), and what the minimums want
            grow = len(pooled) * ((half / goal.ci_pct) ** 2 - 1) * 1.2 if half is not None and not met else per_run
            planned = max(
                MIN_ROUND_QUERIES,
                math.ceil(grow),
                goal.min_queries - len(pooled),
                math.ceil((goal.min_duration_s - busy_s) * 1e9 / mean_ns),
            )
    ordered = sorted(pooled)
    p50s = [r["p50_ns"] / 1e6 for r in runs]
    cv = coefficient_of_variation(p50s)
    median_run = sorted(runs, key=lambda r: r["p50_ns"])[len(runs) // 2]
    return {
        "scenario": "single_stream",
        "mode": "precision",
        "p50_ms": loadgen_percentile(ordered, 50) / 1e6,  # LoadGen's own percentile rule, over all runs
        "p90_ms": loadgen_percentile(ordered, 90) / 1e6,
        "p99_ms": loadgen_percentile(ordered, 99) / 1e6,
        "mean_ms": mean_ns / 1e6,
        "early_stopping_p90_ms": (median_run["early_stopping_p90_ns"] or 0) / 1e6 or None,
        "queries": len(pooled),
        "loadgen_queries": int(sum(r["queries"] or 0 for r in runs)),
        "runs": len(runs),
        "per_run_p50_ms": p50s,
        "per_run_queries": [r["queries"] for r in runs],
        "per_run_ci_half_width_pct": widths,
        "cv": cv,
        "unstable": cv > cv_threshold,
        "valid": all(r["valid"] for r in runs),
        **loadgen_invalid(runs),
        "expected_latency_ns": int(expected_ns),
        "p50_ci_ms": [ci[0] / 1e6, ci[1] / 1e6] if ci else None,
        "ci_half_width_pct": half,
        "ci_estimator": ESTIMATOR_P50,
        "precision_pct": goal.ci_pct,
        "precision_met": bool(met),
        "stop_reason": reason,
        "duration_s": round(time.perf_counter() - t0, 3),
        "busy_s": round(sum(pooled) / 1e9, 3),
        "max_duration_s": goal.max_duration_s,
    }


def offline(
    run: RunFn,
    batches: Sequence[np.ndarray],
    batch_size: int,
    goal: PrecisionGoal,
    rate_estimate: float,
    root: Path,
    cv_threshold: float,
) -> dict[str, Any]:
    """Offline runs until the rate's interval meets ``goal`` (module docstring); the throughput block."""
    t0 = time.perf_counter()
    goal = replace(goal, min_runs=max(goal.min_runs, MIN_OFFLINE_RUNS))
    runs: list[dict[str, Any]] = []
    rates: list[float] = []
    widths: list[float | None] = []
    run_s = max(goal.min_duration_s / goal.min_runs, 0.02)
    rate = max(rate_estimate, 1e-3)
    while True:
        wanted = max(batch_size, math.ceil(goal.min_queries / goal.min_runs), int(run_s * rate))
        n = _fit(wanted, goal, time.perf_counter() - t0, len(runs), 1.0 / rate, batch_size)
        outdir = root / f"offline_{len(runs)}"
        outdir.mkdir(parents=True, exist_ok=True)
        result = offline_run(run, batches, ScenarioSettings(0.001, n, batch_size), rate, outdir)
        runs.append(result)
        rates.append(float(result["items_per_s"]))
        rate = float(np.median(rates))
        ci = median_ci(rates)
        half = half_width_pct(ci, rate)
        widths.append(half)
        met = half is not None and half <= goal.ci_pct
        samples = sum(r["samples"] or 0 for r in runs)
        busy_s = sum((r["samples"] or 0) / r["items_per_s"] for r in runs if r["items_per_s"])
        enough = len(runs) >= goal.min_runs and busy_s >= goal.min_duration_s and samples >= goal.min_queries
        elapsed = time.perf_counter() - t0
        left_next = goal.max_duration_s - elapsed - RUN_OVERHEAD_S - batch_size / rate
        reason = _stop(met, enough, elapsed, left_next, goal)
        if reason:
            break
    tcv = coefficient_of_variation(rates)
    return {
        "scenario": "offline",
        "mode": "precision",
        "items_per_s": float(np.median(rates)),
        "per_run_items_per_s": rates,
        "per_run_samples": [r["samples"] for r in runs],
        "per_run_ci_half_width_pct": widths,
        "samples": int(samples),
        "batch_size": batch_size,
        "runs": len(runs),
        "cv": tcv,
        "unstable": tcv > cv_threshold,
        "valid": all(r["valid"] for r in runs),
        **loadgen_invalid(runs),
        "ci": [ci[0], ci[1]] if ci else None,
        "ci_half_width_pct": half,
        "ci_estimator": ESTIMATOR_THROUGHPUT,
        "precision_pct": goal.ci_pct,
        "precision_met": bool(met),
        "stop_reason": reason,
        "duration_s": round(time.perf_counter() - t0, 3),
        "max_duration_s": goal.max_duration_s,
    }


def measure_precision(
    run: RunFn, samples: Sequence[np.ndarray], single: PrecisionGoal, offline_goal: PrecisionGoal, batch_size: int,
    options: TimingOptions,
) -> TimingResult:
    """Warm up, SingleStream to its goal, then Offline to its goal inside the power sensor's window."""
    cv_threshold = options.cv_threshold
    expected_ns = warm_up(run, samples, options.warmup_queries)
    with log_root(options) as root:
        latency = single_stream(run, samples, single, expected_ns, root, cv_threshold)
        latency["quick"] = options.quick
        batches = offline_batches(samples, batch_size)
        if options.on_offline_start:
            options.on_offline_start()
        t0 = time.perf_counter()
        try:  # the first run's rate from SingleStream: batching is rarely slower per item than batch 1
            throughput = offline(run, batches, batch_size, offline_goal, 1e3 / latency["mean_ms"], root, cv_threshold)
        finally:
            window = time.perf_counter() - t0
            if options.on_offline_stop:
                options.on_offline_stop()
        throughput["quick"] = options.quick
    return TimingResult(latency, throughput, window, throughput["samples"])
