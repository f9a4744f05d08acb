"""``edgeq bench``: plan the sweep, reuse what is measured, run the rest, log, publish, summarise.

Each finished job is written as a record before anything else happens (MLflow, tables), so an
interrupted or crashed sweep keeps every result it had.
"""

from __future__ import annotations

import time
from typing import Any

from suite import tracking
from suite.config import load_profile
from suite.errors import EXIT_JOBS_FAILED, EXIT_OK
from suite.paths import results_root
from suite.records import RecordStore
from suite.sweep import Job, existing, parse_overrides, plan


class MlflowSink:
    """Logs records to MLflow if the store answered its single probe; otherwise counts what waits."""

    def __init__(self, enabled: bool, sweep_name: str, console: Any) -> None:
        self.enabled = enabled
        self.sweep_name = sweep_name
        self.console = console
        self.uri = tracking.tracking_uri()
        self.tracker: tracking.Tracker | None = None
        self.down: str | None = None if enabled else "disabled with --no-mlflow"
        self.waiting = 0
        self.logged = 0

    def log(self, record: dict[str, Any], path: Any) -> None:
        if self.down is None and self.tracker is None:
            self.down = tracking.probe(self.uri)
            if self.down is None:
                try:
                    self.tracker = tracking.Tracker(self.uri, self.sweep_name)
                except Exception as exc:  # mlflow missing or its store broken: records only
                    self.down = f"MLflow client failed: {' '.join(str(exc).split())[:200]}"
            if self.down:
                self.console.print(f"[yellow]warning:[/] MLflow store {self.down}; continuing with records only")
        if self.tracker is None:
            self.waiting += 1
            return
        try:
            self.tracker.log(record, path)
            self.logged += 1
        except Exception as exc:
            self.waiting += 1
            self.console.print(f"[yellow]warning:[/] MLflow logging failed ({' '.join(str(exc).split())[:200]}); the record is kept")

    def finish(self) -> None:
        if self.tracker is not None:
            try:
                self.tracker.finish()
            except Exception:
                pass


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
) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from suite.execute import run_job

    profile = load_profile(target)
    jobs = plan(
        profile, tasks, methods, runtimes, quick=quick, limit=limit, override=override_target,
        overrides=parse_overrides(overrides),
    )  # fmt: skip
    # fp32 first: the other jobs read its deployed accuracy for their delta.
    jobs.sort(key=lambda j: (j.task_name, j.method != "fp32"))
    store = RecordStore()
    sweep_name = f"{profile.config.name} {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC"
    sink = MlflowSink(use_mlflow, sweep_name, console)
    results: list[tuple[Job, dict[str, Any], str]] = []
    console.print(f"edgeq bench: target [bold]{profile.config.name}[/] ({profile.path}), {len(jobs)} job(s), results in {results_root()}")
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:  # fmt: skip
        bar = progress.add_task("jobs", total=len(jobs))
        for job in jobs:
            previous = None if force else existing(store, job)
            if previous is not None and (previous["status"] != "failed" or not retry_failed):
                results.append((job, previous, "reused"))
                progress.advance(bar)
                continue
            progress.update(bar, description=job.label)
            record = run_job(job, store)
            path = store.write(record)
            sink.log(record, path)
            results.append((job, record, "ran"))
            progress.advance(bar)
    sink.finish()

    from suite import leaderboard

    written = leaderboard.publish(store, [profile.config.name], results_root() / "leaderboard")
    summarise(console, results)
    reused = sum(1 for _, _, how in results if how == "reused")
    if reused:
        console.print(f"{reused} job(s) reused from their records (same fingerprint); --force redoes them")
    for path in written:
        console.print(f"leaderboard: {path}")
    if sink.logged:
        console.print(f"MLflow: {sink.logged} run(s) in {sink.uri}; browse with `edgeq ui` (or `make ui`)")
    if sink.waiting:
        console.print(f"[yellow]MLflow: {sink.waiting} run(s) wait for `edgeq sync` ({sink.down})[/]")
    failed = [r for _, r, _ in results if r["status"] == "failed"]
    for record in failed:
        console.print(f"[red]failed[/] {record['task']['name']} / {record['method']['name']}: {record['error']}")
    return EXIT_JOBS_FAILED if failed else EXIT_OK


def summarise(console: Any, results: list[tuple[Job, dict[str, Any], str]]) -> None:
    from rich.table import Table

    table = Table(title="EdgeQ sweep", show_lines=False)
    for col in ("task", "method", "runtime", "status", "top-1 %", "Δ pts", "p50 ms", "items/s", "power", "size KB", ""):
        table.add_column(col, justify="right" if col not in ("task", "method", "runtime", "status", "power", "") else "left")
    for job, r, how in results:
        acc = r.get("accuracy") or {}
        lat = r.get("latency") or {}
        thr = r.get("throughput") or {}
        art = r.get("artifact") or {}
        pw = r.get("power") or {}
        delta = acc.get("delta_top1")
        flags = [how]
        if art.get("simulated"):
            flags.append("simulated")
        if lat.get("unstable"):
            flags.append("unstable")
        if lat.get("quick"):
            flags.append("quick")
        table.add_row(
            job.task_name, job.method, job.runtime["name"],
            r["status"] if r["status"] != "failed" else f"[red]failed[/]",
            f"{acc['top1'] * 100:.2f}" if acc.get("top1") is not None else "–",
            f"{delta * 100:+.2f}" if delta is not None else "–",
            f"{lat['p50_ms']:.4f}" if lat.get("p50_ms") else "–",
            f"{thr['items_per_s']:,.0f}" if thr.get("items_per_s") else "–",
            f"{pw['avg_w']:.2f} W" if pw.get("status") == "measured" else (pw.get("status") or "–"),
            f"{art['size_bytes'] / 1024:.1f}" if art.get("size_bytes") else "–",
            ", ".join(flags),
        )  # fmt: skip
    console.print(table)
