"""``edgeq fidelity``: does the harness add time? The suite's SingleStream p50 against a bare loop.

For each artifact: the same session, the same inputs in the same order, in the same process. A bare
``run(sample)`` loop timed with ``perf_counter_ns`` and a LoadGen SingleStream run alternate three times;
the line reports the medians. Goals: ratio <= 1.05 where the bare p50 is >= 1 ms, otherwise at most
10 us of overhead per query.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from suite.measure.stats import nearest_rank


def bare_p50_ms(run, samples: list[np.ndarray], seconds: float) -> float:  # type: ignore[no-untyped-def]
    times: list[int] = []
    deadline = time.perf_counter() + seconds
    i = 0
    n = len(samples)
    clock = time.perf_counter_ns
    while time.perf_counter() < deadline or len(times) < 64:
        sample = samples[i % n]
        t0 = clock()
        run(sample)
        times.append(clock() - t0)
        i += 1
    return nearest_rank(times, 50) / 1e6


def run_fidelity(target: str, tasks: list[str] | None, methods: list[str] | None, seconds: float, repeats: int = 3) -> Iterator[str]:
    from suite.job import build as prepare
    from suite.config import load_task
    from suite.machine.target import load_target
    from suite.measure.loadgen import ScenarioSettings, calibrate_latency_ns, single_stream_run
    from suite.registry import runtimes
    from suite.job.plan import plan

    profile = load_target(target)
    for job in plan(profile, tasks, methods, override=True):
        task = load_task(job.task_path)
        artifact, _ = prepare.build_artifact(task, job.method, job.params, job.artifact_key, job.target_name)
        session = runtimes.get(job.runtime["name"])().load(Path(artifact.path), job.runtime_spec)
        x = prepare.task_state(task).splits.x_eval
        samples = [np.ascontiguousarray(x[i : i + 1]) for i in range(min(len(x), 1024))]
        for sample in samples[:200]:
            session.run(sample)
        expected = calibrate_latency_ns(session.run, samples)
        settings = ScenarioSettings(min_duration_s=seconds, min_queries=64)
        bare, suite = [], []
        with tempfile.TemporaryDirectory(prefix="edgeq-fidelity-") as tmp:
            for r in range(repeats):
                bare.append(bare_p50_ms(session.run, samples, seconds))
                outdir = Path(tmp) / str(r)
                outdir.mkdir()
                suite.append(single_stream_run(session.run, samples, settings, expected, outdir)["p50_ns"] / 1e6)
        b, s = statistics.median(bare), statistics.median(suite)
        yield (
            f"fidelity task={job.task_name} method={job.method} runtime={job.runtime['name']} "
            f"bare_p50_ms={b:.4f} suite_p50_ms={s:.4f} ratio={s / b:.3f} overhead_us={(s - b) * 1000:.1f}"
        )
