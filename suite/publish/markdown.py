"""Markdown: the per-target leaderboard README, the cross-target table and the index of a publication.

The table columns follow MLPerf's result tables (system, software and its version, accuracy, the
scenario's metric), extended with what a quantization comparison needs: bits, the delta against fp32,
the sim-to-real gap, speed-up on the same runtime, power with its reason when absent, and flags.
Written with plain string joins: a Markdown table is one line per row, and ``DataFrame.to_markdown``
would add a ``tabulate`` dependency for no gain in control over the cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from suite.publish import fmt, toolkits
from suite.publish.rows import COLUMN_DOCS
from suite.records.fields import (
    ALL_KINDS,
    COLUMN_FIELDS,
    Field,
    evaluated_items,
    kind_of_metric,
    lower_is_better,
    scored_by_items,
    shown_for,
)
from suite.records.paired import MIN_RANKED_ITEMS

if TYPE_CHECKING:
    from suite.publish.landscape import LandscapeResult

HEADER = [
    "#",
    "method",
    "family",
    "W/A bits",
    "runtime",
    "provider",
    "top-1 %",
    "top-5 %",
    "Δ vs fp32 (pts)",
    "sim→real gap (pts)",
    "p50 ms",
    "p90 ms",
    "items/s",
    "speed-up vs fp32",
    "power (avg W · mJ/item)",
    fmt.SIZE_HEADER,
    "Pareto",
    "flags",
    "date",
    "commit",
    "toolkit",
]


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def row_cells(rank: int, r: Any) -> list[str]:
    """The table cells of one leaderboard row."""
    if r["status"] != "ok":
        return _failed_cells(rank, r, len(HEADER))
    return [
        _cell(c)
        for c in [
            rank,
            r["label"],
            r["family"],
            fmt.bits(r),
            fmt.runtime(r),
            r["provider"] if not fmt.missing(r["provider"]) else fmt.DASH,
            fmt.pct(r["top1"]),
            fmt.pct(r["top5"]),
            fmt.delta(r),
            fmt.pts(r["sim_to_real_gap"]),
            fmt.with_spread(r["p50_ms"], r["latency_cv"], r["latency_runs"], ".4f", r["p50_ci_pct"]),
            fmt.num(r["p90_ms"], ".4f"),
            fmt.with_spread(
                r["items_per_s"], r["throughput_cv"], r["throughput_runs"], ",.0f", r["items_per_s_ci_pct"]
            ),
            fmt.speedup(r),
            fmt.power(r),
            fmt.size(r),
            "★" if r["pareto"] else "",
            (r["flags"] or "").replace(",", ", "),
            r["date"] if not fmt.missing(r["date"]) else fmt.DASH,
            fmt.commit(r),
            fmt.toolkit(r),
        ]
    ]


#: Tasks whose metric is not a share of items (a causal LM's): the columns only their kind fills (declared
#: in suite.records.fields: the metric, its Δ, token timing) instead of top-1 and items/s; p50 is then the
#: latency of one whole generation of the task's new tokens.
KIND_HEAD = HEADER[:6]
KIND_TIMING = ["p50 ms (generation)", "speed-up vs fp32"]
MEMORY_FIELDS = [f for f in COLUMN_FIELDS if f.block == "memory" and f.header]
KIND_TAIL = [fmt.SIZE_HEADER, "Pareto", "flags", "date", "commit", "toolkit"]


def kind_header(special: list[Field]) -> list[str]:
    """The header of a table of a kind not scored by items (``special``: its declared columns)."""
    return [
        *KIND_HEAD,
        *(str(f.header) for f in special),
        *KIND_TIMING,
        *(str(f.header) for f in MEMORY_FIELDS),
        *KIND_TAIL,
    ]


def kind_row_cells(rank: int, r: Any, special: list[Field]) -> list[str]:
    """The cells of one row of such a table (``kind_header``)."""
    if r["status"] != "ok":
        return _failed_cells(rank, r, len(kind_header(special)))
    return [
        _cell(c)
        for c in [
            rank,
            r["label"],
            r["family"],
            fmt.bits(r),
            fmt.runtime(r),
            r["provider"] if not fmt.missing(r["provider"]) else fmt.DASH,
            *(f.cell(r) for f in special),
            fmt.with_spread(r["p50_ms"], r["latency_cv"], r["latency_runs"], ".2f"),
            fmt.speedup(r),
            *(f.cell(r) for f in MEMORY_FIELDS),
            fmt.size(r),
            "★" if r["pareto"] else "",
            (r["flags"] or "").replace(",", ", "),
            r["date"] if not fmt.missing(r["date"]) else fmt.DASH,
            fmt.commit(r),
            fmt.toolkit(r),
        ]
    ]


def special_fields(group) -> list[Field]:  # type: ignore[no-untyped-def]
    """The declared columns that only one task kind fills, where this task's rows have values."""
    return [f for kind in ALL_KINDS for f in shown_for(kind) if group[f.column].notna().any()]


def _failed_cells(rank: int, r: Any, width: int) -> list[str]:
    reason = f"**{r['status']}**" + (f": {r['error']}" if not fmt.missing(r["error"]) else "")
    head = [str(rank), r["label"], r["family"], fmt.bits(r), fmt.runtime(r), r["provider"]]
    return (
        [_cell(c if not fmt.missing(c) else fmt.DASH) for c in head]
        + [_cell(reason)]
        + [fmt.DASH] * (width - 10)
        + [_cell(r["date"]), fmt.commit(r), _cell(fmt.toolkit(r))]
    )


def table(group) -> str:  # type: ignore[no-untyped-def]
    special = special_fields(group)
    if not scored_by_items(group["metric"].iloc[0]):
        special = shown_for(kind_of_metric(group["metric"].iloc[0]) or "")
        header = kind_header(special)
        rows = [kind_row_cells(rank, r, special) for rank, (_, r) in enumerate(group.iterrows(), start=1)]
    else:  # top-1 tables; an encoder's own columns (embedding cosine) after the Δ
        header = [*HEADER[:9], *(str(f.header) for f in special), *HEADER[9:]]
        rows = []
        for rank, (_, r) in enumerate(group.iterrows(), start=1):
            row = row_cells(rank, r)
            if special:
                own = [f.cell(r) if r["status"] == "ok" else fmt.DASH for f in special]
                row = [*row[:9], *own, *row[9:]]
            rows.append(row)
    lines = ["| " + " | ".join(header) + " |", "|" + "".join("---:|" if h in _RIGHT else "---|" for h in header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


_RIGHT = {
    "#",
    "top-1 %",
    "top-5 %",
    "Δ vs fp32 (pts)",
    "sim→real gap (pts)",
    "p50 ms",
    "p90 ms",
    "items/s",
    "speed-up vs fp32",
    fmt.SIZE_HEADER,
    *KIND_TIMING,
    *(str(f.header) for f in COLUMN_FIELDS if f.header),
}


def machine_lines(records: list[dict[str, Any]]) -> list[str]:
    """One line per distinct machine among the records: CPU model, cores, flags, OS and kernel."""
    seen: dict[tuple, str] = {}
    for rec in records:
        env = rec.get("environment") or {}
        cpu = env.get("cpu") or {}
        key = (cpu.get("model"), tuple(cpu.get("flags") or []), env.get("os"), env.get("kernel"))
        if key in seen:
            continue
        flags = ", ".join(cpu.get("flags") or []) or "none read"
        seen[key] = (
            f"{cpu.get('model') or 'unknown CPU'} ({cpu.get('arch') or '?'}, {cpu.get('cores') or '?'} cores; "
            f"CPU flags: {flags}), {env.get('os') or 'unknown OS'}, kernel {env.get('kernel') or '?'}"
        )
    return list(seen.values())


def _packages(records: list[dict[str, Any]]) -> str:
    versions: dict[str, set[str]] = {}
    for rec in records:
        for name, version in ((rec.get("environment") or {}).get("packages") or {}).items():
            if version:
                versions.setdefault(name, set()).add(str(version))
    return ", ".join(f"{n} {'/'.join(sorted(v))}" for n, v in sorted(versions.items()))


def columns_doc() -> list[str]:
    lines = ["| column | unit | meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {unit} | {_cell(meaning)} |" for name, unit, meaning in COLUMN_DOCS]
    return lines


def landscape_lines(chart: LandscapeResult, folder: str = "") -> list[str]:
    """The landscape section of a README: the chart (PNG, linked to its SVG at full size) and what is on it."""
    png, svg = (folder + path.name for path in chart.paths)
    placed = "; ".join(chart.measured_labels) or (
        "none of these records (a record is placed when it has a MAC count, and a measured power or a profile "
        "typical_w / max_w to stand at)"
    )
    return [
        "## Landscape",
        "",
        f"[![Throughput against power: {len(chart.processor_labels)} commercial edge processors at their datasheet "
        f"peak, and the measured records at their achieved operations per second]({png})]({svg})",
        "",
        f"Dense int8 peak (datasheet) against power for {len(chart.processor_labels)} commercial edge processors "
        "(hardware/landscape/processors.yaml), log-log, dashed lines of equal TOPS/W; the measured records at their "
        "achieved Offline operations per second (2 x MACs per item x items/s, the `gops` column), the best of each "
        f"target labelled. Placed here: {placed}.",
        "",
    ]


def target_readme(  # type: ignore[no-untyped-def]
    df, records: list[dict[str, Any]], target: str, plots: dict[str, list[str]], landscape: list[str] | None = None
) -> str:
    """The README.md of one target: one table per task, best primary metric first; ``landscape``: the
    landscape section (``landscape_lines``), before the cross-toolkit view."""
    dates = sorted(d for d in df["date"].dropna().unique())
    commits = sorted({fmt.commit(r) for _, r in df.iterrows()} - {fmt.DASH})
    lines = [f"# EdgeQ leaderboard: {target}", ""]
    lines += [f"Measured on: {m}." for m in machine_lines(records)] or ["Measured on: no environment recorded."]
    lines += [
        "",
        f"{len(df)} result(s), {dates[0] if dates else '?'} to {dates[-1] if dates else '?'}, suite commit(s) {', '.join(commits) or 'unknown'}.",
        f"Packages: {_packages(records) or 'not recorded'}.",
        "",
        "Accuracy is deployed accuracy, measured through the runtime that is timed; the sim→real gap is the "
        "fake-quant accuracy minus it; Δ is marked n.s. where the exact McNemar test on the same items finds no "
        "significant difference from fp32 (for a metric over tokens: where the paired 95% interval of the "
        "difference, bootstrapped over windows, includes 0). W/A bits are the method's nominal weight and "
        "activation bits; in parentheses the bits per weight the file really stores (scales, zero points and "
        "tensors kept wider included; flag bits>label where that is more than 0.25 above the nominal). "
        "Latency: LoadGen SingleStream p50/p90; throughput: LoadGen Offline. "
        "± is the half-width of the 95% confidence interval (p50: order-statistic interval of the pooled "
        "per-query latencies; items/s: batch means over the Offline runs' batches); rows timed with fixed counts (--mlperf) show the "
        "run-to-run coefficient of variation as cv instead. Speed-up is against fp32 on the same "
        "runtime, version and provider, and is never claimed for simulated methods. ★ marks the Pareto front "
        "(accuracy vs p50 latency); in a task scored on fewer than 200 items (too few to rank) accuracy "
        "differences that are not significant count as ties there. Files: [leaderboard.csv](leaderboard.csv), [leaderboard.json](leaderboard.json); "
        "their columns are listed at the end.",
        "",
    ]
    for task, group in df.groupby("task", sort=True):
        first = group.iloc[0]
        n_eval = next((int(v) for v in group["n_eval"] if not fmt.missing(v)), None)
        by_items = scored_by_items(first["metric"])
        few = (
            f" **Too few to rank**: fewer than {MIN_RANKED_ITEMS} items; a one-item difference is {100 / n_eval:.1f} points."
            if n_eval and n_eval < MIN_RANKED_ITEMS and by_items
            else ""
        )
        order = "lowest first" if lower_is_better(first["metric"]) else "highest first"
        lines += [
            f"## {task}",
            "",
            f"Sorted by deployed {first['metric']} ({order})"
            + (f" on {n_eval} evaluation {evaluated_items(first['metric'])}." if n_eval else ".")
            + few,
            "",
        ]
        lines += [table(group), ""]
        lines += [
            f"For a paper: [paper-{task}.md](paper-{task}.md), [paper-{task}.tex](paper-{task}.tex) (LaTeX, booktabs).",
            "",
        ]
        reasons = sorted({" ".join(str(r).split()) for r in group["power_reason"] if not fmt.missing(r)})
        if reasons:
            lines += ["Power not measured: " + "; ".join(reasons) + ".", ""]
        for image in plots.get(task, []):
            lines += [f"![{task}: {image}]({image})", ""]
    lines += landscape or []
    lines += toolkits.markdown_lines(toolkits.rows(df))
    lines += ["## Columns of leaderboard.csv and leaderboard.json", ""]
    lines += [
        "Flat rows, one per record (the newest per configuration), in this order. Fractions are 0–1 "
        "(top1 0.9759 is 97.59 %); a missing number is empty in the CSV and null in the JSON.",
        "",
        *columns_doc(),
        "",
    ]
    return "\n".join(lines)


def _cross_cell(rows) -> str:  # type: ignore[no-untyped-def]
    """The best deployment of one method on one target: lowest p50 among its non-simulated runtimes."""
    ok = rows[rows["status"] == "ok"]
    if ok.empty:
        r = rows.iloc[0]
        return f"{r['status']}" + (f": {fmt.short_reason(r['error'], 40)}" if not fmt.missing(r["error"]) else "")
    timed = ok[~ok["simulated"].astype(bool) & ok["p50_ms"].notna()]
    if timed.empty:
        r = ok.iloc[0]
        return f"{fmt.pct(r['top1'])} % · speed not claimed ({r['runtime']})"
    r = timed.sort_values("p50_ms").iloc[0]
    provider = "" if fmt.missing(r["provider"]) else f" {str(r['provider']).replace('ExecutionProvider', '')}"
    return f"{fmt.pct(r['top1'])} % · {fmt.num(r['p50_ms'], '.4f')} ms · {fmt.speedup(r)} ({r['runtime']}{provider})"


def cross_target(df) -> tuple[str, list[dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """Markdown and flat rows of the same task and method on every target, side by side."""
    targets = sorted(df["target"].unique())
    lines = [
        "# EdgeQ across targets",
        "",
        "Each task's methods on every target: deployed top-1 · p50 latency · speed-up vs fp32 on that "
        "target (runtime and provider). Where a target ran a method on several runtimes, its fastest is shown; "
        "the per-target leaderboards have every row.",
        "",
    ]
    flat: list[dict[str, Any]] = []
    for task, group in df.groupby("task", sort=True):
        lines += [f"## {task}", "", "| method | " + " | ".join(targets) + " |", "|---|" + "---|" * len(targets)]
        lower = any(lower_is_better(m) for m in group["metric"].unique())
        best = group.groupby("label", sort=False)["score"]
        order = (best.min() if lower else best.max()).sort_values(ascending=lower, na_position="last").index
        for label in order:
            rows = group[group["label"] == label]
            cells = []
            row: dict[str, Any] = {"task": task, "label": label, "method": rows["method"].iloc[0]}
            for target in targets:
                here = rows[rows["target"] == target]
                cells.append(_cell(_cross_cell(here)) if len(here) else fmt.DASH)
                best = here[(here["status"] == "ok")].sort_values("p50_ms", na_position="last")
                b = best.iloc[0] if len(best) else None
                row[f"{target}:top1"] = None if b is None or fmt.missing(b["top1"]) else float(b["top1"])
                row[f"{target}:p50_ms"] = (
                    None if b is None or b["simulated"] or fmt.missing(b["p50_ms"]) else float(b["p50_ms"])
                )
                row[f"{target}:speedup"] = None if b is None or fmt.missing(b["speedup"]) else float(b["speedup"])
                row[f"{target}:runtime"] = None if b is None else b["runtime"]
            lines.append(f"| {_cell(label)} | " + " | ".join(cells) + " |")
            flat.append(row)
        lines.append("")
    return "\n".join(lines), flat


def index_readme(  # type: ignore[no-untyped-def]
    df, records: list[dict[str, Any]], title: str, rebuild_from: str | None, landscape: list[str] | None = None
) -> str:
    """The README at the root of a publication: what was measured where, and links to everything;
    ``landscape``: the landscape section over every target (``landscape_lines``)."""
    lines = [f"# {title}", ""]
    for target in sorted(df["target"].unique()):
        recs = [r for r in records if r["target"]["name"] == target]
        sub = df[df["target"] == target]
        ok = int((sub["status"] == "ok").sum())
        lines += [
            f"## {target}",
            "",
            f"- [Leaderboard]({target}/README.md) ([CSV]({target}/leaderboard.csv), [JSON]({target}/leaderboard.json)): "
            f"{len(sub)} result(s), {ok} ok, tasks: {', '.join(sorted(sub['task'].unique()))}.",
        ]
        lines += [f"- Measured on: {m}." for m in machine_lines(recs)]
        lines += [f"- Packages: {_packages(recs) or 'not recorded'}.", ""]
    lines += [
        "## Everything on one page",
        "",
        "- [index.html](index.html): every target in one sortable, filterable table (open the file; no server, no network).",
        "- [cross-target.md](cross-target.md) ([CSV](cross-target.csv)): each method on every target side by side.",
        "",
    ]
    lines += landscape or []
    if rebuild_from:
        lines += [
            "## Rebuild",
            "",
            "The records these tables were built from are under [records/](records/). To rebuild every file here from "
            "them, run in this folder:",
            "",
            "```bash",
            f"edgeq publish --from {rebuild_from}",
            "```",
            "",
        ]
    return "\n".join(lines)
