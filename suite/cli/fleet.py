"""``edgeq worker``: a board serving its target's queue of the lab fleet (``suite/fleet/``)."""

from __future__ import annotations

import typer

from suite.cli.app import app


@app.command()
def worker(
    target: str = typer.Option(..., "--target", "-t", help="this board's hardware profile: the queue it consumes"),
    override_target: bool = typer.Option(
        False, "--override-target", help="serve the queue even if this machine does not match the profile"
    ),
    loglevel: str = typer.Option("INFO", "--loglevel", help="Celery's log level"),
) -> None:
    """Serve the queue named after a profile: one job at a time, records back to the workstation and MLflow."""
    from suite.fleet.worker import serve

    raise typer.Exit(serve(target, override_target, loglevel))
