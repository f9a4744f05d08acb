"""The options a sweep is chosen with, declared once: ``edgeq bench``, ``edgeq prepare`` and
``edgeq fidelity`` take the same ``--target``, ``--tasks``, ``--methods``... with the same help."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from suite.job.request import SweepRequest

Target = Annotated[
    str, typer.Option("--target", "-t", help="the target: a profile name in hardware/ or a profile YAML path")
]
Tasks = Annotated[list[str] | None, typer.Option("--tasks", help="task names or YAML paths (default: the target's)")]
Methods = Annotated[
    list[str] | None, typer.Option("--methods", "-m", help="method names, or 'all' (default: the task's)")
]
Runtimes = Annotated[list[str] | None, typer.Option("--runtimes", help="restrict to these runtimes of the target")]
Quick = Annotated[bool, typer.Option("--quick", help="short timing runs (recorded as quick)")]
Limit = Annotated[int | None, typer.Option("--limit", min=1, help="evaluate only the first N eval samples")]
MethodParams = Annotated[
    list[str] | None,
    typer.Option("--param", help="METHOD.PARAM=VALUE: a method's parameter, over the task's and the target's"),
]
MethodParamsOld = Annotated[list[str] | None, typer.Option("--set", hidden=True, help="the former name of --param")]
OverrideTarget = Annotated[
    bool, typer.Option("--override-target", help="measure even if this machine does not match the target")
]
Mlperf = Annotated[
    bool,
    typer.Option(
        "--mlperf",
        help="time with the profile's fixed MLPerf-style counts (submission-grade tables) instead of "
        "stopping once the p50 is known to the profile's precision",
    ),
]
NoMlflow = Annotated[bool, typer.Option("--no-mlflow", help="records only; log later with `edgeq sync`")]


def sweep_request(
    target: str,
    tasks: list[str] | None = None,
    methods: list[str] | None = None,
    runtimes: list[str] | None = None,
    *,
    params: list[str] | None = None,
    **flags: Any,
) -> SweepRequest:
    """The one ``SweepRequest`` of a command line: lists split at commas, ``--param`` (and ``--set``) parsed
    and checked here, so a bad value is one line before anything is planned."""
    from suite.cli.app import split
    from suite.job.plan import parse_method_params

    def names(values: list[str] | None, option: str) -> tuple[str, ...] | None:
        got = split(values, option)
        return tuple(got) if got else None

    return SweepRequest(
        target=target,
        tasks=names(tasks, "--tasks"),
        methods=names(methods, "--methods"),
        runtimes=names(runtimes, "--runtimes"),
        method_params=parse_method_params(params),
        **flags,
    )
