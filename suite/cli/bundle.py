"""``edgeq prepare``, ``run`` and ``import``: carry-on bundles for a board (``suite/bundle/``)."""

from __future__ import annotations

from pathlib import Path

import typer

import suite.cli.options as o
from suite.cli.app import app, console
from suite.job.request import ENTRY_RULE


@app.command(
    help="Build a target's artifacts here and pack them, with eval data and job list, for `edgeq run` on the board."
    "\n\n" + ENTRY_RULE
)
def prepare(
    target: o.Target = ...,  # type: ignore[assignment]
    out: Path = typer.Option(..., "--out", "-o", help="the bundle file to write (.tar, .tar.gz or .tar.xz)"),
    tasks: o.Tasks = None,
    methods: o.Methods = None,
    runtimes: o.Runtimes = None,
    quick: o.Quick = False,
    limit: o.Limit = None,
    param: o.MethodParams = None,
    set_: o.MethodParamsOld = None,
    mlperf: o.Mlperf = False,
) -> None:
    from suite.bundle.write import build_bundle

    say = console()
    request = o.sweep_request(
        target,
        tasks,
        methods,
        runtimes,
        params=[*(param or []), *(set_ or [])],
        quick=quick,
        limit=limit,
        mlperf=mlperf,
    )
    path, entries, failed = build_bundle(request, out, say)
    say.print(
        f"bundle: {path} ({len(entries)} job(s), {path.stat().st_size / 1024:.0f} KiB); on the board: edgeq run {path.name}"
    )
    raise typer.Exit(1 if failed else 0)


@app.command("run")
def run_(
    bundle: Path = typer.Argument(..., help="a bundle written by `edgeq prepare`"),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="results tarball to write (default: <target>-results.tar here)"
    ),
    override_target: o.OverrideTarget = False,
) -> None:
    """On the board: measure every job of a bundle (run side only: no torch, TensorFlow, mlflow or pandas)."""
    from suite.bundle.run import measure_bundle

    raise typer.Exit(measure_bundle(bundle, out, override_target, console()))


@app.command("import")
def import_(
    results: Path = typer.Argument(..., help="a results tarball written by `edgeq run`"),
    no_mlflow: o.NoMlflow = False,
) -> None:
    """Merge a board's records into this results root (idempotent), log them to MLflow, publish."""
    from suite.bundle.results import import_results

    raise typer.Exit(import_results(results, not no_mlflow, console()))
