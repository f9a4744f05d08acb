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

or when ``max_duration_s`` of wall time is spent (``precision_met: false``), or, once the minimums are
in, when the goal is out of reach: even a half-width that kept shrinking as 1/sqrt(time) would not
reach ±``ci_pct`` % before the bound (``stop_reason`` says which; the extra runs would only spend the
bound and still miss). The first ``min_runs`` runs share the minimums; each later run asks for the
queries the interval's width predicts are still missing, never more than the time left allows.
LoadGen's own minimum duration per run is set to 1 ms and its query count to the planned one, so it
ends each run where the rule asked; LoadGen's VALID verdict of every run is kept.

Why repeated runs and not one long LoadGen run: LoadGen stops only on its minimum duration and query
count, and cannot be asked "stop when the median is known"; a run costs only LoadGen's set-up and log
writing (its cost, measured: docs/benchmarks.md, "Figures behind choices in the code").

**Offline.** At least ``min_runs`` LoadGen Offline runs, the first ones of ``min_duration_s / min_runs``
seconds each (sized from an untimed 0.1 s Offline run), then as the interval asks, of whole batches
only. The SUT notes when each batch completes (the instant it tells LoadGen), so each run yields a
series of per-batch times; the time LoadGen counts outside the SUT's batches (handing over the query,
the Python binding building its sample list; recorded as ``loadgen_outside_share``) is shared out over
the run's batches, so the series adds up to LoadGen's own durations. ``items_per_s`` is all samples over
all of LoadGen's time (per run, exactly LoadGen's samples per second); its interval is by
non-overlapping batch means (``suite.measure.stats.batch_means_rate_ci``: 20 consecutive groups of
batches, Student t). Same goal, minimums, projection and bound as SingleStream.

Why batch means, and not an interval of per-run rates (the median of many short runs): per-run rates
need many runs, each paying LoadGen's set-up, which on a small model is a large share of the Offline
time; and the batches of one run are not independent (a shared machine's speed wanders over short
spans, so neighbouring batches are correlated), which a plain t interval over batches would ignore and
20 long groups nearly absorb (checked on a correlated series: tests/measure/test_stats.py). What the
two designs cost on the default sweep, measured: docs/benchmarks.md.

The warm-up is kept (``warmup_queries`` untimed calls); the expected latency LoadGen needs is taken
from the warm-up itself and the first timed Offline run's size from the untimed one, so this mode
spends no time on the separate 0.3 s calibration loops of the ``mlperf`` mode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from suite.measure.stats import (
    BATCH_MEANS_GROUPS,
    batch_means_rate_ci,
    coefficient_of_variation,
    half_width_pct,
    loadgen_percentile,
    median_ci,
)

ESTIMATOR_P50 = "order-statistic (binomial) 95% interval of the median of the pooled per-query LoadGen latencies"
ESTIMATOR_THROUGHPUT = (
    "batch means (20 consecutive groups, Student t 95%) of the per-item time over the Offline runs' batches;"
    " rate = all samples / LoadGen's time"
)
OFFLINE_MAX_SAMPLES = 2_000_000  # per Offline run (no trace log: LoadGen holds an index per sample)
OFFLINE_WARMUP_S = 0.1  # the untimed Offline run before the timed ones (at least one batch)
MIN_ROUND_QUERIES = 64  # LoadGen's early-stopping estimate (and so its VALID) wants 64 queries per SingleStream run
MIN_BOUNDED_QUERIES = 8  # fewer per run only when the time bound leaves no more (LoadGen then says INVALID)
RUN_OVERHEAD_S = 0.04  # LoadGen set-up and log writing per run (30-45 ms measured: docs/benchmarks.md)
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


def _fit(
    planned: int,
    goal: PrecisionGoal,
    elapsed: float,
    done: int,
    item_s: float,
    floor: int,
    cap: int = TRACE_MAX_QUERIES,
) -> int:
    """How many queries (samples) the next run may have: ``planned``, unless the time bound leaves
    fewer (never under ``floor``). The runs the minimum still asks for share the time left evenly;
    after them a run takes at most a third of it (or ``CHUNK_S``), so a machine that slows down
    mid-way overruns the bound by a fraction of one run, not by a whole planned one."""
    runs_left = max(goal.min_runs - done, 1)
    left = goal.max_duration_s - elapsed - RUN_OVERHEAD_S * runs_left
    share = left / runs_left if done < goal.min_runs else min(left, max(left / 3, CHUNK_S))
    fit = int(share / item_s) if item_s > 0 else planned
    return int(min(planned, cap, max(floor, fit)))


OUT_OF_REACH = "precision out of reach within the bound"


def projected_s(
    half: float | None, goal: PrecisionGoal, elapsed: float, busy_s: float, width_error: float = 0.0
) -> float | None:
    """Wall seconds until the interval would reach the goal, if its half-width keeps shrinking as
    1/sqrt(time) (the most more data can do for a mean), at the wall cost per busy second seen so far.
    ``width_error``: the relative uncertainty of the half-width itself; the projection starts from the
    optimistic end of it (a batch-means width over g groups is known to about 1/sqrt(2(g-1)): 16% at
    20), so a goal is declared out of reach only when even that misses the bound."""
    if half is None or busy_s <= 0:
        return None
    optimistic = half * (1.0 - width_error)
    return elapsed + busy_s * max((optimistic / goal.ci_pct) ** 2 - 1, 0.0) * (elapsed / busy_s)


def _stop(
    met: bool, enough: bool, elapsed: float, left_for_next: float, goal: PrecisionGoal, projected: float | None = None
) -> str | None:
    """Why to stop now, or None. ``OUT_OF_REACH``: the minimums are in, the goal is not, and even a
    half-width shrinking as 1/sqrt(time) would not reach it before the bound: more runs would only
    spend the bound."""
    if met and enough:
        return "precision met"
    if elapsed >= goal.max_duration_s or left_for_next <= 0:
        return "max duration reached"
    if enough and projected is not None and projected > goal.max_duration_s:
        return OUT_OF_REACH
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
        queries = _fit(
            planned, goal, time.perf_counter() - t0, len(runs), max(mean_ns, last_ns) / 1e9, MIN_BOUNDED_QUERIES
        )
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
        reason = _stop(met, enough, elapsed, left_next, goal, projected_s(half, goal, elapsed, busy_s))
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


def offline_warm_up(run: RunFn, batches: Sequence[np.ndarray], batch_size: int, rate_guess: float, root: Path) -> float:
    """One untimed LoadGen Offline run of about ``OFFLINE_WARMUP_S`` (at least one batch), through the
    very path the timed runs take: on EfficientNet-Lite0 the first Offline run read at half the rate of
    the next ones even after bare batch calls (the runtime's buffers for the batch shape, the SUT's
    batch buffer, LoadGen's threads). Its rate (items/s) sizes the first timed run."""
    n = max(1, int(OFFLINE_WARMUP_S * max(rate_guess, 1e-3)) // batch_size) * batch_size
    outdir = root / "offline_warmup"
    outdir.mkdir(parents=True, exist_ok=True)
    result = offline_run(run, batches, ScenarioSettings(0.001, n, batch_size), rate_guess, outdir)
    return float(result["items_per_s"] or rate_guess)


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
    runs: list[dict[str, Any]] = []
    widths: list[float | None] = []
    durations: list[float] = []  # every batch of every run, in time order (LoadGen's time shared out)
    sizes: list[int] = []
    rate = max(rate_estimate, 1e-3)
    samples, busy_s = 0, 0.0

    def minimum_share() -> int:  # the items a minimum run asks for: an equal share of what is missing
        runs_left = max(goal.min_runs - len(runs), 1)
        missing_s = max(goal.min_duration_s - busy_s, 0.02 * runs_left)
        return max(
            batch_size,
            math.ceil((goal.min_queries - samples) / runs_left),
            math.ceil(missing_s / runs_left * rate * 1.05),
        )

    wanted = minimum_share()
    while True:
        # whole batches only: a short last one would take another shape (OpenVINO: its dynamic model)
        fit = _fit(wanted, goal, time.perf_counter() - t0, len(runs), 1.0 / rate, batch_size, OFFLINE_MAX_SAMPLES)
        n = max(1, fit // batch_size) * batch_size
        outdir = root / f"offline_{len(runs)}"
        outdir.mkdir(parents=True, exist_ok=True)
        result = offline_run(run, batches, ScenarioSettings(0.001, n, batch_size), rate, outdir, batch_times=True)
        runs.append(result)
        durations.extend(result.get("batch_s", []))
        sizes.extend(result.get("batch_items", []))
        rate, ci = batch_means_rate_ci(durations, sizes)
        half = half_width_pct(ci, rate)
        widths.append(half)
        met = half is not None and half <= goal.ci_pct
        samples = sum(sizes)
        busy_s = sum(durations)
        enough = len(runs) >= goal.min_runs and busy_s >= goal.min_duration_s and samples >= goal.min_queries
        elapsed = time.perf_counter() - t0
        left_next = goal.max_duration_s - elapsed - RUN_OVERHEAD_S - batch_size / rate
        groups = min(BATCH_MEANS_GROUPS, len(sizes))
        width_error = 1.0 / math.sqrt(2 * (groups - 1)) if groups > 1 else 0.0
        reason = _stop(met, enough, elapsed, left_next, goal, projected_s(half, goal, elapsed, busy_s, width_error))
        if reason:
            break
        if len(runs) < goal.min_runs or met:  # (met: only the minimums are missing)
            wanted = minimum_share()
        else:  # the items the interval's width predicts are missing (x1.2), and what the minimums want
            grow = samples * ((half / goal.ci_pct) ** 2 - 1) * 1.2 if half is not None else samples
            wanted = max(minimum_share(), math.ceil(grow))
    rates = [float(r["items_per_s"]) for r in runs if r["items_per_s"]]
    tcv = coefficient_of_variation(rates)
    return {
        "scenario": "offline",
        "mode": "precision",
        "items_per_s": rate,
        "per_run_items_per_s": rates,
        "per_run_samples": [r["samples"] for r in runs],
        "per_run_ci_half_width_pct": widths,
        "samples": int(samples),
        "batch_size": batch_size,
        "batches": len(sizes),
        "runs": len(runs),
        "cv": tcv,
        "unstable": tcv > cv_threshold,
        "valid": all(r["valid"] for r in runs),
        **loadgen_invalid(runs),
        "ci": [ci[0], ci[1]] if ci else None,
        "ci_half_width_pct": half,
        "ci_estimator": ESTIMATOR_THROUGHPUT,
        "loadgen_outside_share": float(np.median([r.get("outside_share", 0.0) for r in runs])),
        "precision_pct": goal.ci_pct,
        "precision_met": bool(met),
        "stop_reason": reason,
        "duration_s": round(time.perf_counter() - t0, 3),
        "busy_s": round(busy_s, 3),
        "max_duration_s": goal.max_duration_s,
    }


def measure_precision(
    run: RunFn,
    samples: Sequence[np.ndarray],
    single: PrecisionGoal,
    offline_goal: PrecisionGoal,
    batch_size: int,
    options: TimingOptions,
) -> TimingResult:
    """Warm up, SingleStream to its goal, then Offline to its goal inside the power sensor's window."""
    cv_threshold = options.cv_threshold
    expected_ns = warm_up(run, samples, options.warmup_queries)
    with log_root(options) as root:
        latency = single_stream(run, samples, single, expected_ns, root, cv_threshold)
        latency["quick"] = options.quick
        batches = offline_batches(samples, batch_size)
        # before the power window (energy per item is the timed runs' own); the rate guess from SingleStream
        rate = offline_warm_up(run, batches, batch_size, 1e3 / latency["mean_ms"], root)
        if options.on_offline_start:
            options.on_offline_start()
        t0 = time.perf_counter()
        try:
            throughput = offline(run, batches, batch_size, offline_goal, rate, root, cv_threshold)
        finally:
            window = time.perf_counter() - t0
            if options.on_offline_stop:
                options.on_offline_stop()
        throughput["quick"] = options.quick
    return TimingResult(latency, throughput, window, throughput["samples"])
