"""What a sweep tells the person at the end, the same for ``edgeq bench``, ``edgeq run`` and the fleet:
a table of every job, why a job fell back, was invalid or was not faster, where the leaderboard is, what
MLflow holds or is waiting for, and the skipped and failed jobs. ``finish`` returns the exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from rich.markup import escape

from suite.errors import EXIT_JOBS_FAILED, EXIT_OK
from suite.records.fields import (
    OWN_METRICS,
    SIZE_UNIT,
    Field,
    View,
    kind_of_metric,
    scored_by_items,
    shown_for,
    size_text,
)
from suite.runtimes.base import label_of
from suite.sweep.loop import Outcome

# (header, justify, required). Required columns always show in full; the others are added, in this
# order, while the table still fits the terminal (flags may wrap onto a second line).
COLUMNS: list[tuple[str, Literal["left", "right"], bool]] = [
    ("method", "left", True),
    ("top-1 %", "right", True),
    ("Δ pts", "right", True),
    ("p50 ms", "right", True),
    ("speed-up", "right", True),
    ("runtime", "left", False),
    ("flags", "left", False),
    ("±95%", "right", False),
    ("items/s", "right", False),
    (f"size {SIZE_UNIT}", "right", False),
    ("power", "left", False),
]


def _speedup(record: dict[str, Any], is_baseline: bool) -> str:
    if record.get("status") != "ok":
        return "–"
    if (record.get("artifact") or {}).get("simulated"):
        return "sim."  # simulated: its speed is not the method's, never claimed
    if View(record).emulated:
        return "emul."  # timed under an emulator: its speed is not the board's, never claimed
    if is_baseline:
        return "1.00x"
    s = (record.get("diagnosis") or {}).get("speedup_p50")
    return f"{s:.2f}x" if s else "–"


def _p50(value: Any) -> str:
    if not value:
        return "–"
    return f"{value:.4f}" if value < 10 else f"{value:,.1f}"


def _own(record: dict[str, Any], block: str) -> tuple[Field, Any] | None:
    """The first declared column of ``block`` that only the record's task kind fills and the tables show
    (a causal LM's own metric and its Δ, its decode rate), with its value; None for a top-1 record."""
    kind = kind_of_metric((record.get("accuracy") or {}).get("metric"))
    view = View(record)
    for field in shown_for(kind or ""):
        value = field.value(view)
        if field.block == block and value is not None:
            return field, value
    return None


def _delta(acc: dict[str, Any]) -> str:
    delta = acc.get("delta_top1")
    if delta is None:  # a kind scored otherwise: its metric's change (as declared: positive is worse)
        own = [f for f in OWN_METRICS if acc.get("metric") == f.column]
        deltas = [acc.get(f"delta_{f.column}") for f in own]
        paired = acc.get("vs_fp32") or {}
        ns = " n.s." if paired.get("significant") is False else ""
        return f"{deltas[0]:+{own[0].spec}}{ns}" if deltas and deltas[0] is not None else "–"
    paired = acc.get("vs_fp32") or {}
    return f"{delta * 100:+.2f}" + (" n.s." if paired.get("significant") is False else "")


def row_cells(o: Outcome) -> dict[str, str]:
    """The cells of one job's row, by column header (plain text)."""
    r = o.record
    acc, lat, thr = r.get("accuracy") or {}, r.get("latency") or {}, r.get("throughput") or {}
    art, pw = r.get("artifact") or {}, r.get("power") or {}
    flags = [o.how] if o.how != "ran" else []
    if r["status"] != "ok":
        flags.insert(0, r["status"])
    flags += [
        name
        for name, on in (
            ("simulated", art.get("simulated")),
            ("unstable", lat.get("unstable") or thr.get("unstable")),
            ("imprecise", lat.get("precision_met") is False or thr.get("precision_met") is False),
            ("quick", lat.get("quick")),
            ("fallback", (r.get("runtime") or {}).get("fallback")),
            ("invalid", lat.get("invalid_reason")),
            ("emulated", View(r).emulated),
        )
        if on
    ]
    half = lat.get("ci_half_width_pct")
    score = next((f for f in OWN_METRICS if acc.get("metric") == f.column and acc.get(f.column)), None)
    rate = _own(r, "throughput")
    return {
        "method": o.job.method,
        "top-1 %": f"{acc['top1'] * 100:.2f}"
        if acc.get("top1") is not None
        else (f"{score.abbrev} {acc[score.column]:{score.spec}}" if score else "–"),
        "Δ pts": _delta(acc),
        "p50 ms": _p50(lat.get("p50_ms")),
        "speed-up": _speedup(r, o.job.is_baseline),
        "runtime": label_of(o.job.runtime),
        "±95%": f"{half:.1f}%" if half is not None else "–",
        "items/s": f"{rate[1]:{rate[0].spec}} {rate[0].abbrev}"
        if rate and rate[1]
        else (f"{thr['items_per_s']:,.0f}" if thr.get("items_per_s") else "–"),
        f"size {SIZE_UNIT}": size_text(art.get("size_bytes")),
        "power": f"{pw['avg_w']:.2f} W" if pw.get("status") == "measured" else (pw.get("status") or "–"),
        "flags": ", ".join(flags),
    }


def fit_columns(rows: list[dict[str, str]], width: int) -> list[str]:
    """The headers to show at ``width`` columns: every required one, then optional ones while they fit
    (a rich table with square borders takes each cell's width + 3, plus 1)."""

    def need(header: str) -> int:
        return max([len(header)] + [len(row[header]) for row in rows]) + 3

    chosen = [h for h, _, required in COLUMNS if required]
    used = 1 + sum(need(h) for h in chosen)
    for header, _, required in COLUMNS:
        if required:
            continue
        cost = need(header) if header != "flags" else min(need(header), 3 + 9)  # flags wrap, one a line at worst
        if used + cost <= width:
            chosen.append(header)
            used += cost
    return [h for h, _, _ in COLUMNS if h in chosen]


def table(console: Any, outcomes: list[Outcome]) -> None:
    """One table per task (its name and item count in the title): method, top-1, Δ (n.s. when the
    paired test finds no difference), p50 and speed-up always in full, more columns as the width allows."""
    from rich.table import Table

    from suite.records.paired import MIN_RANKED_ITEMS

    by_task: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_task.setdefault(o.job.task_name, []).append(o)
    justify = {h: j for h, j, _ in COLUMNS}
    for task, group in by_task.items():
        rows = [row_cells(o) for o in group]
        headers = fit_columns(rows, console.width)
        n = next(
            (
                int((o.record.get("accuracy") or {}).get("n") or 0)
                for o in group
                if (o.record.get("accuracy") or {}).get("n")
            ),
            0,
        )
        ranked_by_items = any(scored_by_items((o.record.get("accuracy") or {}).get("metric")) for o in group)
        title = (
            f"{task}"
            + (f" · {n} items" if n else "")
            + (" · too few to rank" if ranked_by_items and 0 < n < MIN_RANKED_ITEMS else "")
        )
        out = Table(title=escape(title), show_lines=False)
        # A task scored by another metric (a language model's) shows it by its abbreviation in the cells, so
        # its headers name no top-1 and no percentage points.
        metric = next((m for o in group if (m := (o.record.get("accuracy") or {}).get("metric"))), "top1")
        shown = {} if metric == "top1" else {"top-1 %": "accuracy", "Δ pts": "Δ"}
        for header in headers:
            required = header in ("method", "top-1 %", "Δ pts", "p50 ms", "speed-up")
            out.add_column(
                shown.get(header, header),
                justify=justify[header],
                no_wrap=required or header in ("runtime", "±95%", "items/s"),
            )
        for o, cells in zip(group, rows):
            styled = [escape(cells[h]) for h in headers]
            if o.record["status"] == "failed":
                styled = [f"[red]{c}[/]" if h == "flags" else c for h, c in zip(headers, styled)]
            out.add_row(*styled)
        console.print(out)


def notes(console: Any, outcomes: list[Outcome]) -> None:
    """After the table: fallbacks, invalid (throttled) runs and why quantized artifacts were not faster."""
    from suite.measure.precision import OUT_OF_REACH

    for o in outcomes:
        record = o.record
        rt = record.get("runtime") or {}
        label = escape(f"{o.job.task_name} / {o.job.method} / {label_of(o.job.runtime)}")
        if rt.get("fallback"):
            console.print(
                f"[yellow]fallback[/] {label}: asked for {escape(str((rt.get('providers_requested') or ['?'])[0]))}, {escape(str(rt.get('provider')))} ran it"
            )
        lat = record.get("latency") or {}
        if lat.get("invalid_reason"):
            console.print(f"[red]invalid[/] {label}: {escape(str(lat['invalid_reason']))}")
        short = [
            f"{name} ±{b['ci_half_width_pct']:.1f}% after {b.get('duration_s')} s (bound {b.get('max_duration_s')} s"
            + ("; out of reach: stopped early" if b.get("stop_reason") == OUT_OF_REACH else "")
            + ")"
            for name, b in (("p50", lat), ("items/s", record.get("throughput") or {}))
            if b.get("precision_met") is False and b.get("ci_half_width_pct") is not None
        ]
        if short:  # the bound (or its projection) stopped the timing before the interval reached the goal
            goal = lat.get("precision_pct")
            console.print(f"[yellow]imprecise[/] {label}: {escape('; '.join(short))}, goal ±{goal}%")
        line = (record.get("diagnosis") or {}).get("line")
        if line:
            console.print(f"[yellow]why[/] {label}: {escape(str(line))}")


def finish(
    console: Any,
    outcomes: list[Outcome],
    sink: Any = None,
    written: list[Path] | None = None,
    retry_hint: str = "--retry-failed",
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
        console.print(
            f"[red]failed[/] {record['task']['name']} / {record['method']['name']}: {escape(str(record['error']))}"
        )
    if failed:
        console.print(f"{len(failed)} job(s) failed; {retry_hint} redoes them")
    link = sink.compare_link() if sink is not None else None
    if link:  # last, and never wrapped: a terminal keeps it one clickable link
        console.print(escape(link), soft_wrap=True)
    return EXIT_JOBS_FAILED if failed else EXIT_OK
