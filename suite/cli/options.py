"""The options a sweep is chosen with, declared once: ``edgeq bench``, ``edgeq prepare`` and
``edgeq fidelity`` take the same ``--target``, ``--tasks``, ``--methods``... with the same help."""

from __future__ import annotations

from typing import Annotated

import typer

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
Overrides = Annotated[list[str] | None, typer.Option("--set", help="METHOD.PARAM=VALUE, overrides task and target")]
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
