"""``edgeq bench`` here (``sweep_here``): plan the request on its target, reuse what is measured, execute
the rest in a job process on this machine, log to MLflow, publish the leaderboard, summarise.
(The words are docs/design.md's glossary: plan, sweep, execute, measure.)
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from suite.errors import BadInput
from suite.job.build import run_job
from suite.job.plan import plan
from suite.job.request import SweepRequest
from suite.machine.target import load_target
from suite.paths import results_root
from suite.publish.leaderboard import publish_working
from suite.records.store import RecordStore
from suite.sweep.loop import LocalExecutor, run_sweep
from suite.sweep.progress import SweepProgress
from suite.sweep.summary import finish
from suite.tracking.sink import MlflowSink


def sweep_here(request: SweepRequest, console: Any) -> int:
    """Plan ``request`` on its target, print the plan, execute every job not yet measured here; the exit code."""
    from suite.machine.doctor import bench_preamble

    profile = load_target(request.target)
    planned = plan(profile, request)
    jobs = planned.jobs
    jobs.sort(key=lambda j: (j.task_name, not j.is_baseline))  # baselines first: the others' deltas read them
    check_sensor_available(profile)
    store = RecordStore()
    for stale in store.clean_stale_temps():
        console.print(f"removed {stale.name}, the temp file of an interrupted record write")
    sink = MlflowSink(enabled=request.use_mlflow, say=lambda line: console.print(escape(line)))
    console.print(
        f"edgeq bench: target [bold]{profile.config.name}[/] ({profile.path}), {len(jobs)} job(s), results in {results_root()}"
    )
    for line in planned.lines():
        console.print(escape(line), soft_wrap=True)
    bench_preamble(profile, console)  # the resolved target, runtime fallbacks, pre-flight (may stop: exit 2)
    with SweepProgress(console, len(jobs)) as progress:
        measurement = profile.config.measurement
        executor = LocalExecutor(
            run_job,
            measurement.job_timeout_s,
            on_start=progress.started,
            on_phase=progress.phase,
            build_timeout_s=measurement.build_timeout_s,
        )
        outcomes = run_sweep(
            jobs,
            executor,
            store,
            sink,
            force=request.force,
            retry_failed=request.retry_failed,
            on_record=progress.finished,
            prewarm=import_publisher,
        )
    sink.finish()
    written = publish_working(store, [profile.config.name], console)
    sink.describe([o.record for o in outcomes], written)
    return finish(console, outcomes, sink, written)


def import_publisher() -> None:
    """What the leaderboard at the end imports (pandas and matplotlib, slow to import), done while the
    first job prepares instead of after the last one."""
    import pandas  # noqa: F401
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401


def check_sensor_available(profile: Any) -> None:
    """A profile whose ``power:`` list has no ``none`` requires energy: stop before any job if no listed
    sensor can measure (a root-only RAPL counter, say), with the sensor's fix as the hint."""
    from suite.power.base import choose_sensor

    names = [p if isinstance(p, str) else p.name for p in profile.config.power]
    if "none" in names:
        return
    sensor, probe = choose_sensor(profile.config.power)
    if not probe.ok:
        status = probe.status.replace("_", " ")
        hint = f"; fix: {probe.hint}" if probe.hint else ""
        raise BadInput(
            f"{profile.path}: power: {status} ({probe.reason}){hint}; or add 'none' to power: to measure without energy"
        )
