"""``edgeq show`` and ``edgeq reproduce``: one record, read or rebuilt."""

from __future__ import annotations

from pathlib import Path

import typer

from suite.cli.app import app, console


@app.command()
def show(record: Path = typer.Argument(..., help="a record JSON file")) -> None:
    """Print one record, pretty."""
    import json

    from suite.records.store import load_record

    print(json.dumps(load_record(record), indent=2))


@app.command()
def reproduce(
    record: Path = typer.Argument(..., help="a record JSON file (from results/records or a published snapshot)"),
    out: Path | None = typer.Option(None, "--out", help="also write the reproduced record to this JSON file"),
    keep: Path | None = typer.Option(None, "--keep", help="rebuild in this new folder and keep it (model, artifact)"),
) -> None:
    """Rebuild a job from its record alone (empty cache: retrain, requantize) and compare the results."""
    from suite.job.reproduce import reproduce as run_reproduce

    raise typer.Exit(run_reproduce(record, out, console(), keep))
