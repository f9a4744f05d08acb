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
