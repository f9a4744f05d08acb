"""``edgeq publish``, ``compare``, ``sync`` and ``ui``: what is made from the records."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from suite.cli.app import app, split
from suite.errors import BadInput


@app.command()
def publish(
    targets: list[str] | None = typer.Option(
        None, "--target", "-t", help="targets to publish (default: all with records)"
    ),
    snapshot: str | None = typer.Option(
        None, "--snapshot", help="write a snapshot <results root>/published/NAME/ (or under --published-dir)"
    ),
    source: Path | None = typer.Option(None, "--from", help="records from this folder; a snapshot is rebuilt in place"),
    published_dir: Path | None = typer.Option(
        None,
        "--published-dir",
        help="where snapshots go (default: published/ under the results root, EDGEQ_RESULTS_DIR or ./results)",
    ),
) -> None:
    """Leaderboards from the records: Markdown, CSV, JSON, one index.html, Pareto plots, cross-target table."""
    from suite.paths import results_root
    from suite.publish import leaderboard

    written = leaderboard.run_publish(
        split(targets, "--target"), snapshot, source, published_dir or results_root() / "published"
    )
    for path in written:
        print(path)


@app.command()
def compare(
    a: str = typer.Argument(
        ...,
        help="record set A: a folder (results root, snapshot) or a target name, with optional #key=value,... filters",
    ),
    b: str = typer.Argument(..., help="record set B, given the same way"),
    format_: str = typer.Option("table", "--format", help="table | csv | json"),
) -> None:
    """Per-method deltas of B against A: accuracy, latency (against the run spread), throughput, energy, size."""
    from suite.publish.compare import compare as compare_sets
    from suite.publish.compare import load_set, render

    if format_ not in ("table", "csv", "json"):
        raise BadInput(f"--format: got {format_!r}, expected table, csv or json")
    print(render(compare_sets(load_set(a), load_set(b)), format_), end="")


@app.command()
def sync(
    uri: str | None = typer.Option(
        None, "--uri", help="tracking URI (default: MLFLOW_TRACKING_URI or the embedded store)"
    ),
    source: Path | None = typer.Option(
        None, "--from", help="records from this folder (a results root, a snapshot) instead of this results root"
    ),
) -> None:
    """Log every record that MLflow does not have yet (idempotent)."""
    from suite.records.store import RecordStore
    from suite.tracking import mlflow as tracking
    from suite.tracking.sink import sync as sync_records

    store = RecordStore()
    target_uri = uri or tracking.tracking_uri()
    problem = tracking.probe(target_uri)
    if problem:
        raise BadInput(f"MLflow store {problem}")
    if source is not None:
        from suite.publish.leaderboard import record_files

        items = record_files(source)
    else:
        items = [(r, store.path_for(r["target"]["name"], r["task"]["name"], r["job_id"])) for r in store.iter_records()]
    logged, present = sync_records(items, target_uri)
    print(f"synced {logged} run(s) to {target_uri}; {present} already there")


@app.command()
def ui(
    port: int = typer.Option(5000, "--port"),
    host: str = typer.Option("127.0.0.1", "--host", help="bind address (127.0.0.1 unless you mean to expose it)"),
) -> None:
    """Open the MLflow UI on the store in use."""
    import os

    from suite.tracking import mlflow as tracking

    uri = tracking.tracking_uri()
    base = tracking.ui_base(uri, f"http://{host}:{port}")
    try:  # one link per task: its job runs, flat, in MLflow's runs table
        stored = not uri.startswith("sqlite:///") or Path(uri[len("sqlite:///") :]).is_file()
        experiments = tracking.task_experiments(uri) if stored and tracking.probe(uri) is None else []
    except Exception as exc:  # an unreadable store still gets its UI; the links are a convenience
        experiments = []
        print(f"(could not list the experiments: {' '.join(str(exc).split())[:200]})")
    for name, experiment_id in experiments:
        print(f"{name}: {tracking.runs_table_url(base, experiment_id)}")
    if not experiments:
        print("no edgeq/<task> experiments yet: run `edgeq bench` first")
    if uri.startswith(("http://", "https://")):
        print(f"the runs are on a server: open {uri}")
        return
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port)]
    print("running: " + " ".join(cmd))
    os.execv(sys.executable, cmd)
