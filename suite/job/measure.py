"""The run half of a job: deployed accuracy, timing and power for a prepared artifact, by its task's kind.

This module is the dispatcher: it loads the runtime session, picks the task's kind (``suite.kinds``:
classifier, text encoder, causal LM, or a plugin), asks it for the accuracy block and the timed blocks,
and around them does what every kind shares: where the runtime placed the nodes, waiting for a quiet
sweep, the power window, peak memory, the machine before and after, and the work per item set against
the measuring machine's peak (``suite.job.efficiency``). Everything it sets goes into the
job's ``Blocks`` (``suite.records.blocks``), which ``suite.job.run`` assembles into the record; that
module owns the error handling around it.

Everything here needs only numpy, pydantic, LoadGen, the runtime library and the power sensors, so the
same code measures on the workstation (``edgeq bench``) and on a device that received a bundle
(``edgeq run``, ``edgeq worker``).
"""

from __future__ import annotations

import time
from typing import Any

from suite.config.schemas import TargetConfig, TaskConfig
from suite.job.inputs import PreparedInputs
from suite.job.phase import phase
from suite.job.spec import Job
from suite.kinds.settings import precision_goal, scenario
from suite.records.blocks import Blocks
from suite.records.store import RecordStore

__all__ = ["measure", "precision_goal", "scenario"]  # the settings are shared with sweep.fidelity


def measure(
    job: Job,
    record: dict[str, Any],
    blocks: Blocks,
    inputs: PreparedInputs,
    task: TaskConfig,
    profile: TargetConfig,
    store: RecordStore,
    timings: dict[str, float],
) -> None:
    """Evaluate and time ``inputs`` through the job's runtime into ``blocks``: runtime, accuracy,
    latency, throughput, power, memory, the environment's additions and the diagnosis (``record``: the
    job's record so far, read only)."""
    from pathlib import Path

    from suite.job import hardware as jobhw
    from suite.job.efficiency import set_efficiency
    from suite.kinds.base import KindRun, kind_for
    from suite.machine.envinfo import environment
    from suite.measure.memory import PeakRss
    from suite.power.base import WindowError, choose_sensor, power_block, stop_reading
    from suite.records.baseline import baseline_of
    from suite.registry import runtimes
    from suite.runtimes.base import inference_precision

    t0 = time.perf_counter()
    peak = PeakRss()
    peak.start()
    runtime = runtimes.get(job.runtime["name"])()
    session = runtime.load(Path(inputs.artifact_path), job.runtime_spec)
    peak.loaded()
    baseline = None if job.is_baseline else baseline_of(store, job.target_name, job.task_name, job.inputs)
    kind = kind_for(task, inputs.extras)
    sensor: Any = None
    probe: Any = None
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
            reading_box.append(stop_reading(sensor))

    throttle_before: dict[str, Any] = {}

    def ready() -> None:  # the kind's untimed preparation is done: pre-flight, then the throttle snapshot
        throttle_before.update(jobhw.begin(profile, blocks))

    run = KindRun(
        session=session,
        x_eval=inputs.x_eval,
        y_eval=inputs.y_eval,
        task=task,
        profile=profile,
        quick=job.quick,
        timing_mode=job.timing_mode,
        is_baseline=job.is_baseline,
        baseline=baseline,
        simulated_top1=inputs.simulated_top1,
        extras=inputs.extras,
        dataset=inputs.task_block.get("dataset") or {},
        power_start=power_start,
        power_stop=power_stop,
        ready=ready,
        job_id=job.job_id,
        side_file=lambda job_id, suffix: store.path_for(job.target_name, job.task_name, job_id).with_suffix(suffix),
    )
    phase("accuracy")
    blocks.accuracy = kind.accuracy(run)
    placed = session.info()
    placed["placement"] = jobhw.placement(session, inputs.x_eval[:1])
    # Read back from the runtime where it can say (ORT's profile, OpenVINO's execution graph, LiteRT's
    # tensors); ExecuTorch's XNNPACK payload is opaque, so its lowering's account (written when built).
    lowered = (inputs.artifact_record.get("details") or {}).get("inference_precision")
    placed.setdefault("inference_precision", inference_precision(placed["placement"]) or lowered)
    blocks.runtime = placed
    timings["evaluate"] = round(time.perf_counter() - t0, 3)
    from suite.job.quiet import wait_for_quiet_sweep

    waited = wait_for_quiet_sweep()  # the sweep opening MLflow next to us would slow the timing
    if waited:
        timings["waited_for_sweep"] = waited

    t0 = time.perf_counter()
    sensor, probe = choose_sensor(profile.power)
    run.measuring_power = sensor is not None and probe.ok
    peak.timing()
    phase("timing")
    timed = kind.time(run)
    blocks.latency, blocks.throughput = timed.latency, timed.throughput
    blocks.power = power_block(sensor, probe, reading_box[0] if reading_box else None, timed.items)
    blocks.memory = peak.stop()
    timings["measure"] = round(time.perf_counter() - t0, 3)
    blocks.environment_added["temperatures_after"] = environment()["temperatures"]
    jobhw.end(profile, record, blocks, throttle_before, baseline)
    set_efficiency(record, blocks, profile, job.runtime_spec)  # the peak of the machine that measured
