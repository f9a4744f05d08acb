"""The run half of a job: deployed accuracy, LoadGen timing and power for a prepared artifact.

Everything here needs only numpy, pydantic, LoadGen, the runtime library and the power sensors, so the
same code measures on the workstation (``edgeq bench``) and on a device that received a bundle
(``edgeq run``, ``edgeq worker``). It fills the record in place; ``suite.job.run.run_job`` owns the
error handling around it.
"""

from __future__ import annotations

import time
from typing import Any

from suite.config.schemas import GenerationSpec, TargetConfig, TaskConfig
from suite.job.inputs import PreparedInputs
from suite.job.spec import Job
from suite.records.store import RecordStore


def scenario(profile: TargetConfig, name: str, quick: bool):  # type: ignore[no-untyped-def]
    """LoadGen settings of one scenario from the profile (its ``quick`` variant with --quick)."""
    from suite.measure.loadgen import ScenarioSettings

    spec = getattr(profile.measurement, name)
    if quick and name in profile.measurement.quick:
        spec = profile.measurement.quick[name]
    return ScenarioSettings(spec.min_duration_s, spec.min_queries, spec.batch_size)


def precision_goal(profile: TargetConfig, name: str, quick: bool, power_window_s: float = 0.0):  # type: ignore[no-untyped-def]
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


def measure(
    job: Job,
    record: dict[str, Any],
    inputs: PreparedInputs,
    task: TaskConfig,
    profile: TargetConfig,
    store: RecordStore,
    timings: dict[str, float],
) -> None:
    """Evaluate and time ``inputs`` through the job's runtime; fills accuracy, latency, throughput, power."""
    from pathlib import Path

    from suite.job import hardware as jobhw
    from suite.machine.envinfo import environment
    from suite.measure.accuracy import evaluate
    from suite.measure.loadgen import TimingOptions, measure_mlperf
    from suite.measure.memory import PeakRss
    from suite.measure.precision import measure_precision
    from suite.power.base import WindowError, choose_sensor, power_block, stop_reading
    from suite.records.baseline import baseline_of
    from suite.records.paired import vs_baseline
    from suite.registry import runtimes
    from suite.runtimes.base import inference_precision

    t0 = time.perf_counter()
    peak = PeakRss()
    peak.start()
    runtime = runtimes.get(job.runtime["name"])()
    session = runtime.load(Path(inputs.artifact_path), job.runtime_spec)
    peak.loaded()
    x_eval, y_eval = inputs.x_eval, inputs.y_eval
    baseline = None if job.is_baseline else baseline_of(store, job.target_name, job.task_name, job.inputs)
    if task.metric == "perplexity":
        record["accuracy"] = lm_accuracy(job, session, inputs, task, baseline)
    else:
        tap = None
        if "reference_embedding" in inputs.extras:  # encoders: top-1 and the embedding cosine in one pass
            from suite.measure.embedding import EmbeddingTap

            tap = EmbeddingTap(session)
        accuracy = evaluate(session, x_eval, y_eval, num_classes=task.num_classes, predict=tap.predict if tap else None)
        fp32_top1 = accuracy["top1"] if job.is_baseline else (baseline or {}).get("accuracy", {}).get("top1")
        accuracy.update(
            fp32_top1=fp32_top1,
            delta_top1=(accuracy["top1"] - fp32_top1) if fp32_top1 is not None else None,
            simulated_top1=inputs.simulated_top1,
        )
        if tap is not None:
            accuracy.update(tap.cosine(inputs.extras["reference_embedding"]))
        if not job.is_baseline:  # item by item against fp32, on the same evaluated items
            accuracy["vs_fp32"] = vs_baseline(accuracy, baseline)
        record["accuracy"] = accuracy
    record["runtime"] = session.info()
    record["runtime"]["placement"] = jobhw.placement(session, x_eval[:1])
    # Read back from the runtime where it can say (ORT's profile, OpenVINO's execution graph, LiteRT's
    # tensors); ExecuTorch's XNNPACK payload is opaque, so its lowering's account (written when built).
    lowered = (inputs.artifact_record.get("details") or {}).get("inference_precision")
    record["runtime"].setdefault("inference_precision", inference_precision(record["runtime"]["placement"]) or lowered)
    timings["evaluate"] = round(time.perf_counter() - t0, 3)
    from suite.job.quiet import wait_for_quiet_sweep

    waited = wait_for_quiet_sweep()  # the sweep opening MLflow next to us would slow the timing
    if waited:
        timings["waited_for_sweep"] = waited

    t0 = time.perf_counter()
    sensor, probe = choose_sensor(profile.power)
    started: list[Any] = []
    reading_box: list[Any] = []

    def power_start() -> None:
        if sensor is not None and probe.ok:
            try:
                sensor.start()
                started.append(True)
            except WindowError as exc:  # the sensor could not open its window: recorded, job goes on
                reading_box.append(exc)

    def power_stop() -> None:
        if started:
            reading_box.append(stop_reading(sensor))  # type: ignore[arg-type]

    m = profile.measurement
    peak.timing()
    if task.metric == "perplexity":
        # A generation is one LoadGen query with token latencies; its early-stopping rule wants at
        # least 64 queries, so language models are timed to fixed counts in both modes (mode "mlperf").
        from suite.measure.lm_timing import measure_generation

        gen = task.generation or GenerationSpec()
        ss = scenario(profile, "single_stream", job.quick)
        throttle_before = jobhw.begin(profile, record)
        record["latency"], record["throughput"], tokens = measure_generation(
            session,
            x_eval[0, : gen.prompt_tokens],
            gen.new_tokens,
            runs=m.runs,
            min_duration_s=ss.min_duration_s,
            min_queries=min(gen.min_queries, 16) if job.quick else gen.min_queries,
            warmup_queries=gen.warmup_queries,
            cv_threshold=m.cv_threshold,
            quick=job.quick,
            on_start=power_start,
            on_stop=power_stop,
        )
        record["power"] = power_block(sensor, probe, reading_box[0] if reading_box else None, tokens)
        record["memory"] = peak.stop()
        timings["measure"] = round(time.perf_counter() - t0, 3)
        record["environment"]["temperatures_after"] = environment()["temperatures"]
        jobhw.end(profile, record, throttle_before, baseline)
        return
    samples = [x_eval[i : i + 1] for i in range(min(len(x_eval), 1024))]
    offline_batch = scenario(profile, "offline", job.quick).batch_size
    sizes = {1, offline_batch, len(samples) % offline_batch} - {0}  # SingleStream, Offline and its last batch
    getattr(session, "prepare", lambda sizes: None)(sorted(sizes))  # compiles happen here, untimed
    throttle_before = jobhw.begin(profile, record)
    options = TimingOptions(m.warmup_queries, m.cv_threshold, job.quick, power_start, power_stop)
    if job.timing_mode == "mlperf":
        timing = measure_mlperf(
            session.run,
            samples,
            single=scenario(profile, "single_stream", job.quick),
            offline=scenario(profile, "offline", job.quick),
            runs=m.runs,
            options=options,
        )
    else:
        measuring = sensor is not None and probe.ok
        timing = measure_precision(
            session.run,
            samples,
            single=precision_goal(profile, "single_stream", job.quick),
            offline_goal=precision_goal(
                profile, "offline", job.quick, m.precision.power_window_s if measuring else 0.0
            ),
            batch_size=scenario(profile, "offline", job.quick).batch_size,
            options=options,
        )
    record["latency"] = timing.latency
    record["throughput"] = timing.throughput
    record["power"] = power_block(sensor, probe, reading_box[0] if reading_box else None, timing.offline_items)
    record["memory"] = peak.stop()
    timings["measure"] = round(time.perf_counter() - t0, 3)
    record["environment"]["temperatures_after"] = environment()["temperatures"]
    jobhw.end(profile, record, throttle_before, baseline)


def lm_accuracy(
    job: Job, session: Any, inputs: PreparedInputs, task: TaskConfig, baseline: dict[str, Any] | None
) -> dict[str, Any]:
    """Perplexity of the held-out windows and the fp32 baseline's, as the record's ``accuracy`` block."""
    from suite.measure.lm_eval import perplexity

    accuracy = perplexity(session, inputs.x_eval, inputs.y_eval, vocab=task.num_classes)
    fp32 = accuracy["perplexity"] if job.is_baseline else ((baseline or {}).get("accuracy") or {}).get("perplexity")
    dataset = inputs.task_block.get("dataset") or {}
    accuracy.update(
        fp32_perplexity=fp32,
        delta_perplexity=(accuracy["perplexity"] - fp32) if fp32 is not None else None,
        fp32_top1=None,
        delta_top1=None,
        simulated_top1=inputs.simulated_top1,
        window=dataset.get("window"),
        stride=dataset.get("stride"),
    )
    return accuracy
