"""``edgeq bench``: plan the target's sweep, reuse what is measured, run the rest here in a job process,
log to MLflow, publish the leaderboard, summarise.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from suite.errors import BadInput
from suite.job.build import run_job
from suite.job.plan import parse_overrides, plan
from suite.machine.target import load_target
from suite.paths import results_root
from suite.publish.leaderboard import publish_working
from suite.records.store import RecordStore
from suite.sweep.loop import LocalExecutor, Outcome, run_sweep
from suite.sweep.summary import finish
from suite.tracking.sink import MlflowSink


def run_bench(
    target: str,
    tasks: list[str] | None,
    methods: list[str] | None,
    runtimes: list[str] | None,
    quick: bool,
    limit: int | None,
    force: bool,
    retry_failed: bool,
    override_target: bool,
    use_mlflow: bool,
    console: Any,
    overrides: list[str] | None = None,
    mlperf: bool = False,
) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from suite.machine.doctor import bench_preamble

    profile = load_target(target)
    jobs = plan(
        profile,
        tasks,
        methods,
        runtimes,
        quick=quick,
        limit=limit,
        override=override_target,
        overrides=parse_overrides(overrides),
        mlperf=mlperf,
    )
    jobs.sort(key=lambda j: (j.task_name, not j.is_baseline))  # baselines first: the others' deltas read them
    check_power_required(profile)
    store = RecordStore()
    for stale in store.clean_stale_temps():
        console.print(f"removed {stale.name}, the temp file of an interrupted record write")
    sink = MlflowSink(enabled=use_mlflow, say=lambda line: console.print(escape(line)))
    console.print(
        f"edgeq bench: target [bold]{profile.config.name}[/] ({profile.path}), {len(jobs)} job(s), results in {results_root()}"
    )
    bench_preamble(profile, console)  # the resolved target, runtime fallbacks, pre-flight (may stop: exit 2)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        bar = progress.add_task("jobs", total=len(jobs))

        def started(job: Any) -> None:
            progress.update(bar, description=job.label)

        def arrived(outcome: Outcome) -> None:
            progress.advance(bar)

        measurement = profile.config.measurement
        executor = LocalExecutor(
            run_job, measurement.job_timeout_s, on_start=started, build_timeout_s=measurement.build_timeout_s
        )
        outcomes = run_sweep(
            jobs,
            executor,
            store,
            sink,
            force=force,
            retry_failed=retry_failed,
            on_record=arrived,
            prewarm=import_publisher,
        )
    sink.finish()
    written = publish_working(store, [profile.config.name], console)
    return finish(console, outcomes, sink, written)


def import_publisher() -> None:
    """What the leaderboard at the end imports (pandas, matplotlib: 1.3 s on the 2-core VM), done while
    the first job prepares instead of after the last one."""
    import pandas  # noqa: F401
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401


def check_power_required(profile: Any) -> None:
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
