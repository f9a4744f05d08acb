"""The timing pipeline against ground truth: LoadGen, its log readers, the statistics and the stopping
rule, timed on a test-only run function whose per-call durations are known (``tests/support/timing_schedule.py``).

Nothing real is timed, so the numbers have a truth to meet:

- reported p50/p90/p99 are the order statistics of the latencies LoadGen measured, and lie between
  the schedule's (an exact lower bound: no call ends before its deadline) and the schedule's shifted
  up by the number m of queries that something delayed by more than 50 us, plus 50 us (a bound only
  while fewer than m queries lie above the percentile's rank). LoadGen's own
  cost is ~1.5 us a query here, so idle m is about 0 and the bound is the schedule's order statistic
  itself; a loaded machine that deschedules the harness makes m larger, never the test flaky;
- the reader returns exactly the latencies LoadGen's own percentiles come from;
- the p50's interval covers the true median at its stated rate (exactly, on the estimator, over 2000
  deterministic seeds; end to end over a few seeds with a bound that a 95% interval misses with
  probability 4e-4);
- Offline items/s is the samples over the known busy time; energy per item divides by those samples;
- the precision rule stops at the first run where the interval and the minimums are met, or at the
  bound; ``unstable`` follows ``cv_threshold``.

Every test here takes well under a second or two of LoadGen time (short schedules, few seeds).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from suite.measure.loadgen import ScenarioSettings, TimingOptions, single_stream_run
from suite.measure.loadgen_logs import read_mllog, read_trace_latencies
from suite.measure.precision import OUT_OF_REACH, PrecisionGoal, measure_precision, offline, projected_s, single_stream
from suite.measure.stats import loadgen_percentile, median_ci
from tests.support.timing_schedule import ScheduledRun, schedule, true_median

DATA = Path(__file__).parents[1] / "support" / "data" / "loadgen"
SAMPLES = [np.zeros((1, 4), np.float32) for _ in range(32)]
CLOCK_NS = 2_000  # LoadGen's clock and perf_counter_ns, read at slightly different instants
OVERHEAD_NS = 50_000


def _goal(ci_pct: float, min_queries: int = 100, max_s: float = 5.0, min_s: float = 0.001) -> PrecisionGoal:
    return PrecisionGoal(ci_pct=ci_pct, min_duration_s=min_s, min_queries=min_queries, max_duration_s=max_s, min_runs=3)


@pytest.fixture
def read_latencies(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Each LoadGen run's per-query latencies, in query order, as the suite read them from the trace
    (the real ``single_stream_run``, its results copied on the way back)."""
    import suite.measure.precision as precision

    runs: list[list[int]] = []
    real = precision.single_stream_run

    def keep(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(*args, **kwargs)
        runs.append(list(out["latencies_ns"]))
        return out

    monkeypatch.setattr(precision, "single_stream_run", keep)
    return runs


@pytest.mark.parametrize("kind", ["narrow", "bimodal", "heavy", "pareto"])
def test_percentiles_are_the_schedules_order_statistics(
    kind: str, tmp_path: Path, read_latencies: list[list[int]]
) -> None:
    run = ScheduledRun(schedule(kind, 4000, seed=11))
    lat = single_stream(run, SAMPLES, _goal(50.0, min_queries=300), 400_000, tmp_path, cv_threshold=0.1)
    n = lat["queries"]
    seen = [latency for one_run in read_latencies for latency in one_run]
    assert run.calls == n == lat["loadgen_queries"] == len(seen) >= 300  # every timed query ran once, and was read
    scheduled = run.scheduled_ns[:n]
    assert all(latency >= s - CLOCK_NS for latency, s in zip(seen, scheduled))  # no query beats its schedule
    # Queries the harness (or a loaded machine) delayed by more than OVERHEAD_NS past their schedule; with
    # m of them an order statistic can move up by at most m ranks (plus OVERHEAD_NS). Idle, m is ~0.
    m = sum(latency - s > OVERHEAD_NS for latency, s in zip(seen, scheduled))
    ordered = sorted(scheduled)
    for q, key in ((50, "p50_ms"), (90, "p90_ms"), (99, "p99_ms")):
        reported = lat[key] * 1e6
        assert reported == pytest.approx(loadgen_percentile(seen, q), abs=0.5)  # the pooled statistic, LoadGen's rule
        rank = min(n - 1, int(q / 100 * n))
        assert ordered[rank] - CLOCK_NS <= reported, (kind, q)
        if rank + m < n:  # else as many delayed queries as there are above this rank: no upper bound
            assert reported <= ordered[rank + m] + OVERHEAD_NS, (kind, q, m)
    assert lat["p50_ms"] <= lat["p90_ms"] <= lat["p99_ms"]
    lo_ci, hi_ci = lat["p50_ci_ms"]
    assert lo_ci <= lat["p50_ms"] <= hi_ci
    assert lat["mode"] == "precision" and lat["precision_met"] is True and lat["runs"] == 3


def test_trace_reader_returns_loadgens_own_latencies(tmp_path: Path) -> None:
    run = ScheduledRun(schedule("heavy", 500, seed=3))
    out = single_stream_run(run, SAMPLES, ScenarioSettings(0.001, 200), 300_000, tmp_path, trace=True, max_queries=200)
    lat = out["latencies_ns"]
    assert len(lat) == out["queries"] == run.calls == 200
    for q, key in ((50, "p50_ns"), (90, "p90_ns"), (99, "p99_ns")):
        assert loadgen_percentile(lat, q) == out[key]  # exactly LoadGen's number, not an estimate of it
    assert all(latency >= s - CLOCK_NS for latency, s in zip(lat, run.scheduled_ns))  # in query order
    assert not (tmp_path / "mlperf_log_trace.json").exists()  # read once, not kept


def test_log_readers_on_a_captured_loadgen_run() -> None:
    """A real LoadGen 6.0 SingleStream run (64 queries, trace on) committed under tests/support/data/loadgen."""
    detail = read_mllog(DATA / "mlperf_log_detail.txt")
    assert detail["result_validity"] == "VALID" and detail["result_query_count"] == 64
    latencies = read_trace_latencies(DATA / "mlperf_log_trace.json")
    assert len(latencies) == 64
    assert min(latencies) == detail["result_min_latency_ns"] and max(latencies) == detail["result_max_latency_ns"]
    for q in (50, 90, 95, 97, 99):
        assert loadgen_percentile(latencies, q) == detail[f"result_{q:.2f}_percentile_latency_ns"], q
    assert abs(sum(latencies) / 64 - detail["result_mean_latency_ns"]) <= 1


def test_trace_reader_refuses_a_log_without_samples(tmp_path: Path) -> None:
    empty = tmp_path / "mlperf_log_trace.json"
    empty.write_text('{"traceEvents":[\n{"name":"LastTrace"}\n]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="no per-sample events"):
        read_trace_latencies(empty)


@pytest.mark.parametrize("kind", ["heavy", "pareto", "narrow"])
def test_median_interval_covers_at_its_stated_rate(kind: str) -> None:
    """The estimator alone, 2000 seeded samples of 101 draws each: coverage of the true median."""
    truth = true_median(kind)
    hits = 0
    for seed in range(2000):
        lo, hi = median_ci(list(schedule(kind, 101, seed).astype(float)))  # type: ignore[misc]
        hits += lo <= truth <= hi
    coverage = hits / 2000
    # The order-statistic interval is exact-or-conservative: 95.6% nominal for n = 101. Deterministic seeds.
    assert 0.94 <= coverage <= 0.975, coverage


def test_stopping_early_does_not_bias_the_median(tmp_path: Path, read_latencies: list[list[int]]) -> None:
    """Through LoadGen: 8 seeds, each timed only until its ±10% interval is reached. Each interval must
    bracket the median the other seven measured together (about 1,700 queries, taken in between, so
    they share the machine's state) in at least 5 of 8: a 95% interval fails that with probability
    0.0004. The pool's median can only lie above the schedule's true one (by what the harness and a
    loaded machine add); below it only by its own sampling error (±3% at this size)."""
    truth = true_median("heavy")
    intervals = []
    for seed in range(8):
        run = ScheduledRun(schedule("heavy", 3000, seed=100 + seed))
        lat = single_stream(run, SAMPLES, _goal(10.0), 300_000, tmp_path / str(seed), cv_threshold=0.5)
        intervals.append((lat["p50_ci_ms"], lat["runs"]))
    inside, start = 0, 0
    for (lo, hi), runs in intervals:
        others = read_latencies[:start] + read_latencies[start + runs :]
        reference = loadgen_percentile([x for one in others for x in one], 50)
        assert reference >= truth * 0.97, (reference, truth)
        inside += lo * 1e6 <= reference <= hi * 1e6
        start += runs
    assert start == len(read_latencies)
    assert inside >= 5, inside


def test_precision_rule_stops_at_the_first_run_that_meets_it(tmp_path: Path) -> None:
    # A steady model: the three minimum runs already pin the p50 to well within 1%.
    steady = single_stream(ScheduledRun(schedule("narrow", 2000, 1)), SAMPLES, _goal(1.0), 400_000, tmp_path / "a", 0.1)
    assert (
        steady["runs"] == 3
        and steady["stop_reason"] == "precision met"
        and steady["per_run_ci_half_width_pct"][-1] <= 1.0
    )

    # A heavy tail at ±4%: more runs are needed; the rule stops at the first one whose interval meets it.
    goal = _goal(4.0)
    lat = single_stream(ScheduledRun(schedule("heavy", 8000, 2)), SAMPLES, goal, 300_000, tmp_path / "b", 0.5)
    widths = lat["per_run_ci_half_width_pct"]
    assert lat["stop_reason"] == "precision met" and lat["precision_met"] is True
    assert widths[-1] <= goal.ci_pct and lat["ci_half_width_pct"] == widths[-1]
    assert all(w is None or w > goal.ci_pct for w in widths[goal.min_runs - 1 : -1])  # not met earlier
    assert lat["runs"] > goal.min_runs and lat["queries"] == sum(lat["per_run_queries"])

    # The bound: ±0.2% on a heavy tail cannot be had in 0.4 s; once the minimums are in, the interval's
    # width says so (it would need ~(w/0.2)^2 times the data), the rule stops, and the record says why.
    bounded = single_stream(
        ScheduledRun(schedule("heavy", 8000, 3)), SAMPLES, _goal(0.2, max_s=0.4), 300_000, tmp_path / "c", 0.5
    )
    assert bounded["stop_reason"] == OUT_OF_REACH and bounded["precision_met"] is False
    assert bounded["ci_half_width_pct"] > 0.2 and bounded["duration_s"] <= 0.4 * 1.5 + 0.2
    assert bounded["runs"] == 3  # stopped after the minimum runs, not at the bound
    lo, hi = bounded["p50_ci_ms"]
    assert lo <= bounded["p50_ms"] <= hi


def test_the_time_bound_holds_for_a_slow_model(tmp_path: Path) -> None:
    """40 ms a query and a 1 s bound: runs shrink to fit it (below LoadGen's 64, which it then calls
    INVALID, and the record says why) instead of overrunning it."""
    lat = single_stream(ScheduledRun([40_000_000]), SAMPLES, _goal(1.0, max_s=1.0), 40_000_000, tmp_path, 0.1)
    assert lat["stop_reason"] == "max duration reached" and lat["queries"] < 100
    assert lat["duration_s"] <= 1.0 + 0.4  # at most one 8-query run past the bound
    assert lat["valid"] is False and "early-stopping" in lat["loadgen_invalid"]


def test_unstable_follows_cv_threshold(tmp_path: Path) -> None:
    # Runs of 100 queries at 0.2, 0.3 and 0.4 ms: per-run p50s with a CV of 1/3.
    levels = [200_000] * 100 + [300_000] * 100 + [400_000] * 100
    results = {}
    for threshold in (0.25, 0.40):
        lat = single_stream(
            ScheduledRun(levels), SAMPLES, _goal(50.0, min_queries=300), 300_000, tmp_path / str(threshold), threshold
        )
        assert lat["per_run_queries"] == [100, 100, 100]
        assert lat["cv"] == pytest.approx(1 / 3, abs=0.03)
        results[threshold] = lat["unstable"]
    assert results == {0.25: True, 0.40: False}


def test_offline_rate_is_samples_over_the_known_busy_time(tmp_path: Path) -> None:
    per_item = 40_000  # 40 us an item: 25,000 items/s if the harness cost nothing
    run = ScheduledRun([per_item], per_item=True)
    batches = [np.zeros((32, 4), np.float32) for _ in range(8)]
    thr = offline(run, batches, 32, _goal(5.0, min_queries=96, min_s=0.3, max_s=4.0), 20_000.0, tmp_path, 0.1)
    assert run.items == thr["samples"] == sum(thr["per_run_samples"])  # each sample run once, and counted
    busy_loadgen = sum(s / r for s, r in zip(thr["per_run_samples"], thr["per_run_items_per_s"]))
    scheduled_rate = thr["samples"] / (sum(run.scheduled_ns) / 1e9)
    actual_rate = thr["samples"] / (sum(run.actual_ns) / 1e9)
    overall = thr["samples"] / busy_loadgen
    assert scheduled_rate == pytest.approx(1e9 / per_item)
    assert overall <= scheduled_rate * 1.01  # never faster than the schedule allows
    assert overall >= actual_rate * 0.85  # the harness's own cost per 32-item batch is small
    assert thr["ci"][0] <= thr["items_per_s"] <= thr["ci"][1]
    # The pooled rate is LoadGen's: all samples over the sum of LoadGen's own run durations.
    assert thr["items_per_s"] == pytest.approx(overall, rel=1e-6)
    assert thr["mode"] == "precision" and thr["runs"] >= 3 and thr["batches"] * 32 >= thr["samples"]
    assert thr["stop_reason"] == "precision met" and thr["ci_half_width_pct"] <= 5.0


def test_offline_batch_times_add_up_to_loadgens_duration(tmp_path: Path) -> None:
    """Each batch's time, with LoadGen's time outside the SUT shared out, sums to LoadGen's duration."""
    from suite.measure.loadgen import offline_run

    run = ScheduledRun([20_000], per_item=True)
    batches = [np.zeros((32, 4), np.float32) for _ in range(8)]
    out = offline_run(run, batches, ScenarioSettings(0.001, 800, 32), 50_000.0, tmp_path, batch_times=True)
    assert sum(out["batch_items"]) == out["samples"] == 800 and len(out["batch_s"]) == 25
    assert sum(out["batch_s"]) == pytest.approx(out["samples"] / out["items_per_s"], rel=1e-9)
    assert all(t >= 32 * 20e-6 * 0.98 for t in out["batch_s"])  # no batch beats its schedule
    assert 0 <= out["outside_share"] < 0.5


def test_offline_rule_stops_at_the_first_run_that_meets_it(tmp_path: Path) -> None:
    """30 us an item: the rule stops at the first run, after the three minimum ones, whose interval is
    within ±3%; ±0.05% cannot be had in 1 s."""
    batches = [np.zeros((32, 4), np.float32) for _ in range(8)]
    goal = _goal(3.0, min_s=0.15)
    steady = offline(ScheduledRun([30_000], per_item=True), batches, 32, goal, 30_000.0, tmp_path / "a", 0.1)
    widths = steady["per_run_ci_half_width_pct"]
    assert steady["stop_reason"] == "precision met" and steady["runs"] >= 3
    assert widths[-1] == steady["ci_half_width_pct"] <= 3.0
    busy = np.cumsum([n / r for n, r in zip(steady["per_run_samples"], steady["per_run_items_per_s"])])
    for i, w in enumerate(widths[:-1]):  # no earlier run met both the interval and the minimums
        assert i + 1 < goal.min_runs or w is None or w > 3.0 or busy[i] < goal.min_duration_s * (1 - 1e-6), (i, w, busy)
    bounded = offline(
        ScheduledRun([30_000], per_item=True),
        batches,
        32,
        _goal(0.05, min_s=0.15, max_s=1.0),
        30_000.0,
        tmp_path / "b",
        0.1,
    )
    assert bounded["stop_reason"] == OUT_OF_REACH and bounded["precision_met"] is False
    assert all(w is None or w > 0.05 for w in bounded["per_run_ci_half_width_pct"])
    assert bounded["runs"] >= 3 and bounded["duration_s"] < 1.0  # stopped once the minimums were in, not at the bound


def test_out_of_reach_projects_the_half_width_as_one_over_sqrt_time() -> None:
    goal = _goal(1.0, max_s=2.0)
    assert projected_s(2.0, goal, elapsed=0.5, busy_s=0.4) == pytest.approx(0.5 + 0.4 * 3 * 1.25)  # 4x the data
    assert projected_s(0.5, goal, elapsed=0.5, busy_s=0.4) == pytest.approx(0.5)  # already within: no more time
    assert projected_s(None, goal, 0.5, 0.4) is None


def test_energy_per_item_divides_by_the_samples_measured(tmp_path: Path) -> None:
    """A real sampled sensor (the external meter, reading a command that prints 5.0 W every 10 ms)
    around the Offline window of a known-duration run: mJ/item = energy / throughput.samples."""
    from suite.power.base import Probe, power_block, stop_reading
    from suite.power.external import ExternalMeterSensor

    meter = f'{sys.executable} -u -c "import time\nwhile True: print(5.0); time.sleep(0.01)"'
    sensor = ExternalMeterSensor(command=meter, settle_s=1.0)
    box: list = []
    run = ScheduledRun([30_000], per_item=True)
    hooks = TimingOptions(5, 0.5, False, sensor.start, lambda: box.append(stop_reading(sensor)), tmp_path)
    timing = measure_precision(
        run, SAMPLES, _goal(50.0, min_queries=64), _goal(5.0, min_queries=96, min_s=0.4, max_s=3.0), 32, hooks
    )
    power = power_block(sensor, Probe("available"), box[0], timing.offline_items)
    thr = timing.throughput
    assert power["status"] == "measured" and timing.offline_items == thr["samples"]
    assert power["mj_per_item"] == pytest.approx(power["energy_j"] * 1000 / thr["samples"])
    assert power["avg_w"] == pytest.approx(5.0, rel=0.02)
    # The window holds the Offline runs and LoadGen's set-up between them: at least busy time x 5 W.
    assert 5000 / thr["items_per_s"] * 0.95 <= power["mj_per_item"] <= 5000 / thr["items_per_s"] * 2.0
    assert math.isclose(power["window_s"], timing.offline_window_s, rel_tol=0.2, abs_tol=0.05)
