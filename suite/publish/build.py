"""Write a publication: per-target tables and plots, then the pages that cover every target.

Layout under the output root (``<results>/leaderboard/`` or a snapshot ``results/published/NAME/``)::

    README.md            what was measured where, links, how to rebuild
    index.html           every target in one sortable, filterable page
    cross-target.md/.csv each method on every target side by side
    cross-toolkit.md/.csv the best int8 of each toolkit on each runtime, per target and task
    <target>/README.md   one table per task, columns documented at the end
    <target>/leaderboard.csv, leaderboard.json, cross-toolkit.csv, cross-toolkit.json
    <target>/pareto-<task>-latency.png/.svg, pareto-<task>-energy.png/.svg (energy only where measured; the
                         PNG for Markdown and MLflow, the SVG the page links to at full size)
    <target>/paper-<task>.md, paper-<task>.tex  a compact table per task for a paper (Markdown, LaTeX booktabs)
    landscape.png/.svg, <target>/landscape.png/.svg  the landscape chart (suite.publish.landscape) with
                         every target's records, and with one target's
    records/...          (snapshots only) the records all of the above were built from
    snapshot.json        (snapshots only) marks the folder as a snapshot, so a rebuild stays in place

Nothing written depends on when it was written: rebuilding from the same records gives the same files.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from suite.files import replacing, write_text_atomic
from suite.publish import html, markdown, paper, toolkits
from suite.publish.landscape import LandscapeResult, draw_for_records
from suite.publish.pareto import AXES, plot_task
from suite.publish.rows import COLUMN_DOCS, COLUMNS, frame, to_json_rows

LEADERBOARD_SCHEMA = "edgeq.leaderboard/1"


def _write(path: Path, text: str) -> Path:
    """Whole-file replacement: a reader or a second publisher never sees half a page."""
    return write_text_atomic(path, text if text.endswith("\n") else text + "\n")


def _shown(df, records: list[dict[str, Any]]) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The records that are rows of ``df`` (the newest per configuration), for the landscape chart."""
    ids = set(df["job_id"])
    return [r for r in records if r.get("job_id") in ids]


def _landscape_caption(chart: LandscapeResult) -> str:
    placed = "; ".join(chart.measured_labels) or "no record here has a MAC count and a power to stand at"
    return (
        f"Dense int8 peak against power for {len(chart.processor_labels)} commercial edge processors (datasheet), "
        f"log-log, dashed lines of equal TOPS/W; measured records at their achieved Offline ops/s. Placed: {placed}."
    )


def write_target(df, records: list[dict[str, Any]], target: str, out_dir: Path) -> list[Path]:  # type: ignore[no-untyped-def]
    """README.md, leaderboard.csv, leaderboard.json and the Pareto plots of one target."""
    sub = df[df["target"] == target]
    recs = [r for r in records if r["target"]["name"] == target]
    out_dir.mkdir(parents=True, exist_ok=True)
    stale_globs = ("pareto-*.png", "pareto-*.svg", "paper-*.md", "paper-*.tex")
    for stale in [path for pattern in stale_globs for path in out_dir.glob(pattern)]:
        stale.unlink()
    written: list[Path] = []
    plots: dict[str, list[str]] = {}
    for task, group in sub.groupby("task", sort=True):
        for result in plot_task(group, out_dir, target, str(task)):
            plots.setdefault(str(task), []).append(result.path.name)
            written += [result.path, *([result.svg] if result.svg else [])]
    chart = draw_for_records(_shown(sub, recs), out_dir)
    written += chart.paths
    readme = markdown.target_readme(sub, recs, target, plots, markdown.landscape_lines(chart))
    written.insert(0, _write(out_dir / "README.md", readme))
    for task, group in sub.groupby("task", sort=True):
        written += paper.write(group, str(task), target, out_dir)
    csv_path = out_dir / "leaderboard.csv"
    with replacing(csv_path) as tmp:
        sub[COLUMNS].to_csv(tmp, index=False, lineterminator="\n")
    json_path = _write(
        out_dir / "leaderboard.json",
        json.dumps(
            {
                "schema": LEADERBOARD_SCHEMA,
                "target": target,
                "columns": [{"name": n, "unit": u, "meaning": m} for n, u, m in COLUMN_DOCS],
                "rows": to_json_rows(sub),
            },
            indent=1,
            allow_nan=False,
        ),
    )
    view = toolkits.rows(sub)
    toolkits.write_csv(view, out_dir / "cross-toolkit.csv")
    toolkit_json = _write(out_dir / "cross-toolkit.json", toolkits.json_text(view))
    return written[:1] + [csv_path, json_path, out_dir / "cross-toolkit.csv", toolkit_json] + written[1:]


def write_root(df, records: list[dict[str, Any]], out_root: Path, title: str, rebuild_from: str | None) -> list[Path]:  # type: ignore[no-untyped-def]
    """index.html, cross-target.md/.csv and README.md over every target in ``df``."""
    cross_md, cross_rows = markdown.cross_target(df)
    plots: dict[tuple[str, str], list[html.Plot]] = {}
    for (target, task), _ in df.groupby(["target", "task"], sort=True):
        for axis in AXES:
            png, svg = (f"{target}/pareto-{task}-{axis}.{ext}" for ext in ("png", "svg"))
            if (out_root / png).is_file():
                plots.setdefault((str(target), str(task)), []).append((png, svg if (out_root / svg).is_file() else ""))
    n_targets = df["target"].nunique()
    dates = sorted(df["date"].dropna().unique())
    note = (
        f"{len(df)} results on {n_targets} target(s), measured {dates[0] if dates else '?'} to {dates[-1] if dates else '?'}. "
        "Built from the EdgeQ records (schema edgeq.record/1) by edgeq publish."
    )
    view = toolkits.rows(df)
    chart = draw_for_records(_shown(df, records), out_root)
    landscape = (chart.paths[0].name, chart.paths[1].name, _landscape_caption(chart))
    index = html.page(df, plots, cross_rows, title, note, toolkits.html_table(view), landscape)
    written = [
        _write(out_root / "index.html", index),
        *chart.paths,
        _write(out_root / "cross-target.md", cross_md),
        _write(
            out_root / "cross-toolkit.md",
            "\n".join(
                [
                    "# EdgeQ across toolkits",
                    "",
                    *(toolkits.markdown_lines(view) or ["No int8 results with a toolkit yet."]),
                ]
            ),
        ),
    ]
    toolkits.write_csv(view, out_root / "cross-toolkit.csv")
    written.append(out_root / "cross-toolkit.csv")
    cross_csv = out_root / "cross-target.csv"
    fields = list(dict.fromkeys(k for row in cross_rows for k in row))
    with replacing(cross_csv) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(cross_rows)
    written.append(cross_csv)
    readme = markdown.index_readme(df, records, title, rebuild_from, markdown.landscape_lines(chart))
    written.append(_write(out_root / "README.md", readme))
    return written


def build(
    records: list[dict[str, Any]],
    out_root: Path,
    targets: list[str] | None = None,
    title: str = "EdgeQ leaderboards",
    rebuild_from: str | None = None,
) -> list[Path]:
    """Per-target files for ``targets`` (default: all), and the root pages over every record given."""
    df = frame(records)
    if df.empty:
        return []
    names = targets or sorted(df["target"].unique())
    written: list[Path] = []
    for target in names:
        if target in set(df["target"]):
            written += write_target(df, records, target, out_root / target)
    written += write_root(df, records, out_root, title, rebuild_from)
    return written
