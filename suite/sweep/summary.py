"""What a sweep tells the person at the end, the same for ``edgeq bench``, ``edgeq run`` and the fleet:
a table of every job, why a job fell back, was invalid or was not faster, where the leaderboard is, what
MLflow holds or is waiting for, and the skipped and failed jobs. ``finish`` returns the exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape

from suite.errors import EXIT_JOBS_FAILED, EXIT_OK
from suite.runtimes.base import label_of
from suite.sweep.loop import Outcome


def table(console: Any, outcomes: list[Outcome]) -> None:
    """One row per job: accuracy, delta, p50, throughput, power, size and flags."""
    from rich.table import Table

    table = Table(title="EdgeQ sweep", show_lines=False)
    for col in ("task", "method", "runtime", "status", "top-1 %", "Δ pts", "p50 ms", "items/s", "power", "size KB", ""):
        table.add_column(col, justify="right" if col not in ("task", "method", "runtime", "status", "power", "") else "left")
    for o in outcomes:
        r = o.record
        acc, lat, thr = r.get("accuracy") or {}, r.get("latency") or {}, r.get("throughput") or {}
        art, pw = r.get("artifact") or {}, r.get("power") or {}
        delta = acc.get("delta_top1")
        flags = [o.how]
        flags += [name for name, on in (
            ("simulated", art.get("simulated")), ("unstable", lat.get("unstable")), ("quick", lat.get("quick")),
            ("fallback", (r.get("runtime") or {}).get("fallback")), ("invalid", lat.get("invalid_reason")),
        ) if on]  # fmt: skip
        table.add_row(
            o.job.task_name, o.job.method, label_of(o.job.runtime),
            r["status"] if r["status"] != "failed" else "[red]failed[/]",
            f"{acc['top1'] * 100:.2f}" if acc.get("top1") is not None else (f"ppl {acc['perplexity']:.3f}" if acc.get("perplexity") else "–"),
            f"{delta * 100:+.2f}" if delta is not None else (f"{acc['delta_perplexity']:+.3f}" if acc.get("delta_perplexity") is not None else "–"),
            f"{lat['p50_ms']:.4f}" if lat.get("p50_ms") else "–",
            f"{thr['tokens_per_s']:,.1f} tok/s" if thr.get("tokens_per_s") else (f"{thr['items_per_s']:,.0f}" if thr.get("items_per_s") else "–"),
            f"{pw['avg_w']:.2f} W" if pw.get("status") == "measured" else (pw.get("status") or "–"),
            f"{art['size_bytes'] / 1024:.1f}" if art.get("size_bytes") else "–",
            ", ".join(flags),
        )  # fmt: skip
    console.print(table)


def notes(console: Any, outcomes: list[Outcome]) -> None:
    """After the table: fallbacks, invalid (throttled) runs and why quantized artifacts were not faster."""
    for o in outcomes:
        record = o.record
        rt = record.get("runtime") or {}
        label = escape(f"{o.job.task_name} / {o.job.method} / {label_of(o.job.runtime)}")
        if rt.get("fallback"):
            console.print(f"[yellow]fallback[/] {label}: asked for {escape(str((rt.get('providers_requested') or ['?'])[0]))}, {escape(str(rt.get('provider')))} ran it")
        lat = record.get("latency") or {}
        if lat.get("invalid_reason"):
            console.print(f"[red]invalid[/] {label}: {escape(str(lat['invalid_reason']))}")
        line = (record.get("diagnosis") or {}).get("line")
        if line:
            console.print(f"[yellow]why[/] {label}: {escape(str(line))}")


def finish(
    console: Any, outcomes: list[Outcome], sink: Any = None, written: list[Path] | None = None, retry_hint: str = "--retry-failed"
) -> int:
    """The table, the notes, where the leaderboard is, the MLflow lines, one line per skipped reason and
    per failed job; the exit code (1 if any job failed, after every job ran)."""
    table(console, outcomes)
    notes(console, outcomes)
    reused = sum(1 for o in outcomes if o.how == "reused")
    if reused:
        console.print(f"{reused} job(s) reused from their records (same fingerprint); --force redoes them")
    for path in written or []:  # the tables and the page; CSV, JSON and plots sit beside them
        if path.suffix in (".md", ".html") and path.name != "cross-target.md":
            console.print(f"leaderboard: {path}")
    for line in sink.lines() if sink is not None else []:
        console.print(escape(line) if not line.startswith("warning: ") else "[yellow]warning:[/] " + escape(line[9:]))
    skipped = {(o.record["task"]["name"], o.record.get("error")) for o in outcomes if o.record["status"] == "skipped"}
    for task_name, why in sorted(skipped, key=lambda item: (item[0], str(item[1]))):  # one line per task and reason
        text = escape(str(why)) if task_name in str(why) else f"{task_name}: {escape(str(why))}"
        console.print(f"[yellow]skipped[/] {text}")
    failed = [o.record for o in outcomes if o.record["status"] == "failed"]
    for record in failed:  # errors quote shapes like [batch, 10]: print them, not parse them
        console.print(f"[red]failed[/] {record['task']['name']} / {record['method']['name']}: {escape(str(record['error']))}")
    if failed:
        console.print(f"{len(failed)} job(s) failed; {retry_hint} redoes them")
    return EXIT_JOBS_FAILED if failed else EXIT_OK
