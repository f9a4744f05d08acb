"""``edgeq bench``: plan the sweep, reuse what is measured, run the rest, log, publish, summarise.

Each finished job is written as a record before anything else happens (MLflow, tables), so an
interrupted or crashed sweep keeps every result it had.
"""

from __future__ import annotations

import time
from typing import Any

from suite.tracking import mlflow as tracking
from suite.config import load_profile
from suite.errors import EXIT_JOBS_FAILED, EXIT_OK, BadInput
from suite.paths import results_root
from suite.records.store import RecordStore
from suite.job.isolate import Worker
from suite.job.plan import Job, existing, parse_overrides, plan


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
        self.probed = False

    def probe(self) -> None:
        """One probe before the first job (at most 2 s, no retries); the sweep never waits on MLflow again."""
        if self.down is None and not self.probed:
            self.probed = True
            self.down = tracking.probe(self.uri)
            if self.down:
                from rich.markup import escape

                self.console.print(escape(f"MLflow store {self.down}: records only; `edgeq sync` logs them later"))

    def log(self, record: dict[str, Any], path: Any) -> None:
        self.probe()
        if self.down is None and self.tracker is None:
            try:
                self.tracker = tracking.Tracker(self.uri, self.sweep_name)
            except Exception as exc:  # mlflow missing or its store broken: records only
                self.down = f"MLflow client failed: {' '.join(str(exc).split())[:200]}"
        if self.tracker is None:
            self.waiting += 1
            return
        try:
            self.tracker.log(record, path)
            self.logged += 1
        except Exception as exc:  # went down mid-sweep: stop trying, keep counting (records are safe)
            self.waiting += 1
            self.tracker = None
            self.down = f"logging failed ({' '.join(str(exc).split())[:200]})"

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

    profile = load_profile(target)
    jobs = plan(
        profile, tasks, methods, runtimes, quick=quick, limit=limit, override=override_target,
        overrides=parse_overrides(overrides),
    )  # fmt: skip
    # fp32 first: the other jobs read its deployed accuracy for their delta.
    jobs.sort(key=lambda j: (j.task_name, j.family != "baseline"))
    check_power_required(profile)
    store = RecordStore()
    for stale in store.clean_stale_temps():
        console.print(f"removed {stale.name}, the temp file of an interrupted record write")
    sweep_name = f"{profile.config.name} {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC"
    sink = MlflowSink(use_mlflow, sweep_name, console)
    results: list[tuple[Job, dict[str, Any], str]] = []
    console.print(f"edgeq bench: target [bold]{profile.config.name}[/] ({profile.path}), {len(jobs)} job(s), results in {results_root()}")
    from suite.machine.doctor import bench_notes, bench_preamble

    bench_preamble(profile, console)  # the resolved target, runtime fallbacks, pre-flight (may stop: exit 2)
    timeout_s = profile.config.measurement.job_timeout_s
    with Worker() as worker, Progress(
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
            sink.probe()
            progress.update(bar, description=job.label)
            record = worker.run(job, timeout_s)  # a record whatever happens in the worker
            path = write_record(store, record)
            sink.log(record, path)
            results.append((job, record, "ran"))
            progress.advance(bar)
    sink.finish()

    try:
        from suite.publish import leaderboard

        written = leaderboard.publish(store, [profile.config.name], results_root() / "leaderboard")
    except ModuleNotFoundError as exc:  # a device with the run side only (no pandas/matplotlib)
        written = []
        console.print(f"leaderboard skipped: {exc.name} is not installed (the 'track' extra); the records are complete, `edgeq publish` builds it where it is")
    summarise(console, results)
    bench_notes(console, results)
    reused = sum(1 for _, _, how in results if how == "reused")
    if reused:
        console.print(f"{reused} job(s) reused from their records (same fingerprint); --force redoes them")
    for path in written:  # the tables and the page; CSV, JSON and plots sit beside them
        if path.suffix in (".md", ".html") and path.name != "cross-target.md":
            console.print(f"leaderboard: {path}")
    if sink.logged:
        console.print(f"MLflow: {sink.logged} run(s) in {sink.uri}; browse with `edgeq ui` (or `make ui`)")
    if sink.waiting:
        warn = "" if not sink.enabled else "[yellow]warning:[/] "
        from rich.markup import escape

        console.print(f"{warn}MLflow: {sink.waiting} run(s) wait for `edgeq sync` ({escape(str(sink.down))})")
    skipped = {(r["task"]["name"], r["error"]) for _, r, _ in results if r["status"] == "skipped"}
    for task_name, why in sorted(skipped, key=lambda item: (item[0], str(item[1]))):  # one line per task and reason
        console.print(f"[yellow]skipped[/] {why}" if task_name in str(why) else f"[yellow]skipped[/] {task_name}: {why}")
    from rich.markup import escape  # errors quote shapes like [batch, 10]: print them, not parse them

    failed = [r for _, r, _ in results if r["status"] == "failed"]
    for record in failed:
        console.print(f"[red]failed[/] {record['task']['name']} / {record['method']['name']}: {escape(str(record['error']))}")
    return EXIT_JOBS_FAILED if failed else EXIT_OK


def write_record(store: RecordStore, record: dict[str, Any]) -> Any:
    """Write a record atomically; a full or read-only disk stops the sweep with one line (exit 2).

    Nothing half-written is left: the old record (or none) stays in place, and the job reruns next time.
    """
    try:
        return store.write(record)
    except OSError as exc:
        path = store.path_for(record["target"]["name"], record["task"]["name"], record["job_id"])
        reason = exc.strerror or str(exc)
        raise BadInput(
            f"{path}: cannot write the record ({reason}); free space or fix permissions and rerun: "
            f"finished jobs are kept and skipped"
        ) from None


def check_power_required(profile: Any) -> None:
    """A profile whose ``power:`` list has no ``none`` requires energy: stop before any job if no listed
    sensor can measure (a root-only RAPL counter, say), with the sensor's fix as the hint."""
    from suite.power.base import choose_sensor

    names = [p if isinstance(p, str) else p.name for p in profile.config.power]
    if "none" in names:
        return
    sensor, probe = choose_sensor(profile.config.power)
    if not probe.ok:
        status = probe.status.replace("_", " ")
        hint = f"; fix: {probe.hint}" if probe.hint else ""
        raise BadInput(
            f"{profile.path}: power: {status} ({probe.reason}){hint}; or add 'none' to power: to measure without energy"
        )


def summarise(console: Any, results: list[tuple[Job, dict[str, Any], str]]) -> None:
    from rich.table import Table

    from suite.machine.doctor import runtime_label

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
        if (r.get("runtime") or {}).get("fallback"):
            flags.append("fallback")
        if lat.get("invalid_reason"):
            flags.append("invalid")
        table.add_row(
            job.task_name, job.method, runtime_label(job.runtime),
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
