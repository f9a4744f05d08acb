"""``edgeq``: the command line (typer), modelled on lm-evaluation-harness and timm's benchmark scripts.

Exit codes (DESIGN.md): 0 all jobs ok or skipped; 1 some jobs failed (after all ran); 2 bad input
(one line on stderr, no traceback); 130 interrupted (records written so far are complete).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from suite.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, BadInput

app = typer.Typer(add_completion=False, no_args_is_help=True, help="EdgeQ: quantization benchmarks on edge hardware.")


def _split(values: Optional[list[str]]) -> list[str] | None:
    """Accept both ``--methods a,b`` and ``--methods a --methods b``."""
    if not values:
        return None
    return [v for item in values for v in item.split(",") if v]


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(highlight=False)


# --------------------------------------------------------------------------------------------- list
@app.command("list")
def list_(kind: str = typer.Argument(..., help="methods | tasks | targets | runtimes | sensors | datasets | zoo")) -> None:
    """List what is available, without importing torch or TensorFlow."""
    from suite.paths import HARDWARE_DIR, TASKS_DIR
    from suite.registry import REGISTRIES, load_catalogue

    load_catalogue()
    if kind in ("tasks", "targets"):
        folder = TASKS_DIR if kind == "tasks" else HARDWARE_DIR
        for path in sorted(folder.glob("*.yaml")):
            print(path.stem)
        return
    if kind not in REGISTRIES:
        raise BadInput(f"unknown kind {kind!r} (known: methods, tasks, targets, runtimes, sensors, datasets, zoo)")
    registry = REGISTRIES[kind]
    for name in registry.names():
        meta = registry.meta(name)
        if kind == "methods":
            label = "simulated" if meta.get("simulated") else "deployable"
            fmt = meta.get("format", "onnx")
            print(f"{name:<22} {meta.get('family', ''):<12} {label:<11} {fmt:<7} {meta.get('summary', '')}")
            print(f"{'':<22} params: {_method_params(registry, name)}")
        else:
            print(f"{name:<22} {meta.get('summary', '')}")


def _method_params(registry, name: str) -> str:  # type: ignore[no-untyped-def]
    """``name=default`` for each parameter. Method modules import torch/TF only inside functions, so
    reading their pydantic Params stays cheap."""
    try:
        params_cls = registry.get(name).Params
    except Exception as exc:  # a broken plugin must not break the listing
        return f"unavailable ({' '.join(str(exc).split())[:120]})"
    items = [f"{key}={field.default!r}" for key, field in params_cls.model_fields.items()]
    return ", ".join(items) or "(none)"


# ---------------------------------------------------------------------------------------- validate
@app.command()
def validate(files: list[Path] = typer.Argument(..., help="task or hardware profile YAML files")) -> None:
    """Check task and profile files; one line per file, non-zero exit if any is broken."""
    from suite.config import validate_file

    bad = 0
    for path in files:
        try:
            kind = validate_file(path)
            print(f"ok   {path} ({kind})")
        except BadInput as exc:
            bad += 1
            print(f"FAIL {exc}", file=sys.stderr)
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


# ------------------------------------------------------------------------------------------- bench
@app.command()
def bench(
    target: str = typer.Option("local-cpu", "--target", "-t", help="hardware profile name or YAML path"),
    tasks: Optional[list[str]] = typer.Option(None, "--tasks", help="task names or YAML paths (default: the profile's)"),
    methods: Optional[list[str]] = typer.Option(None, "--methods", "-m", help="method names, or 'all' (default: the task's)"),
    runtimes: Optional[list[str]] = typer.Option(None, "--runtimes", help="restrict to these runtimes of the profile"),
    quick: bool = typer.Option(False, "--quick", help="short timing runs (recorded as quick)"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="evaluate only the first N eval samples"),
    force: bool = typer.Option(False, "--force", help="redo jobs that already have a record"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="redo jobs whose record says failed"),
    override_target: bool = typer.Option(False, "--override-target", help="measure even if this machine does not match the profile"),
    no_mlflow: bool = typer.Option(False, "--no-mlflow", help="records only; log later with `edgeq sync`"),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="METHOD.PARAM=VALUE, overrides task and profile"),
    fleet: bool = typer.Option(False, "--fleet", help="prepare here, measure on the lab's `edgeq worker`s (--target A,B: one queue each)"),
    share: Optional[Path] = typer.Option(None, "--share", help="--fleet: put bundles in this shared folder (default: the MLflow server's artifact store)"),
    fleet_timeout: Optional[float] = typer.Option(None, "--fleet-timeout", min=1, help="--fleet: stop waiting after this many seconds (default: every job's timeout, one device per queue)"),
) -> None:
    """Run the sweep of a target: tasks x methods x runtimes; records, MLflow runs, leaderboard."""
    if fleet:
        from suite.fleet.dispatch import run_fleet

        raise typer.Exit(
            run_fleet(
                targets=_split([target]) or [],
                tasks=_split(tasks),
                methods=_split(methods),
                runtimes=_split(runtimes),
                quick=quick,
                limit=limit,
                force=force,
                retry_failed=retry_failed,
                use_mlflow=not no_mlflow,
                share=share,
                timeout_s=fleet_timeout,
                console=_console(),
                overrides=set_,
            )
        )
    if share is not None or fleet_timeout is not None:
        raise BadInput("--share and --fleet-timeout go with --fleet")
    from suite.sweep.local import run_bench

    code = run_bench(
        target=target,
        tasks=_split(tasks),
        methods=_split(methods),
        runtimes=_split(runtimes),
        quick=quick,
        limit=limit,
        force=force,
        retry_failed=retry_failed,
        override_target=override_target,
        use_mlflow=not no_mlflow,
        console=_console(),
        overrides=set_,
    )
    raise typer.Exit(code)


# ----------------------------------------------------------------------------------------- publish
@app.command()
def publish(
    targets: Optional[list[str]] = typer.Option(None, "--target", "-t", help="targets to publish (default: all with records)"),
    snapshot: Optional[str] = typer.Option(None, "--snapshot", help="write a committed snapshot results/published/NAME/"),
    source: Optional[Path] = typer.Option(None, "--from", help="records from this folder; a snapshot is rebuilt in place"),
    published_dir: Optional[Path] = typer.Option(None, "--published-dir", help="where snapshots go (default: results/published in the repository)"),
) -> None:
    """Leaderboards from the records: Markdown, CSV, JSON, one index.html, Pareto plots, cross-target table."""
    from suite.publish import leaderboard
    from suite.paths import REPO_ROOT

    written = leaderboard.run_publish(_split(targets), snapshot, source, published_dir or REPO_ROOT / "results" / "published")
    for path in written:
        print(path)


# ----------------------------------------------------------------------------------------- compare
@app.command()
def compare(
    a: str = typer.Argument(..., help="record set A: a folder (results root, snapshot) or a target name, with optional #key=value,... filters"),
    b: str = typer.Argument(..., help="record set B, given the same way"),
    format_: str = typer.Option("table", "--format", help="table | csv | json"),
) -> None:
    """Per-method deltas of B against A: accuracy, latency (against the run spread), throughput, energy, size."""
    from suite.publish.compare import compare as compare_sets
    from suite.publish.compare import load_set, render

    if format_ not in ("table", "csv", "json"):
        raise BadInput(f"--format: got {format_!r}, expected table, csv or json")
    print(render(compare_sets(load_set(a), load_set(b)), format_), end="")


# -------------------------------------------------------------------------------------------- sync
@app.command()
def sync(
    uri: Optional[str] = typer.Option(None, "--uri", help="tracking URI (default: MLFLOW_TRACKING_URI or the embedded store)"),
    source: Optional[Path] = typer.Option(None, "--from", help="records from this folder (a results root, a snapshot) instead of this results root"),
) -> None:
    """Log every record that MLflow does not have yet (idempotent)."""
    from suite.tracking import mlflow as tracking
    from suite.records.store import RecordStore

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
    logged, present = tracking.sync(items, target_uri)
    print(f"synced {logged} run(s) to {target_uri}; {present} already there")


# ---------------------------------------------------------------------------------------------- ui
@app.command()
def ui(
    port: int = typer.Option(5000, "--port"),
    host: str = typer.Option("127.0.0.1", "--host", help="bind address (127.0.0.1 unless you mean to expose it)"),
) -> None:
    """Open the MLflow UI on the store in use."""
    import os

    from suite.tracking import mlflow as tracking

    uri = tracking.tracking_uri()
    if uri.startswith(("http://", "https://")):
        print(f"the runs are on a server: open {uri}")
        return
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port)]
    print("running: " + " ".join(cmd))
    os.execv(sys.executable, cmd)


# ---------------------------------------------------------------------------------------- fidelity
@app.command()
def fidelity(
    target: str = typer.Option("local-cpu", "--target", "-t"),
    tasks: Optional[list[str]] = typer.Option(None, "--tasks"),
    methods: Optional[list[str]] = typer.Option(None, "--methods", "-m"),
    seconds: float = typer.Option(1.0, "--seconds", help="duration of each bare and each suite run"),
) -> None:
    """The suite's SingleStream p50 against a bare runtime loop, per artifact, in one process."""
    from suite.sweep.fidelity import run_fidelity

    for line in run_fidelity(target, _split(tasks), _split(methods), seconds):
        print(line, flush=True)


# -------------------------------------------------------------------------------------------- show
@app.command()
def show(record: Path = typer.Argument(..., help="a record JSON file")) -> None:
    """Print one record, pretty."""
    import json

    from suite.records.store import load_record

    print(json.dumps(load_record(record), indent=2))


# --------------------------------------------------------------------------------------- reproduce
@app.command()
def reproduce(
    record: Path = typer.Argument(..., help="a record JSON file (from results/records or a published snapshot)"),
    out: Optional[Path] = typer.Option(None, "--out", help="also write the reproduced record to this JSON file"),
    keep: Optional[Path] = typer.Option(None, "--keep", help="rebuild in this new folder and keep it (model, artifact)"),
) -> None:
    """Rebuild a job from its record alone (empty cache: retrain, requantize) and compare the results."""
    from suite.job.reproduce import reproduce as run_reproduce

    raise typer.Exit(run_reproduce(record, out, _console(), keep))


# ------------------------------------------------------------------------------------------ doctor
@app.command()
def doctor(
    target: Optional[str] = typer.Option(None, "--target", "-t", help="profile to check (default: the best match for this machine)"),
) -> None:
    """What this machine is: matching profiles, runtimes and providers, power sensors, pre-flight fixes."""
    from suite.machine.doctor import report

    for line in report(target):
        print(line, flush=True)


# ------------------------------------------------------------------------- bundles (suite/bundle/carry.py)
@app.command()
def prepare(
    target: str = typer.Option(..., "--target", "-t", help="the board's hardware profile name or YAML path"),
    out: Path = typer.Option(..., "--out", "-o", help="the bundle file to write (.tar, .tar.gz or .tar.xz)"),
    tasks: Optional[list[str]] = typer.Option(None, "--tasks", help="task names or YAML paths (default: the profile's)"),
    methods: Optional[list[str]] = typer.Option(None, "--methods", "-m", help="method names, or 'all' (default: the task's)"),
    runtimes: Optional[list[str]] = typer.Option(None, "--runtimes", help="restrict to these runtimes of the profile"),
    quick: bool = typer.Option(False, "--quick", help="short timing runs on the device (recorded as quick)"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="carry only the first N eval samples"),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="METHOD.PARAM=VALUE, overrides task and profile"),
) -> None:
    """Build a target's artifacts here and pack them, with eval data and job list, for `edgeq run` on the board."""
    from suite.bundle.carry import build_bundle

    console = _console()
    path, entries, failed = build_bundle(target, _split(tasks), _split(methods), _split(runtimes), quick, limit, out, console, set_)
    console.print(f"bundle: {path} ({len(entries)} job(s), {path.stat().st_size / 1024:.0f} KiB); on the board: edgeq run {path.name}")
    raise typer.Exit(1 if failed else 0)


@app.command("run")
def run_(
    bundle: Path = typer.Argument(..., help="a bundle written by `edgeq prepare`"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="results tarball to write (default: <target>-results.tar here)"),
    override_target: bool = typer.Option(False, "--override-target", help="measure even if this machine does not match the profile"),
) -> None:
    """On the board: measure every job of a bundle (run side only: no torch, TensorFlow, mlflow or pandas)."""
    from suite.bundle.carry import run_bundle

    raise typer.Exit(run_bundle(bundle, out, override_target, _console()))


@app.command("import")
def import_(
    results: Path = typer.Argument(..., help="a results tarball written by `edgeq run`"),
    no_mlflow: bool = typer.Option(False, "--no-mlflow", help="records only; log later with `edgeq sync`"),
) -> None:
    """Merge a board's records into this results root (idempotent), log them to MLflow, publish."""
    from suite.bundle.carry import import_results

    raise typer.Exit(import_results(results, not no_mlflow, _console()))


# ---------------------------------------------------------------------------- fleet (suite/fleet/)
@app.command()
def worker(
    target: str = typer.Option(..., "--target", "-t", help="this board's hardware profile: the queue it consumes"),
    override_target: bool = typer.Option(False, "--override-target", help="serve the queue even if this machine does not match the profile"),
    loglevel: str = typer.Option("INFO", "--loglevel", help="Celery's log level"),
) -> None:
    """Serve the queue named after a profile: one job at a time, records back to the workstation and MLflow."""
    from suite.fleet.worker import serve

    raise typer.Exit(serve(target, override_target, loglevel))


def main() -> None:
    try:
        code = app(standalone_mode=False)  # click returns an Exit's code instead of raising it here
        sys.exit(code if isinstance(code, int) else 0)
    except BadInput as exc:
        print(f"edgeq: error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("edgeq: interrupted; records written so far are complete", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.Abort):  # click's form of Ctrl-C (KeyboardInterrupt)
            print("edgeq: interrupted; records written so far are complete", file=sys.stderr)
            sys.exit(EXIT_INTERRUPTED)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(EXIT_BAD_INPUT)
        raise

