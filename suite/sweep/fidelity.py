"""``edgeq fidelity``: does the harness add time, and does stopping early bias the median?

For each artifact, on the same session and inputs in the same process: a long bare ``run(sample)``
loop timed with ``perf_counter_ns`` (``--seconds`` in all, half before and half after the suite's run,
so a drift of the machine shows in neither alone), and the suite's SingleStream timing in the default
precision mode with the profile's goal (``suite.measure.precision``): its p50, its 95% interval and
whether the goal was met. The bare loop's p50 uses LoadGen's percentile rule, so the two are the same
statistic.

Goals (the suite's, printed nowhere but here): ratio suite/bare <= 1.05 where the bare p50 is >= 1 ms,
otherwise at most 10 us of overhead per query; the precision run's interval should hold the bare
p50 up to that overhead (``bare_in_ci`` says whether it holds it as is).

A second line per artifact does the same for Offline throughput: a bare loop over the profile's
batches (items/s, half before and half after) against the suite's Offline rule, as a ratio and as
the harness's cost per item (LoadGen's sample list, the SUT's responses: what a model of a few
microseconds per item feels). No goal is set for it; it says how much of a tiny model's Offline rate
is the harness.

A causal LM (its task kind says so) gets one line instead: the suite's decode tokens/s against a bare
generation loop (llama-cpp-python's own for the llamacpp runtime), ``suite/sweep/fidelity_lm.py``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from suite.job.request import SweepRequest
from suite.measure.stats import loadgen_percentile


def bare_times_ns(run, samples: list[np.ndarray], seconds: float, start: int = 0) -> list[int]:  # type: ignore[no-untyped-def]
    """Per-call times of a bare loop over ``samples`` for ``seconds`` (at least 64 calls)."""
    times: list[int] = []
    deadline = time.perf_counter() + seconds
    n = len(samples)
    clock = time.perf_counter_ns
    i = start
    while time.perf_counter() < deadline or len(times) < 64:
        sample = samples[i % n]
        t0 = clock()
        run(sample)
        times.append(clock() - t0)
        i += 1
    return times


def bare_p50_ms(run, samples: list[np.ndarray], seconds: float) -> float:  # type: ignore[no-untyped-def]
    return loadgen_percentile(bare_times_ns(run, samples, seconds), 50) / 1e6


def fidelity_lines(request: SweepRequest, seconds: float) -> Iterator[str]:
    """Two lines per job of ``request`` (SingleStream, Offline), measured here whatever the target's ``detect`` says."""
    from suite.config import load_task
    from suite.job import build as prepare
    from suite.job.measure import precision_goal, scenario
    from suite.job.plan import plan
    from suite.kinds.base import kind_for
    from suite.machine.target import load_target
    from suite.measure.loadgen import bare_batch_loop, offline_batches
    from suite.measure.precision import offline, offline_warm_up, single_stream, warm_up
    from suite.records.fields import CAUSAL_LM
    from suite.registry import runtimes

    profile = load_target(request.target)
    for job in plan(profile, request.with_(override_target=True)).jobs:
        task = load_task(job.task_path)
        artifact, _ = prepare.build_artifact(task, job.method, job.params, job.artifact_key, job.target_name)
        session = runtimes.get(job.runtime["name"])().load(Path(artifact.path), job.runtime_spec)
        if kind_for(task.config, {}).name == CAUSAL_LM:  # decode tokens/s against a bare generation loop
            from suite.sweep.fidelity_lm import lm_fidelity_line

            yield lm_fidelity_line(job, session, Path(artifact.path), task.config, profile.config, seconds)
            continue
        x = prepare.task_state(task).splits.x_eval
        samples = [np.ascontiguousarray(x[i : i + 1]) for i in range(min(len(x), 1024))]
        expected = warm_up(session.run, samples, 200)
        goal = precision_goal(profile.config, "single_stream", quick=False)
        before = bare_times_ns(session.run, samples, seconds / 2)
        with tempfile.TemporaryDirectory(prefix="edgeq-fidelity-") as tmp:
            lat = single_stream(
                session.run, samples, goal, expected, Path(tmp), profile.config.measurement.cv_threshold
            )
        after = bare_times_ns(session.run, samples, seconds / 2, start=len(before))
        b = loadgen_percentile(before + after, 50) / 1e6
        s = lat["p50_ms"]
        lo, hi = lat["p50_ci_ms"] or (float("nan"), float("nan"))
        yield (
            f"fidelity task={job.task_name} method={job.method} runtime={job.runtime['name']} "
            f"bare_p50_ms={b:.4f} suite_p50_ms={s:.4f} ratio={s / b:.3f} overhead_us={(s - b) * 1000:.1f} "
            f"ci_ms={lo:.4f}..{hi:.4f} bare_in_ci={'yes' if lo <= b <= hi else 'no'} "
            f"precision_met={'yes' if lat['precision_met'] else 'no'} queries={lat['queries']} "
            f"suite_s={lat['duration_s']:.2f} bare_calls={len(before) + len(after)}"
        )
        batch_size = scenario(profile.config, "offline", quick=False).batch_size
        batches = offline_batches(samples, batch_size)
        with tempfile.TemporaryDirectory(prefix="edgeq-fidelity-") as tmp:
            rate = offline_warm_up(session.run, batches, batch_size, 1e3 / lat["mean_ms"], Path(tmp))
        n1, t1 = bare_batch_loop(session.run, batches, seconds / 2)
        with tempfile.TemporaryDirectory(prefix="edgeq-fidelity-") as tmp:
            goal = precision_goal(profile.config, "offline", quick=False)
            thr = offline(
                session.run, batches, batch_size, goal, rate, Path(tmp), profile.config.measurement.cv_threshold
            )
        n2, t2 = bare_batch_loop(session.run, batches, seconds / 2)
        bare = (n1 + n2) / (t1 + t2)
        suite = thr["items_per_s"]
        yield (
            f"fidelity-offline task={job.task_name} method={job.method} runtime={job.runtime['name']} "
            f"batch={batch_size} bare_items_per_s={bare:.1f} suite_items_per_s={suite:.1f} ratio={suite / bare:.3f} "
            f"overhead_us_per_item={(1 / suite - 1 / bare) * 1e6:.2f} ci_half_width_pct={thr['ci_half_width_pct'] or float('nan'):.2f} "
            f"precision_met={'yes' if thr['precision_met'] else 'no'} suite_s={thr['duration_s']:.2f}"
        )
