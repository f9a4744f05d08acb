"""Timing through MLPerf LoadGen: SingleStream for latency, Offline for throughput.

LoadGen owns the clock, the query schedule and the statistics (nearest-rank percentiles, early-stopping
p90); this module only builds the SUT/QSL around a runtime session and reads LoadGen's own results back
from ``mlperf_log_detail.txt`` (its ``:::MLLOG`` JSON lines) and, where asked, its per-query latencies
from ``mlperf_log_trace.json`` (``suite.measure.loadgen_logs``). The SUT callback runs the model inline,
so the per-query overhead is a Python call, measured by ``edgeq fidelity``.

Two modes (``latency.mode`` in the record):

- ``mlperf`` (``edgeq bench --mlperf``, ``measure_mlperf`` here): the profile's fixed minimum duration
  and query counts, ``runs`` times per scenario, as MLPerf submissions run them;
- ``precision`` (the default, ``suite.measure.precision``): LoadGen runs repeated until the 95%
  interval of the p50 (and of Offline items/s) is within the profile's ``ci_pct``, bounded in time.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from suite.measure.loadgen_logs import DETAIL, TRACE, read_mllog, read_trace_latencies
from suite.measure.stats import coefficient_of_variation

RunFn = Callable[[np.ndarray], Any]
TRACE_MAX_QUERIES = 30_000  # per traced run: LoadGen's trace log takes ~650 bytes per query


@dataclass(frozen=True)
class ScenarioSettings:
    min_duration_s: float
    min_queries: int
    batch_size: int = 1


def _log_settings(outdir: Path, trace: bool = False) -> Any:
    import mlperf_loadgen as lg

    out = lg.LogOutputSettings()
    out.outdir = str(outdir)
    out.copy_summary_to_stdout = False
    out.copy_detail_to_stdout = False
    settings = lg.LogSettings()
    settings.log_output = out
    settings.enable_trace = trace
    return settings


def _start(
    scenario: str, issue: Callable[[list], None], n_samples: int, settings: Any, outdir: Path, trace: bool = False
) -> dict[str, Any]:
    """One LoadGen test; its detail log's values, plus ``wall_s`` (the whole call, LoadGen's own set-up
    and log writing included: what a run costs)."""
    import mlperf_loadgen as lg

    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(n_samples, n_samples, lambda _s: None, lambda _s: None)
    t0 = time.perf_counter()
    try:
        lg.StartTestWithLogSettings(sut, qsl, settings, _log_settings(outdir, trace))
    finally:
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    log = read_mllog(outdir / DETAIL)
    log["wall_s"] = time.perf_counter() - t0
    return log


def calibrate_latency_ns(run: RunFn, samples: Sequence[np.ndarray], seconds: float = 0.3) -> int:
    """A short bare loop that tells LoadGen what latency to expect (sub-ms runs are INVALID otherwise)."""
    times: list[int] = []
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline or len(times) < 10:
        t0 = time.perf_counter_ns()
        run(samples[i % len(samples)])
        times.append(time.perf_counter_ns() - t0)
        i += 1
    return max(1, int(np.median(times)))


def bare_batch_loop(run: RunFn, batches: Sequence[np.ndarray], seconds: float) -> tuple[int, float]:
    """(items, seconds) of a bare loop over ``batches`` for ``seconds`` (at least 3 batches)."""
    items = 0
    t0 = time.perf_counter()
    i = 0
    while time.perf_counter() - t0 < seconds or i < 3:
        batch = batches[i % len(batches)]
        run(batch)
        items += len(batch)
        i += 1
    return items, time.perf_counter() - t0


def calibrate_items_per_s(run: RunFn, batches: Sequence[np.ndarray], seconds: float = 0.3) -> float:
    """A short bare batch loop that sets Offline's expected rate (so the run meets its min duration)."""
    items, elapsed = bare_batch_loop(run, batches, seconds)
    return items / elapsed


def _test_settings(scenario: Any, settings: ScenarioSettings) -> Any:
    """LoadGen's TestSettings for a performance run of ``scenario`` with the profile's minimums."""
    import mlperf_loadgen as lg

    test = lg.TestSettings()
    test.scenario = scenario
    test.mode = lg.TestMode.PerformanceOnly
    test.min_duration_ms = int(settings.min_duration_s * 1000)
    test.min_query_count = int(settings.min_queries)
    return test


def single_stream_run(
    run: RunFn,
    samples: Sequence[np.ndarray],
    settings: ScenarioSettings,
    expected_ns: int,
    outdir: Path,
    trace: bool = False,
    max_queries: int | None = None,
) -> dict[str, Any]:
    """One LoadGen SingleStream run; returns LoadGen's own statistics for it.

    ``trace``: also LoadGen's per-query latencies (``latencies_ns``, query order) from its trace log;
    ``max_queries``: LoadGen stops there even if the minimum duration is not met yet.
    """
    import mlperf_loadgen as lg

    respond = lg.QuerySamplesComplete
    response = lg.QuerySampleResponse

    def issue(queries: list) -> None:
        for q in queries:
            run(samples[q.index])
        respond([response(q.id, 0, 0) for q in queries])

    test = _test_settings(lg.TestScenario.SingleStream, settings)
    test.single_stream_expected_latency_ns = int(expected_ns)
    if max_queries:
        test.max_query_count = int(max(max_queries, settings.min_queries))
    log = _start("SingleStream", issue, len(samples), test, outdir, trace)
    out = {
        "p50_ns": log.get("result_50.00_percentile_latency_ns"),
        "p90_ns": log.get("result_90.00_percentile_latency_ns"),
        "p99_ns": log.get("result_99.00_percentile_latency_ns"),
        "mean_ns": log.get("result_mean_latency_ns"),
        "early_stopping_p90_ns": log.get("early_stopping_latency_ss"),
        "queries": log.get("result_query_count"),
        "valid": log.get("result_validity") == "VALID",
        "invalid_reason": invalid_reason(log),
        "wall_s": log["wall_s"],
    }
    if trace:
        out["latencies_ns"] = read_trace_latencies(outdir / TRACE)
        (outdir / TRACE).unlink(missing_ok=True)  # read once; ~650 bytes a query is not worth keeping
    return out


def offline_run(
    run: RunFn,
    batches: Sequence[np.ndarray],
    settings: ScenarioSettings,
    expected_qps: float,
    outdir: Path,
    batch_times: bool = False,
) -> dict[str, Any]:
    """One LoadGen Offline run: LoadGen sends every sample at once; we run them in profile-sized batches.

    ``batches`` are the samples pre-stacked by batch (sample i lives in batch i // batch_size); a query
    set that is not a whole number of batches is run by gathering the indices it asked for.

    ``batch_times``: also ``batch_s`` and ``batch_items``, each batch's time (from the previous batch's
    completion, the first from the SUT's entry) and size, in order, with the time LoadGen counted
    outside them (its hand-over of the query, the Python binding building the samples' list) shared out
    over the batches by their sizes, so the times add up to LoadGen's own duration of the run (samples /
    its samples per second).
    """
    import mlperf_loadgen as lg

    respond = lg.QuerySamplesComplete
    response = lg.QuerySampleResponse
    bs = settings.batch_size
    flat = np.concatenate(list(batches), axis=0)
    clock = time.perf_counter_ns
    marks: list[int] = []
    sizes: list[int] = []
    # One batch buffer, filled in place: a fresh array a batch (19 MB on EfficientNet-Lite0 at 32)
    # costs page faults, and now and then far more (docs/benchmarks.md has a measured case).
    buffer = np.empty((bs, *flat.shape[1:]), dtype=flat.dtype)

    def issue(queries: list) -> None:
        marks.append(clock())
        for start in range(0, len(queries), bs):
            chunk = queries[start : start + bs]
            index = [q.index for q in chunk]
            if len(index) == bs:
                np.take(flat, index, axis=0, out=buffer)
                run(buffer)
            else:
                run(flat[index])
            marks.append(clock())
            sizes.append(len(chunk))
            respond([response(q.id, 0, 0) for q in chunk])

    test = _test_settings(lg.TestScenario.Offline, settings)
    test.offline_expected_qps = float(expected_qps)
    log = _start("Offline", issue, len(flat), test, outdir)
    out = {
        "items_per_s": log.get("result_samples_per_second"),
        # Offline issues one query of many samples: the items measured are samples per query x queries
        # (result_query_count alone counts queries, 1 per run, and once made mJ/item that much too large).
        "samples": (log.get("generated_samples_per_query") or 0) * (log.get("result_query_count") or 1) or None,
        "valid": log.get("result_validity") == "VALID",
        "invalid_reason": invalid_reason(log),
        "wall_s": log["wall_s"],
    }
    if batch_times and out["items_per_s"] and sizes:
        loadgen_s = sum(sizes) / out["items_per_s"]
        outside = loadgen_s - (marks[-1] - marks[0]) / 1e9
        n = sum(sizes)
        out["batch_s"] = [(b - a) / 1e9 + outside * k / n for a, b, k in zip(marks, marks[1:], sizes)]
        out["batch_items"] = sizes
        out["outside_share"] = outside / loadgen_s
    return out


def invalid_reason(log: dict[str, Any]) -> str | None:
    """Which of LoadGen's checks failed, when it called a run INVALID (None when VALID)."""
    if log.get("result_validity") == "VALID":
        return None
    failed = [
        text
        for key, text in (
            ("result_min_duration_met", "minimum duration not met"),
            ("result_min_queries_met", "minimum queries not met"),
            ("early_stopping_met", "too few queries for its early-stopping estimate (64)"),
        )
        if log.get(key) is False
    ]
    return "LoadGen: " + (", ".join(failed) if failed else str(log.get("result_validity")))


def loadgen_invalid(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"loadgen_invalid": reasons}`` when LoadGen called any of ``runs`` INVALID, else ``{}``."""
    reasons = sorted({r.get("invalid_reason") or "INVALID" for r in runs if not r["valid"]})
    return {"loadgen_invalid": "; ".join(reasons)} if reasons else {}


def offline_batches(samples: Sequence[np.ndarray], batch_size: int) -> list[np.ndarray]:
    """The timing samples stacked by Offline batch: a tail short of a whole batch is left out, and
    fewer samples than one batch are repeated to fill it, so every batch the SUT runs (and the
    warm-up) has the one shape ``batch_size`` (a first call in a new shape allocates: on
    EfficientNet-Lite0's 20 photos the first batch of 32 after warm-ups of 20 ran at half speed)."""
    if len(samples) < batch_size:
        samples = [samples[i % len(samples)] for i in range(batch_size)]
    n = len(samples) - len(samples) % batch_size
    return [np.concatenate(samples[i : i + batch_size], axis=0) for i in range(0, n, batch_size)]


@dataclass(frozen=True)
class TimingOptions:
    """What both modes take beside their scenario settings: the warm-up, the CV threshold, the quick
    flag (recorded), the power sensor's hooks around the Offline runs, and where LoadGen's logs go
    (a temporary folder, removed afterwards, when None)."""

    warmup_queries: int
    cv_threshold: float
    quick: bool
    on_offline_start: Callable[[], None] | None = None
    on_offline_stop: Callable[[], None] | None = None
    log_dir: Path | None = None


@contextmanager
def log_root(options: TimingOptions) -> Iterator[Path]:
    """The folder LoadGen's runs log under: ``options.log_dir``, or a temporary one removed at the end."""
    root = Path(options.log_dir) if options.log_dir else Path(tempfile.mkdtemp(prefix="edgeq-loadgen-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        yield root
    finally:
        if options.log_dir is None:
            shutil.rmtree(root, ignore_errors=True)


@dataclass
class TimingResult:
    latency: dict[str, Any]
    throughput: dict[str, Any]
    offline_window_s: float
    offline_items: int


def measure_mlperf(
    run: RunFn,
    samples: Sequence[np.ndarray],
    single: ScenarioSettings,
    offline: ScenarioSettings,
    runs: int,
    options: TimingOptions,
) -> TimingResult:
    """``mlperf`` mode: warm up, then ``runs`` SingleStream runs and ``runs`` Offline runs at the
    profile's fixed minimums; spread across runs as CV.

    The power sensor hooks wrap the Offline runs, so energy per item comes from the same window as the
    throughput it is divided by.
    """
    with log_root(options) as root:
        return _mlperf(run, samples, single, offline, runs, options, root)


def _mlperf(
    run: RunFn,
    samples: Sequence[np.ndarray],
    single: ScenarioSettings,
    offline: ScenarioSettings,
    runs: int,
    options: TimingOptions,
    root: Path,
) -> TimingResult:
    cv_threshold, quick = options.cv_threshold, options.quick
    for i in range(options.warmup_queries):
        run(samples[i % len(samples)])
    expected_ns = calibrate_latency_ns(run, samples)
    ss_runs = []
    for r in range(runs):
        outdir = root / f"single_stream_{r}"
        outdir.mkdir(exist_ok=True)
        ss_runs.append(single_stream_run(run, samples, single, expected_ns, outdir))
    p50s = [x["p50_ns"] / 1e6 for x in ss_runs]
    best = sorted(ss_runs, key=lambda x: x["p50_ns"])[len(ss_runs) // 2]  # the median run
    cv = coefficient_of_variation(p50s)
    latency = {
        "scenario": "single_stream",
        "mode": "mlperf",
        "p50_ms": float(np.median(p50s)),
        "p90_ms": best["p90_ns"] / 1e6,
        "p99_ms": best["p99_ns"] / 1e6,
        "mean_ms": best["mean_ns"] / 1e6,
        "early_stopping_p90_ms": (best["early_stopping_p90_ns"] or 0) / 1e6 or None,
        "queries": int(sum(x["queries"] or 0 for x in ss_runs)),
        "runs": runs,
        "per_run_p50_ms": p50s,
        "per_run_queries": [x["queries"] for x in ss_runs],
        "cv": cv,
        "unstable": cv > cv_threshold,
        "valid": all(x["valid"] for x in ss_runs),
        **loadgen_invalid(ss_runs),
        "quick": quick,
        "expected_latency_ns": expected_ns,
        "p50_ci_ms": None,  # fixed counts: no interval is computed (the precision mode's is)
        "precision_met": None,
        "duration_s": round(sum(x["wall_s"] for x in ss_runs), 3),
    }

    bs = offline.batch_size
    batches = offline_batches(samples, bs)
    expected_qps = calibrate_items_per_s(run, batches)
    off_runs = []
    if options.on_offline_start:
        options.on_offline_start()
    t0 = time.perf_counter()
    try:
        for r in range(runs):
            outdir = root / f"offline_{r}"
            outdir.mkdir(exist_ok=True)
            off_runs.append(offline_run(run, batches, offline, expected_qps, outdir))
    finally:
        window = time.perf_counter() - t0
        if options.on_offline_stop:
            options.on_offline_stop()
    rates = [x["items_per_s"] for x in off_runs]
    tcv = coefficient_of_variation(rates)
    throughput = {
        "scenario": "offline",
        "mode": "mlperf",
        "items_per_s": float(np.median(rates)),
        "per_run_items_per_s": rates,
        "samples": int(sum(x["samples"] or 0 for x in off_runs)),
        "batch_size": bs,
        "runs": runs,
        "cv": tcv,
        "unstable": tcv > cv_threshold,
        "valid": all(x["valid"] for x in off_runs),
        **loadgen_invalid(off_runs),
        "quick": quick,
        "ci": None,
        "precision_met": None,
        "duration_s": round(window, 3),
    }
    return TimingResult(latency, throughput, window, throughput["samples"])
