"""Per-task tables for a paper: a few columns, as Markdown and as LaTeX (booktabs), pasted as they are.

The leaderboard README carries every column a reader may want to check; a paper needs the decision only:
which method, in which toolkit, on which runtime, how accurate (with its Δ against fp32 and whether the
paired test finds it significant), how fast (p50 with the speed-up on the same runtime) and how large. So
a table has at most 8 columns; a task kind's own columns (the ones ``suite.records.fields`` declares for
it: a language model's metric and token timing, an encoder's cosine) replace top-1 instead of sitting
empty beside it. Flags become footnote marks on the method, each defined under the table.

Timing is shown only where it is the method's: a simulated artifact's speed is the simulator's and a
record timed under emulation is the emulator's, so both show a dash there and a footnote says why.

Both formats are written from the same cells, so they cannot disagree; the LaTeX escaping is hand-written
because it is a dozen characters (pylatexenc's encoder would map every Unicode character, but not the few
symbols here to the math-mode forms booktabs tables use) and a new dependency would be larger than it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite.files import write_text_atomic
from suite.publish import fmt
from suite.publish.legend import FLAG_MEANINGS
from suite.records.fields import (
    BY_COLUMN,
    ENCODER,
    Field,
    kind_of_metric,
    lower_is_better,
    scored_by_items,
    shown_for,
)

#: Flags whose rows show no timing (their latency is not the method's on this target).
UNTIMED_FLAGS = ("simulated", "emulated")
MAX_COLUMNS = 8


@dataclass
class Table:
    """A task's paper table: header, cell rows, right-aligned columns and the notes under it (``(mark, text)``,
    mark empty for a note that no cell points to)."""

    title: str
    header: list[str]
    right: list[bool]
    rows: list[list[tuple[str, str]]] = field(default_factory=list)  # (text, footnote marks)
    notes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Column:
    header: str
    right: bool
    cell: Callable[[Any], str]
    declared: Field | None = None  # a kind's own column: dropped where no row of the task fills it


def _flags(r: Any) -> list[str]:
    return [f for f in str(r["flags"] or "").split(",") if f]


def _untimed(r: Any) -> bool:
    return any(f in UNTIMED_FLAGS for f in _flags(r))


def _p50_speedup(r: Any) -> str:
    if _untimed(r) or fmt.missing(r["p50_ms"]):
        return fmt.DASH
    p50 = f"{float(r['p50_ms']):.3g}" if float(r["p50_ms"]) < 1 else f"{float(r['p50_ms']):,.2f}"
    return p50 if fmt.missing(r["speedup"]) else f"{p50} ({float(r['speedup']):.2f}×)"


def _declared(f: Field) -> Column:
    def cell(r: Any) -> str:
        return fmt.DASH if f.timing and _untimed(r) else f.cell(r)

    return Column(str(f.short or f.header or f.column), True, cell, f)


def _accuracy_column(metric: str, present: set[str] | None = None) -> Column:
    """The accuracy column: the task's metric with its Δ against fp32 (and significance, where tested), and
    the kind's further accuracy figures that the rows have (``present``: their columns with a value)."""
    if scored_by_items(metric):

        def top1(r: Any) -> str:
            d = fmt.delta(r)
            return fmt.pct(r["top1"]) + ("" if d == fmt.DASH else f" ({d})")

        return Column("top-1 % (Δ pts)", True, top1)
    own = BY_COLUMN.get(metric)
    delta = BY_COLUMN.get(f"delta_{metric}")
    beside = [
        f
        for f in _kind_fields(metric)
        if f.block == "accuracy"
        and f.column not in (metric, f"delta_{metric}")
        and (present is None or f.column in present)
    ]

    def score(r: Any) -> str:
        text = own.cell(r) if own else fmt.num(r["score"], ".4g")
        d = delta.cell(r) if delta else fmt.DASH
        text += "" if d == fmt.DASH else f" ({d})"
        return " · ".join([text, *(f.cell(r) for f in beside)])

    header = " · ".join([f"{(own.header if own else None) or metric} (Δ)", *(str(f.short or f.header) for f in beside)])
    return Column(header, True, score)


def _kind_fields(metric: str) -> list[Field]:
    kind = kind_of_metric(metric) or (ENCODER if scored_by_items(metric) else None)
    return shown_for(kind) if kind else []


def columns(metric: str, present: set[str] | None = None) -> list[Column]:
    """The columns of a task scored by ``metric``: at most :data:`MAX_COLUMNS`. Top-1 is shared by
    classifiers and encoders, so such a task may take the encoder's own columns (dropped where empty)."""
    # a kind's further accuracy figures (a causal LM's KLD) sit in the accuracy column, beside its metric
    folded = not scored_by_items(metric)
    own = [
        f
        for f in _kind_fields(metric)
        if f.column not in (metric, f"delta_{metric}")
        and f.block != "memory"
        and not (folded and f.block == "accuracy")
    ]
    cols = [
        Column("method", False, lambda r: str(r["label"])),
        Column("toolkit", False, fmt.toolkit),
        Column("runtime", False, fmt.runtime),
        _accuracy_column(metric, present),
        *(_declared(f) for f in own),
        Column("p50 ms (speed-up)", True, _p50_speedup),
        Column(fmt.SIZE_HEADER, True, fmt.size),
    ]
    return cols if len(cols) <= MAX_COLUMNS else [*cols[: MAX_COLUMNS - 2], *cols[-2:]]


def build(group: Any, task: str, target: str) -> Table:
    """The paper table of one task on one target (``group``: its leaderboard rows, best first)."""
    metric = str(group["metric"].iloc[0])
    ok = group[group["status"] == "ok"]
    cols = [
        c
        for c in columns(metric, {str(c) for c in ok.columns if ok[c].notna().any()})
        if c.declared is None or (c.declared.column in ok and ok[c.declared.column].notna().any())
    ]
    order = "lower" if lower_is_better(metric) else "higher"
    name = "top-1" if scored_by_items(metric) else metric
    table = Table(
        title=f"{task} on {target}: deployed {name} ({order} is better), p50 latency of one query "
        "(LoadGen SingleStream) with the speed-up against fp32 on the same runtime, and artifact size.",
        header=[c.header for c in cols],
        right=[c.right for c in cols],
    )
    marks: dict[str, str] = {}
    for _, r in ok.iterrows():
        own = "".join(sorted(marks.setdefault(f, chr(ord("a") + len(marks))) for f in _flags(r)))
        cells = [(c.cell(r), "") for c in cols]
        cells[0] = (cells[0][0], own)
        table.rows.append(cells)
    table.notes = [(mark, FLAG_MEANINGS.get(flag, f"flagged {flag}") + ".") for flag, mark in marks.items()]
    if scored_by_items(metric) and ok["delta_significant"].eq(False).any():
        table.notes.append(
            ("", "n.s.: the exact McNemar test on the same items finds no significant difference from fp32.")
        )
    elif not scored_by_items(metric) and ok["delta_significant"].eq(False).any():
        table.notes.append(("", "n.s.: the paired 95% interval of the difference from fp32 includes 0."))
    failed = len(group) - len(ok)
    if failed:
        table.notes.append(("", f"{failed} failed run(s) not shown (see the leaderboard)."))
    return table


def _md(text: str, marks: str = "") -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return f"{text}<sup>{marks}</sup>" if marks else text


def markdown(table: Table) -> str:
    """The table as GitHub Markdown; footnote marks as ``<sup>``, defined under it (one line each)."""
    lines = [f"**{table.title}**", ""]
    lines.append("| " + " | ".join(table.header) + " |")
    lines.append("|" + "".join("---:|" if r else "---|" for r in table.right))
    lines += ["| " + " | ".join(_md(text, marks) for text, marks in row) + " |" for row in table.rows]
    if table.notes:
        lines += ["", *(f"{_md('', mark) + ' ' if mark else ''}{text}  " for mark, text in table.notes)]
    return "\n".join(lines) + "\n"


_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "×": r"$\times$",
    "Δ": r"$\Delta$",
    "–": "--",
    "−": "$-$",
    "±": r"$\pm$",
    "→": r"$\rightarrow$",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def tex_escape(text: str) -> str:
    """``text`` as LaTeX source that prints it (specials escaped, the table's symbols in math mode)."""
    return "".join(_TEX.get(ch, ch) for ch in text)


def _tex(text: str, marks: str = "") -> str:
    return tex_escape(text) + (f"\\textsuperscript{{{tex_escape(marks)}}}" if marks else "")


def latex(table: Table, label: str) -> str:
    """The table as a LaTeX ``table`` float with booktabs rules (needs ``\\usepackage{booktabs,graphicx}``),
    scaled down to the text width where it is wider, so it fits a page or a column as it is."""
    spec = "".join("r" if r else "l" for r in table.right)
    lines = [
        "% EdgeQ paper table; needs \\usepackage{booktabs,graphicx}. Written by edgeq publish from the records.",
        "\\begin{table}[htbp]",
        "\\centering",
        "\\small",
        f"\\caption{{{tex_escape(table.title)}}}",
        f"\\label{{tab:{re.sub(r'[^A-Za-z0-9:.-]+', '-', label)}}}",
        # shrunk to the text width only where it is wider (\\width: the tabular's natural width)
        "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%",
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(tex_escape(h) for h in table.header) + " \\\\",
        "\\midrule",
        *(" & ".join(_tex(text, marks) for text, marks in row) + " \\\\" for row in table.rows),
        "\\bottomrule",
        "\\end{tabular}%",
        "}",
    ]
    if table.notes:
        lines += ["", "\\smallskip", "\\footnotesize"]
        lines += [f"{_tex('', mark) + ' ' if mark else ''}{tex_escape(text)}\\par" for mark, text in table.notes]
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def write(group: Any, task: str, target: str, out_dir: Path) -> list[Path]:
    """``paper-<task>.md`` and ``paper-<task>.tex`` of one task under a target's folder."""
    table = build(group, task, target)
    md, tex = out_dir / f"paper-{task}.md", out_dir / f"paper-{task}.tex"
    write_text_atomic(md, markdown(table))  # two publishers never leave a half-written table
    write_text_atomic(tex, latex(table, f"edgeq:{target}:{task}"))
    return [md, tex]
