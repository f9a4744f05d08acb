"""Statistics that records rely on: nearest-rank percentiles (as MLPerf) and the coefficient of variation."""

from __future__ import annotations

import math

import pytest

from suite.measure.stats import coefficient_of_variation, nearest_rank


def test_nearest_rank_matches_definition() -> None:
    values = [15, 20, 35, 40, 50]
    assert nearest_rank(values, 5) == 15
    assert nearest_rank(values, 30) == 20
    assert nearest_rank(values, 40) == 20
    assert nearest_rank(values, 50) == 35
    assert nearest_rank(values, 100) == 50
    with pytest.raises(ValueError):
        nearest_rank([], 50)


def test_cv_is_sample_std_over_mean() -> None:
    assert coefficient_of_variation([2.0, 2.0, 2.0]) == 0.0
    assert math.isclose(coefficient_of_variation([1.0, 2.0, 3.0]), 0.5)
    assert coefficient_of_variation([5.0]) == 0.0


# ---------------------------------------------------------------- intervals and the paired test
from suite.measure.stats import loadgen_percentile, median_ci, median_ci_ranks, wilson_ci  # noqa: E402
from suite.records.paired import (  # noqa: E402
    binom_half_cdf,
    decode_correct,
    encode_correct,
    labels_sha256,
    mcnemar_exact_p,
    vs_baseline,
)


def test_loadgen_percentile_takes_the_next_value_on_whole_ranks() -> None:
    values = list(range(1, 65))  # 64 values: LoadGen's p50 is the 33rd (index floor(0.5 * 64))
    assert loadgen_percentile(values, 50) == 33 and nearest_rank(values, 50) == 32
    assert loadgen_percentile(values, 90) == nearest_rank(values, 90) == 58  # 57.6: the same rank
    assert loadgen_percentile([7.0], 99) == 7.0


def test_median_interval_ranks_match_the_binomial_table() -> None:
    assert median_ci_ranks(5) is None  # even [min, max] covers only 93.75%
    assert median_ci_ranks(6) == (1, 6)  # 1 - 2/64 = 96.9%
    assert median_ci_ranks(10) == (2, 9)  # 97.9%; (3, 8) would be 89.1%
    assert median_ci_ranks(100) == (40, 61)  # the textbook ranks for n = 100
    for n in (7, 20, 51, 100, 999, 5000):
        lo, hi = median_ci_ranks(n)  # type: ignore[misc]
        assert hi == n - lo + 1
        assert 1 - 2 * binom_half_cdf(lo - 1, n) >= 0.95 > 1 - 2 * binom_half_cdf(lo, n)  # exact, and the narrowest
    assert median_ci([3.0, 1.0, 2.0, 5.0, 4.0, 6.0]) == (1.0, 6.0)


def test_binomial_tail_and_exact_mcnemar() -> None:
    assert binom_half_cdf(0, 10) == pytest.approx(1 / 1024)
    assert binom_half_cdf(5, 10) == pytest.approx(638 / 1024)
    assert binom_half_cdf(-1, 10) == 0.0 and binom_half_cdf(10, 10) == 1.0
    assert binom_half_cdf(500, 1000) == pytest.approx(0.5 + 0.5 * math.comb(1000, 500) / 2**1000)
    assert mcnemar_exact_p(1, 9) == pytest.approx(2 * 11 / 1024)  # 0.0215: significant
    assert mcnemar_exact_p(9, 1) == mcnemar_exact_p(1, 9)
    assert mcnemar_exact_p(0, 1) == 1.0 and mcnemar_exact_p(0, 0) == 1.0  # one discordant item proves nothing
    assert mcnemar_exact_p(0, 6) == pytest.approx(2 / 64)


def test_wilson_interval() -> None:
    lo, hi = wilson_ci(5, 10)  # type: ignore[misc]
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = wilson_ci(20, 20)  # type: ignore[misc]
    assert hi == 1.0 and lo == pytest.approx(0.8389, abs=1e-4)  # 20 of 20 right: at least 83.9 %
    assert wilson_ci(0, 0) is None


def test_per_item_correctness_round_trip_and_paired_counts() -> None:
    import numpy as np

    fp32 = np.array([1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1], dtype=bool)
    method = np.array([1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    labels = np.arange(12) % 3
    block = encode_correct(method)
    assert block["n"] == 12 and (decode_correct(block) == method).all()
    base = {"job_id": "f" * 16, "accuracy": {"correct": encode_correct(fp32), "labels_sha256": labels_sha256(labels)}}
    paired = vs_baseline({"correct": block, "labels_sha256": labels_sha256(labels)}, base)
    assert paired is not None
    assert (paired["both_right"], paired["only_fp32"], paired["only_method"], paired["both_wrong"]) == (5, 4, 1, 2)
    assert paired["mcnemar_p"] == pytest.approx(mcnemar_exact_p(4, 1)) and paired["significant"] is False
    other = vs_baseline({"correct": block, "labels_sha256": labels_sha256(labels[::-1])}, base)
    assert other is not None and "not the same evaluated items" in other["error"] and "mcnemar_p" not in other
    assert vs_baseline({"correct": block}, None) is None


# ---------------------------------------------------------------- the Offline rate's interval
from suite.measure.stats import T975, batch_means_rate_ci  # noqa: E402


def test_t_table_matches_scipy() -> None:
    from scipy import stats

    for df, value in enumerate(T975, start=1):
        assert value == pytest.approx(stats.t.ppf(0.975, df), abs=5e-6), df


def test_batch_means_rate_is_the_ratio_of_sums() -> None:
    rate, ci = batch_means_rate_ci([0.1, 0.12, 0.11, 0.09], [10, 10, 10, 10])
    assert rate == pytest.approx(40 / 0.42)
    assert ci is not None and ci[0] < rate < ci[1]
    assert batch_means_rate_ci([0.01, 0.03], [10, 10])[1] is None  # t(1) reaches zero time: no interval
    assert batch_means_rate_ci([0.1], [32]) == (320.0, None)  # one batch: no interval
    steady = batch_means_rate_ci([0.001] * 400, [32] * 400)
    assert steady == (pytest.approx(32_000.0), (pytest.approx(32_000.0), pytest.approx(32_000.0)))


def test_batch_means_interval_covers_a_correlated_series() -> None:
    """1000 seeded series of 2000 batch times with AR(1) noise (phi 0.9: a machine whose speed wanders
    over tens of batches, as this VM's does). Batch means keeps its stated 95% within a few points;
    an interval that treated the batches as independent would cover far less (checked: the naive one
    is about 4x narrower here)."""
    import numpy as np

    true_rate = 32 / 0.001
    hits, naive_hits = 0, 0
    for seed in range(1000):
        rng = np.random.default_rng(seed)
        noise = np.zeros(2000)
        e = rng.normal(0, 0.03 * np.sqrt(1 - 0.81), 2000)
        for i in range(1, 2000):
            noise[i] = 0.9 * noise[i - 1] + e[i]
        times = 0.001 * (1 + noise)
        rate, ci = batch_means_rate_ci(list(times), [32] * 2000)
        hits += ci[0] <= true_rate <= ci[1]
        half = 1.96 * times.std(ddof=1) / np.sqrt(2000) / times.mean()
        naive_hits += rate / (1 + half) <= true_rate <= rate / (1 - half)
    assert 0.91 <= hits / 1000 <= 0.985, hits
    assert naive_hits / 1000 < 0.6, naive_hits
