"""``edgeq doctor``: what this machine is and what a sweep on it would do."""

from __future__ import annotations

import typer

from suite.cli.app import app


@app.command()
def doctor(
    target: str | None = typer.Option(
        None, "--target", "-t", help="profile to check (default: the best match for this machine)"
    ),
) -> None:
    """What this machine is: matching profiles, runtimes and providers, power sensors, pre-flight fixes."""
    from suite.machine.doctor import report

    for line in report(target):
        print(line, flush=True)
