"""``edgeq bench`` (a target's sweep, here or on the fleet) and ``edgeq fidelity`` (the harness against a bare loop)."""

from __future__ import annotations

from pathlib import Path

import typer

import suite.cli.options as o
from suite.cli.app import app, console
from suite.errors import BadInput
from suite.job.request import ENTRY_RULE


@app.command(
    help="Run the sweep of a target: tasks x methods x runtimes; records, MLflow runs, leaderboard.\n\n" + ENTRY_RULE
)
def bench(
    target: o.Target = "local-cpu",
    tasks: o.Tasks = None,
    methods: o.Methods = None,
    runtimes: o.Runtimes = None,
    quick: o.Quick = False,
    limit: o.Limit = None,
    force: bool = typer.Option(False, "--force", help="redo jobs that already have a record"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="redo jobs whose record says failed"),
    override_target: o.OverrideTarget = False,
    no_mlflow: o.NoMlflow = False,
    param: o.MethodParams = None,
    set_: o.MethodParamsOld = None,
    mlperf: o.Mlperf = False,
    fleet: bool = typer.Option(
        False, "--fleet", help="prepare here, measure on the lab's `edgeq worker`s (--target A,B: one queue each)"
    ),
    share: Path | None = typer.Option(
        None, "--share", help="--fleet: put bundles in this shared folder (default: the MLflow server's artifact store)"
    ),
    fleet_timeout: float | None = typer.Option(
        None,
        "--fleet-timeout",
        min=1,
        help="--fleet: stop waiting after this many seconds (default: every job's timeout, one device per queue)",
    ),
) -> None:
    request = o.sweep_request(
        target,
        tasks,
        methods,
        runtimes,
        params=[*(param or []), *(set_ or [])],
        quick=quick,
        limit=limit,
        force=force,
        retry_failed=retry_failed,
        override_target=override_target,
        mlperf=mlperf,
        use_mlflow=not no_mlflow,
    )
    if fleet:
        from suite.fleet.dispatch import sweep_on_fleet

        raise typer.Exit(sweep_on_fleet(request, share, fleet_timeout, console()))
    if share is not None or fleet_timeout is not None:
        raise BadInput("--share and --fleet-timeout go with --fleet")
    from suite.sweep.local import sweep_here

    raise typer.Exit(sweep_here(request, console()))


@app.command(
    help="The suite's precision-mode p50 and its 95% interval against a long bare runtime loop, per artifact.\n\n"
    + ENTRY_RULE
)
def fidelity(
    target: o.Target = "local-cpu",
    tasks: o.Tasks = None,
    methods: o.Methods = None,
    runtimes: o.Runtimes = None,
    seconds: float = typer.Option(
        4.0,
        "--seconds",
        min=0.01,
        help="length of the bare loop per artifact (half before, half after the suite's run)",
    ),
) -> None:
    from suite.sweep.fidelity import fidelity_lines

    for line in fidelity_lines(o.sweep_request(target, tasks, methods, runtimes), seconds):
        print(line, flush=True)
