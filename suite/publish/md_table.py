"""The leaderboard table of one task in a per-target README: the columns its kind has, as Markdown.

A column shows one leaderboard field (``source``), and the field's declared kinds (``suite.records.fields``)
decide which task tables have it, as on the HTML page (``suite.publish.task_kind``): a CNN's table has no
language-model or token columns, a language model's no top-1. Columns that would say the same on every row, or
nothing, are left to the text around the table instead: power is a column only in a task where some row
measured it (the README says why not once, under the table), the provider only where the task ran on more
than one, and the date and suite commit are one provenance line (they are in the CSV for every row).

Written with plain string joins: a Markdown table is one line per row, and ``DataFrame.to_markdown`` would
add a ``tabulate`` dependency for no gain in control over the cells.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from suite.publish import fmt
from suite.publish.legend import flags_of
from suite.publish.task_kind import declared_for, task_kind
from suite.records.fields import ALL_KINDS, COLUMN_FIELDS, Field, shown_for


@dataclass(frozen=True)
class Column:
    """A README table column: header, the cell of a row, the field it shows (None: every kind), alignment."""

    header: str
    cell: Callable[[Any], str]
    source: str | None
    right: bool = True


def _declared(field: Field) -> Column:
    return Column(str(field.header), field.cell, field.column)


def _text(name: str) -> Callable[[Any], str]:
    return lambda r: fmt.DASH if fmt.missing(r[name]) else str(r[name])


KIND_FIELDS = [f for kind in ALL_KINDS for f in shown_for(kind)]
MEMORY_FIELDS = [f for f in COLUMN_FIELDS if f.block == "memory" and f.header]
POWER = "power (avg W · mJ/item)"
PROVIDER = "provider"

COLUMNS: list[Column] = [
    Column("method", lambda r: str(r["label"]), "label", False),
    Column("family", _text("family"), "family", False),
    Column("W/A bits", fmt.bits, "w_bits", False),
    Column("runtime", fmt.runtime, "runtime", False),
    Column(PROVIDER, _text("provider"), "provider", False),
    Column("toolkit", fmt.toolkit, "toolkit", False),
    Column("top-1 %", lambda r: fmt.pct(r["top1"]), "top1"),
    Column("top-5 %", lambda r: fmt.pct(r["top5"]), "top5"),
    Column("Δ vs fp32 (pts)", fmt.delta, "delta_top1"),
    *(_declared(f) for f in KIND_FIELDS if f.block == "accuracy"),
    Column("sim→real gap (pts)", lambda r: fmt.pts(r["sim_to_real_gap"]), "sim_to_real_gap"),
    Column(
        "p50 ms",
        lambda r: fmt.with_spread(r["p50_ms"], r["latency_cv"], r["latency_runs"], ".4f", r["p50_ci_pct"]),
        "p50_ms",
    ),
    Column("p90 ms", lambda r: fmt.num(r["p90_ms"], ".4f"), "p90_ms"),
    Column(
        "items/s",
        lambda r: fmt.with_spread(
            r["items_per_s"], r["throughput_cv"], r["throughput_runs"], ",.0f", r["items_per_s_ci_pct"]
        ),
        "items_per_s",
    ),
    Column("speed-up vs fp32", fmt.speedup, "speedup"),
    *(_declared(f) for f in KIND_FIELDS if f.block != "accuracy"),
    Column(POWER, lambda r: fmt.power(r) if r["power_status"] == "measured" else fmt.DASH, "avg_w", False),
    *(_declared(f) for f in MEMORY_FIELDS),
    Column(fmt.SIZE_HEADER, fmt.size, "size_bytes"),
    Column("Pareto", lambda r: "★" if r["pareto"] else "", "pareto", False),
    Column("flags", lambda r: ", ".join(flags_of(r["flags"])), "flags", False),
]

#: The columns a failed row keeps; its error replaces the first measured column, the rest are dashes.
IDENTITY = ("method", "family", "W/A bits", "runtime", PROVIDER, "toolkit")


def columns_for(group: Any) -> list[Column]:
    """The columns of this task's table (``group``: its rows): declared for its kind; power where some row
    measured it; the provider where the rows ran on more than one."""
    kind = task_kind(group)
    measured = bool((group["power_status"] == "measured").any())
    providers = group["provider"].dropna().nunique()
    return [
        c
        for c in COLUMNS
        if declared_for(c.source, kind) and (measured or c.header != POWER) and (providers > 1 or c.header != PROVIDER)
    ]


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def row_cells(rank: int, r: Any, columns: list[Column]) -> list[str]:
    """The cells of one row: the rank, then one per column."""
    if r["status"] == "ok":
        return [str(rank), *(_cell(c.cell(r)) for c in columns)]
    cells, said = [str(rank)], False
    for c in columns:
        if c.header in IDENTITY:
            cells.append(_cell(c.cell(r)))
        elif not said:
            cells.append(_cell(f"**{r['status']}**" + (f": {r['error']}" if not fmt.missing(r["error"]) else "")))
            said = True
        else:
            cells.append(fmt.DASH)
    return cells


def table(group: Any) -> str:
    """The Markdown table of one task's rows (best first, as ``suite.publish.rows.frame`` sorts them)."""
    columns = columns_for(group)
    lines = [
        "| # | " + " | ".join(c.header for c in columns) + " |",
        "|---:|" + "".join("---:|" if c.right else "---|" for c in columns),
    ]
    lines += [
        "| " + " | ".join(row_cells(rank, r, columns)) + " |" for rank, (_, r) in enumerate(group.iterrows(), start=1)
    ]
    return "\n".join(lines)
