"""Markdown: the per-target leaderboard README, the cross-target table and the index of a publication.

A per-target README is a page to read: what the target is and what measured, one section per task with its
table (``suite.publish.md_table``: the columns follow MLPerf's result tables, system, software and its
version, accuracy, the scenario's metric, extended with bits, the delta against fp32, the sim-to-real gap,
speed-up on the same runtime and flags, and only the columns the task's kind has), its provenance, why
power is missing (once) and its Pareto plots; then the legend, once, defining every flag and mark.
Written with plain string joins: a Markdown table is one line per row, and ``DataFrame.to_markdown``
would add a ``tabulate`` dependency for no gain in control over the cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from suite.publish import fmt, toolkits
from suite.publish.legend import FLAG_MEANINGS, MARK_MEANINGS
from suite.publish.md_table import table
from suite.publish.rows import COLUMN_DOCS
from suite.publish.task_kind import task_kind
from suite.records.fields import evaluated_items, lower_is_better, scored_by_items
from suite.records.paired import MIN_RANKED_ITEMS

if TYPE_CHECKING:
    from suite.publish.landscape import LandscapeResult


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def profile_description(target: str) -> str | None:
    """The one line the target's hardware profile says of itself (``description``), or None where there is
    no profile of that name here (records from another checkout) or it says nothing."""
    from suite.config import load_profile_file, target_file
    from suite.errors import BadInput

    try:
        text = load_profile_file(target_file(target)).config.description
    except (BadInput, OSError, ValueError):
        return None
    return " ".join(str(text).split()) or None


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


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return "".join(ch for ch in heading.lower() if ch.isalnum() or ch in " -_").replace(" ", "-")


def legend_lines() -> list[str]:
    """The README's legend: every flag a row can carry and every mark a cell can show, and how it was measured."""
    return [
        "## Legend",
        "",
        "Flags (the `flags` column):",
        "",
        *(f"- **{flag}**: {meaning}." for flag, meaning in FLAG_MEANINGS.items()),
        "",
        "Marks:",
        "",
        *(f"- **{mark}**: {meaning}." for mark, meaning in MARK_MEANINGS.items()),
        "",
        "Accuracy is deployed accuracy, measured through the runtime that is timed; the sim→real gap is the "
        "fake-quant accuracy minus it. Latency: LoadGen SingleStream p50/p90 (for a language model, one whole "
        "generation of the task's new tokens); throughput: LoadGen Offline. Speed-up is against fp32 on the same "
        "runtime, version and provider.",
        "",
    ]


def _provenance(group) -> str:  # type: ignore[no-untyped-def]
    dates = sorted(str(d) for d in group["date"].dropna().unique())
    commits = sorted({fmt.commit(r) for _, r in group.iterrows()} - {fmt.DASH})
    when = (dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}") if dates else "on an unknown date"
    return f"Measured {when}, suite commit {', '.join(commits) or 'unknown'}."


def _plot_lines(task: str, images: list[str]) -> list[str]:
    """Each Pareto plot shown (PNG), linked to its SVG at full size where there is one."""
    lines: list[str] = []
    for image in images:
        axis = "energy per item" if image.endswith("-energy.png") else "p50 latency"
        svg = image[: -len(".png")] + ".svg"
        lines += [f"[![{task}: accuracy against {axis}, the Pareto front drawn]({image})]({svg})", ""]
    if images:
        full = [
            f"[{'energy per item' if i.endswith('-energy.png') else 'p50 latency'}]({i[: -len('.png')]}.svg)"
            for i in images
        ]
        lines += ["Full-size plots (SVG): " + " · ".join(full) + ".", ""]
    return lines


def target_readme(  # type: ignore[no-untyped-def]
    df, records: list[dict[str, Any]], target: str, plots: dict[str, list[str]], landscape: list[str] | None = None
) -> str:
    """The README.md of one target: what the target is, one table per task (best primary metric first),
    the legend once; ``landscape``: the landscape section (``landscape_lines``), before the cross-toolkit view."""
    dates = sorted(d for d in df["date"].dropna().unique())
    commits = sorted({fmt.commit(r) for _, r in df.iterrows()} - {fmt.DASH})
    tasks = [str(t) for t in sorted(df["task"].unique())]
    described = profile_description(target)
    lines = [f"# EdgeQ leaderboard: {target}", ""]
    if described:
        lines += [f"**{target}**: {described} (profile `hardware/{target}.yaml`)", ""]
    lines += [f"Measured on: {m}." for m in machine_lines(records)] or ["Measured on: no environment recorded."]
    lines += [
        "",
        f"{len(df)} result(s) of {len(tasks)} task(s), {dates[0] if dates else '?'} to {dates[-1] if dates else '?'}, "
        f"suite commit(s) {', '.join(commits) or 'unknown'}. Packages: {_packages(records) or 'not recorded'}.",
        "",
        "Tasks: " + " · ".join(f"[{t}](#{_anchor(t)})" for t in tasks) + " · [legend](#legend) (what each flag and "
        "mark means). Every column of every row: [leaderboard.csv](leaderboard.csv), "
        "[leaderboard.json](leaderboard.json) ([their columns](#columns-of-leaderboardcsv-and-leaderboardjson)).",
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
            f"A {task_kind(group)} task. Sorted by deployed {first['metric']} ({order})"
            + (f" on {n_eval} evaluation {evaluated_items(first['metric'])}." if n_eval else ".")
            + few,
            "",
        ]
        lines += [table(group), "", _provenance(group), ""]
        reasons = sorted({" ".join(str(r).split()) for r in group["power_reason"] if not fmt.missing(r)})
        if reasons:
            lines += ["Power not measured: " + "; ".join(reasons) + ".", ""]
        lines += _plot_lines(str(task), plots.get(str(task), []))
        lines += [
            f"For a paper: [paper-{task}.md](paper-{task}.md), [paper-{task}.tex](paper-{task}.tex) (LaTeX, booktabs).",
            "",
        ]
    lines += legend_lines()
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
