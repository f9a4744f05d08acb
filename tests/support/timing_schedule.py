"""A test-only "runtime" whose per-call durations are known: the ground truth for the timing pipeline.

``ScheduledRun(durations_ns)`` is a ``run(sample)`` callable like a runtime session's: its k-th call
takes ``durations_ns[k]`` (times the batch size, for Offline batches). It also records what each call
really took (``actual_ns``), by the same clock LoadGen uses (CLOCK_MONOTONIC via ``perf_counter_ns``).

How it waits: it sleeps until 200 us before the deadline, then spins to it. A pure busy-wait is the
obvious choice but not a robust one on a shared 2-core machine: a process that spins is what the
scheduler preempts, and when it is descheduled across its deadline the call overshoots by a time
slice (measured here with three competing spinners: 13% of 0.5 ms busy-waits overshot by more than
50 us, some by 20 ms). A sleeping process wakes on time and spins only briefly (1.9% overshot under the
same load), so the schedule is what the harness sees. Either way a call can never end before its
deadline, so ``actual_ns[k] >= durations_ns[k]`` always: the tests' lower bounds are exact, and their
upper bounds use ``actual_ns`` (what really elapsed) plus the harness's own overhead.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

SPIN_NS = 200_000


class ScheduledRun:
    def __init__(self, durations_ns: np.ndarray | list[int], per_item: bool = False) -> None:
        self.durations = [int(d) for d in durations_ns]
        self.per_item = per_item  # Offline: the duration is per item, times the batch's length
        self.calls = 0
        self.items = 0
        self.actual_ns: list[int] = []
        self.scheduled_ns: list[int] = []

    def reset(self) -> None:
        self.calls = self.items = 0
        self.actual_ns.clear()
        self.scheduled_ns.clear()

    def __call__(self, sample: Any) -> None:
        clock = time.perf_counter_ns
        start = clock()
        n = len(sample) if self.per_item else 1
        wait = self.durations[self.calls % len(self.durations)] * n
        deadline = start + wait
        ahead = deadline - clock() - SPIN_NS
        if ahead > 0:
            time.sleep(ahead / 1e9)
        while clock() < deadline:
            pass
        self.actual_ns.append(clock() - start)
        self.scheduled_ns.append(wait)
        self.calls += 1
        self.items += n


def schedule(kind: str, n: int, seed: int) -> np.ndarray:
    """``n`` per-query durations (ns) drawn from a named distribution, seeded."""
    rng = np.random.default_rng(seed)
    if kind == "narrow":  # a steady model: median 0.4 ms, 3% spread
        d = rng.normal(400e3, 12e3, n)
    elif kind == "bimodal":  # two code paths (a cache hit and a miss): 0.3 ms and 1.2 ms, 70/30
        d = np.where(rng.random(n) < 0.7, rng.normal(300e3, 10e3, n), rng.normal(1200e3, 30e3, n))
    elif kind == "heavy":  # a heavy tail: lognormal, median 0.3 ms, sigma 0.6 (p99 about 1.2 ms)
        d = rng.lognormal(np.log(300e3), 0.6, n)
    elif kind == "pareto":  # heavier still: 0.25 ms x Pareto(alpha 2.5), p99 about 1 ms, rare 3+ ms
        d = 250e3 * (1 + rng.pareto(2.5, n))
    else:
        raise ValueError(kind)
    return np.clip(d, 50e3, 20e6).astype(np.int64)


def true_median(kind: str) -> float:
    """The population median (ns) of ``schedule(kind, ...)``, from its definition."""
    from math import exp, log

    if kind == "narrow":
        return 400e3
    if kind == "heavy":
        return exp(log(300e3))
    if kind == "pareto":  # median of 1 + Pareto(a) is 2 ** (1 / a)
        return 250e3 * 2 ** (1 / 2.5)
    raise ValueError(f"{kind}: no closed-form median used by the tests")
