"""The profile's timing settings as the measuring code takes them: LoadGen scenario settings (fixed
counts) and the precision-driven goal of each scenario, both with the ``--quick`` variants applied."""

from __future__ import annotations

from typing import Any

from suite.config.schemas import TargetConfig


def scenario(profile: TargetConfig, name: str, quick: bool) -> Any:
    """LoadGen settings of one scenario from the profile (its ``quick`` variant with --quick)."""
    from suite.measure.loadgen import ScenarioSettings

    spec = getattr(profile.measurement, name)
    if quick and name in profile.measurement.quick:
        spec = profile.measurement.quick[name]
    return ScenarioSettings(spec.min_duration_s, spec.min_queries, spec.batch_size)


def precision_goal(profile: TargetConfig, name: str, quick: bool, power_window_s: float = 0.0) -> Any:
    """When a scenario of the precision-driven timing may stop, from the profile's ``precision`` block
    (``--quick``: bounded by its ``quick_max_duration_s``; a measuring power sensor: Offline lasts at
    least ``power_window_s``, with ``--quick`` too)."""
    from suite.measure.precision import PrecisionGoal

    m = profile.measurement
    spec = getattr(m.precision, name)
    min_duration, max_duration = spec.min_duration_s, spec.max_duration_s
    if quick:
        max_duration = min(max_duration, m.precision.quick_max_duration_s)
        min_duration = min(min_duration, max_duration)
    if power_window_s:  # after --quick: a shorter timing, never a shorter energy window
        min_duration = max(min_duration, power_window_s)
        max_duration = max(max_duration, min_duration)
    return PrecisionGoal(m.precision.ci_pct, min_duration, spec.min_queries, max_duration, m.runs)
