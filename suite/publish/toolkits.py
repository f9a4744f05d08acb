"""The cross-toolkit view: per target and task, the best int8 deployment of each quantization toolkit
(ONNX Runtime's tools, NNCF, AIMET, Brevitas, torch.ao, TFLite, ExecuTorch...) on each runtime, side by side.

Toolkit and runtime are separate columns on purpose: the same QDQ file from NNCF runs on ONNX Runtime and
on OpenVINO, and a toolkit's gain must not be confused with a runtime's. So a row is one (toolkit,
runtime) pair, its speed-up is against the fp32 row of the *same* runtime (the leaderboard's
``speedup``), and its accuracy delta against that runtime's fp32 (``delta_top1``). Rows are the
best of the pair by deployed score, then p50; "int8" means 8-bit weights and activations, an ``ok``
record and an artifact that is not simulated (a simulated artifact's speed is never claimed, so it
cannot be "the best int8 deployment"); float references and float16/weight-only/dynamic rows are
left to the main leaderboard.

Written three ways from the same rows: a Markdown section of each target's README, ``cross-toolkit.csv``
and ``cross-toolkit.json`` (per target and at the publication's root), and a table of ``index.html``.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from suite.publish import fmt

CROSS_TOOLKIT_SCHEMA = "edgeq.cross-toolkit/1"
#: (column, unit, meaning), the CSV/JSON column order.
COLUMN_DOCS: list[tuple[str, str, str]] = [
    ("target", "str", "hardware profile"),
    ("task", "str", "task (model + dataset)"),
    ("toolkit", "str", "library that quantized (method.toolkit.name)"),
    ("toolkit_version", "str", "its version when the artifact was planned (method.toolkit.version)"),
    ("method", "str", "the toolkit's best int8 method on this runtime (leaderboard label)"),
    ("runtime", "str", "runtime that ran and timed it"),
    ("runtime_version", "str", "version of that runtime's package"),
    ("top1", "fraction", "deployed top-1"),
    ("delta_top1", "fraction", "top1 minus the fp32 top-1 on the same runtime"),
    (
        "delta_significant",
        "bool",
        "the paired McNemar test finds the delta more than chance (tables print n.s. otherwise)",
    ),
    ("p50_ms", "ms", "LoadGen SingleStream p50"),
    ("speedup", "x", "fp32 p50 / p50 on the same runtime, version and provider"),
    ("size_bytes", "bytes", "artifact file size"),
    ("job_id", "str", "record id"),
]
COLUMNS = [name for name, _, _ in COLUMN_DOCS]
NOT_INT8_FAMILIES = {"baseline", "fp16", "weight-only", "dynamic", "hybrid"}


def _clean(value: Any) -> Any:
    if fmt.missing(value):
        return None
    return value.item() if hasattr(value, "item") else value


def rows(df) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The view's rows, ordered by target, task, then best score first."""
    if df.empty or "toolkit" not in df:
        return []
    int8 = df[
        (df["status"] == "ok")
        & ~df["simulated"].astype(bool)
        & (df["w_bits"] == 8)
        & (df["a_bits"] == 8)
        & ~df["family"].isin(NOT_INT8_FAMILIES)
        & df["toolkit"].notna()
    ]
    out: list[dict[str, Any]] = []
    for (target, task), group in int8.groupby(["target", "task"], sort=True):
        best = group.sort_values(["score", "p50_ms"], ascending=[False, True], na_position="last", kind="stable")
        best = best.drop_duplicates(["toolkit", "runtime"], keep="first")
        for _, r in best.iterrows():
            out.append(
                {
                    "target": target,
                    "task": task,
                    "toolkit": r["toolkit"],
                    "toolkit_version": _clean(r["toolkit_version"]),
                    "method": r["label"],
                    "runtime": r["runtime"],
                    "runtime_version": _clean(r["runtime_version"]),
                    "top1": _clean(r["top1"]),
                    "delta_top1": _clean(r["delta_top1"]),
                    "delta_significant": _clean(r.get("delta_significant")),
                    "p50_ms": _clean(r["p50_ms"]),
                    "speedup": _clean(r["speedup"]),
                    "size_bytes": _clean(r["size_bytes"]),
                    "job_id": r["job_id"],
                }
            )
    return out


def markdown_lines(view: list[dict[str, Any]], heading: str = "##") -> list[str]:
    """One table per target and task; nothing when no toolkit has an int8 row."""
    if not view:
        return []
    lines = [
        f"{heading} Across toolkits",
        "",
        "The best int8 deployment of each quantization toolkit on each runtime (8-bit weights and activations, "
        "not simulated): Δ and speed-up against the fp32 row of the same runtime, so a toolkit's gain and a "
        "runtime's are told apart. Also in `cross-toolkit.csv` / `cross-toolkit.json`.",
        "",
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in view:
        groups.setdefault((r["target"], r["task"]), []).append(r)
    for (target, task), group in groups.items():
        lines += [
            f"{heading}# {task} on {target}",
            "",
            "| toolkit | method | runtime | top-1 % | Δ vs fp32 (pts) | p50 ms | speed-up vs fp32 | size KB |",
            "|---|---|---|---:|---:|---:|---:|---:|",
        ]
        for r in group:
            toolkit = f"{r['toolkit']} {r['toolkit_version']}" if r["toolkit_version"] else str(r["toolkit"])
            runtime = f"{r['runtime']} {r['runtime_version']}" if r["runtime_version"] else str(r["runtime"])
            speedup = fmt.DASH if r["speedup"] is None else f"{r['speedup']:.2f}x"
            size = fmt.DASH if r["size_bytes"] is None else f"{r['size_bytes'] / 1000:.1f}"
            cells = [
                toolkit,
                r["method"],
                runtime,
                fmt.pct(r["top1"]),
                fmt.delta(r),
                fmt.num(r["p50_ms"], ".4f"),
                speedup,
                size,
            ]
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return lines


def json_text(view: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "schema": CROSS_TOOLKIT_SCHEMA,
            "columns": [{"name": n, "unit": u, "meaning": m} for n, u, m in COLUMN_DOCS],
            "rows": view,
        },
        indent=1,
        allow_nan=False,
    )


def html_table(view: list[dict[str, Any]]) -> str:
    """The view as a plain table for index.html (no script needed to read it)."""
    if not view:
        return '<p class="meta">No int8 results with a toolkit yet.</p>'
    heads = ["target", "task", "toolkit", "method", "runtime", "top-1 %", "Δ pts", "p50 ms", "speed-up", "size KB"]
    head = "".join(
        f'<th class="{"text" if i < 5 else "num"}" scope="col">{escape(h)}</th>' for i, h in enumerate(heads)
    )
    body = []
    for r in view:
        cells = [
            r["target"],
            r["task"],
            f"{r['toolkit']} {r['toolkit_version'] or ''}".strip(),
            r["method"],
            f"{r['runtime']} {r['runtime_version'] or ''}".strip(),
        ]
        nums = [
            fmt.pct(r["top1"]),
            fmt.delta(r),
            fmt.num(r["p50_ms"], ".4f"),
            fmt.DASH if r["speedup"] is None else f"{r['speedup']:.2f}x",
            fmt.DASH if r["size_bytes"] is None else f"{r['size_bytes'] / 1000:.1f}",
        ]
        body.append(
            "<tr>"
            + "".join(f'<td class="text">{escape(str(c))}</td>' for c in cells)
            + "".join(f"<td>{escape(c)}</td>" for c in nums)
            + "</tr>"
        )
    return f'<div class="scroll"><table id="toolkits"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def write_csv(view: list[dict[str, Any]], path) -> None:  # type: ignore[no-untyped-def]
    import csv

    from suite.files import replacing

    with replacing(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(view)
