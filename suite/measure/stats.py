"""Statistics that records rely on: percentiles (nearest rank, and LoadGen's own rule), the coefficient
of variation, and the 95% intervals of the precision-driven timing and of accuracy.

- ``median_ci``: the distribution-free order-statistic interval of a median. Of n independent draws,
  the number below the true median is Binomial(n, 1/2), so ``[x_(l), x_(n-l+1)]`` covers it with
  probability ``1 - 2 P(B <= l-1)``; ``l`` is the largest rank keeping that at least 95%. It assumes
  nothing about the shape of the latency distribution (heavy tails, two modes), which a bootstrap or a
  normal interval would.
- ``batch_means_rate_ci``: the interval of an Offline rate, by non-overlapping batch means over the
  per-batch times the SUT reported, in time order (the textbook interval for the mean of a correlated
  series: consecutive batches on a shared machine are not independent, 20 long groups nearly are).
- ``wilson_ci``: the Wilson score interval of a proportion (top-1), which, unlike the normal
  interval, stays inside [0, 1] and is honest at 20 items and near 100%.

Written here rather than taken from scipy because the run side measures on boards that install numpy,
pydantic, LoadGen and their runtime only; each is a closed form or a binomial tail
(``suite.records.paired.binom_half_cdf``, shared with the paired McNemar test).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from suite.records.paired import binom_half_cdf

Z95 = 1.959963984540054
EXACT_MEDIAN_N = 20_000  # above this many values the binomial rank comes from its normal limit
BATCH_MEANS_GROUPS = 20  # Schmeiser (1982): 10-30 groups; fewer cost t-quantile, more cost independence
# Student t 0.975 quantiles, degrees of freedom 1..30 (the standard table; a test checks them against scipy).
T975 = (
    12.706205,
    4.302653,
    3.182446,
    2.776445,
    2.570582,
    2.446912,
    2.364624,
    2.306004,
    2.262157,
    2.228139,
    2.200985,
    2.178813,
    2.160369,
    2.144787,
    2.131450,
    2.119905,
    2.109816,
    2.100922,
    2.093024,
    2.085963,
    2.079614,
    2.073873,
    2.068658,
    2.063899,
    2.059539,
    2.055529,
    2.051831,
    2.048407,
    2.045230,
    2.042272,
)


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100): the smallest value with at least q% at or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100.0 * len(ordered))) - 1]


def loadgen_percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile as LoadGen computes it: the sorted value at 0-based index floor(q/100 * n).

    This is the nearest rank except where q/100 * n is a whole number, where LoadGen takes the next
    value up (its p50 of 64 latencies is the 33rd, not the 32nd: checked against LoadGen 6.0's detail
    log on a captured run, tests/support/data/loadgen). The precision mode uses it for the pooled latencies, so
    a single run reports exactly LoadGen's number.
    """
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100.0 * len(ordered)))]


def coefficient_of_variation(values: Sequence[float]) -> float:
    """Sample standard deviation over mean; 0 for fewer than two values."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    if mean == 0:
        return 0.0
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return math.sqrt(var) / abs(mean)


def median_ci_ranks(n: int) -> tuple[int, int] | None:
    """1-based ranks (l, u) of the 95% order-statistic interval of a median of n values; None if n < 6.

    ``l`` is the largest rank with P(B <= l-1) <= 2.5%, B ~ Binomial(n, 1/2), so the coverage
    ``1 - 2 P(B <= l-1)`` is at least 95% (it is exact, never approximate, up to ``EXACT_MEDIAN_N``).
    """
    if n < 6:  # with 5 values even [min, max] covers the median only 93.75% of the time
        return None
    if n > EXACT_MEDIAN_N:
        low = max(1, math.floor(n / 2 - Z95 * math.sqrt(n) / 2))
    else:
        low = max(1, math.floor(n / 2 - Z95 * math.sqrt(n) / 2) - 2)
        while low > 1 and binom_half_cdf(low - 1, n) > 0.025:  # never start above the rank (safety)
            low -= 1
        while binom_half_cdf(low, n) <= 0.025:  # P(B <= (low+1)-1): can the rank move up by one?
            low += 1
    return low, n - low + 1


def median_ci(values: Sequence[float]) -> tuple[float, float] | None:
    """The 95% order-statistic interval of the median of ``values`` (None with fewer than 6)."""
    ranks = median_ci_ranks(len(values))
    if ranks is None:
        return None
    ordered = sorted(values)
    return ordered[ranks[0] - 1], ordered[ranks[1] - 1]


def batch_means_rate_ci(
    durations: Sequence[float], items: Sequence[int], groups: int = BATCH_MEANS_GROUPS
) -> tuple[float, tuple[float, float] | None]:
    """(rate, its 95% interval) from per-batch ``durations`` (seconds, in time order) of ``items`` each.

    The rate is all items over all time (the ratio of sums, as LoadGen's Offline rate is per run). The
    series is cut into ``groups`` consecutive groups (fewer when there are fewer batches); the groups'
    per-item times have a Student-t interval of their mean, and its relative half-width is carried over
    to the rate. None when fewer than 2 groups can be formed, or the interval would reach zero time.
    """
    total_t, total_n = float(sum(durations)), int(sum(items))
    if total_t <= 0 or total_n <= 0:
        raise ValueError("no busy time or no items")
    rate = total_n / total_t
    k = min(groups, len(durations))
    if k < 2:
        return rate, None
    bounds = [round(i * len(durations) / k) for i in range(k + 1)]
    per_item = [sum(durations[a:b]) / sum(items[a:b]) for a, b in zip(bounds, bounds[1:])]
    mean = sum(per_item) / k
    sd = math.sqrt(sum((y - mean) ** 2 for y in per_item) / (k - 1))
    rel = T975[min(k - 1, len(T975)) - 1] * sd / math.sqrt(k) / mean
    if rel >= 1:
        return rate, None
    return rate, (rate / (1 + rel), rate / (1 - rel))


def wilson_ci(successes: int, n: int) -> tuple[float, float] | None:
    """Wilson score 95% interval of a proportion ``successes / n`` (None when n is 0)."""
    if n <= 0:
        return None
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def half_width_pct(ci: tuple[float, float] | None, centre: float | None) -> float | None:
    """The larger distance from ``centre`` to either end of ``ci``, in percent of ``centre``."""
    if ci is None or not centre:
        return None
    return max(centre - ci[0], ci[1] - centre) / abs(centre) * 100.0
