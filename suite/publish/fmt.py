"""Number formats shared by the Markdown tables and the HTML page, so both read the same.

Missing numbers print as an en dash (an empty cell would read as zero). ``±`` is the half-width of
the 95% confidence interval (precision-driven timing); records without one (``--mlperf``, older
records) show the coefficient of variation across runs as ``cv``, only where there was more than
one run. A Δ whose paired test against fp32 is not significant is marked ``n.s.``.
"""

from __future__ import annotations

from typing import Any

from suite.records.fields import SIZE_UNIT, size_text

DASH = "–"


def missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except (TypeError, ValueError):  # pandas.NA
        return True


def num(value: Any, spec: str) -> str:
    return DASH if missing(value) else format(float(value), spec)


def pct(value: Any, digits: int = 2) -> str:
    """A fraction as percent: 0.9759 -> '97.59'."""
    return DASH if missing(value) else f"{float(value) * 100:.{digits}f}"


def pts(value: Any) -> str:
    """A fraction difference as signed percentage points: -0.0037 -> '-0.37'."""
    return DASH if missing(value) else f"{float(value) * 100:+.2f}"


def with_spread(value: Any, cv: Any, runs: Any, spec: str, ci_pct: Any = None) -> str:
    """'0.0548 ±0.4%' (95% interval half-width) where there is an interval, else '0.0548 cv 1.2%'
    where there were repeats, else the bare number."""
    text = num(value, spec)
    if text == DASH:
        return text
    if not missing(ci_pct):
        return f"{text} ±{float(ci_pct):.1f}%"
    if missing(cv) or missing(runs) or int(runs) < 2:
        return text
    return f"{text} cv {float(cv) * 100:.1f}%"


def delta(row: Any) -> str:
    """Δ vs fp32 in points, with 'n.s.' when the paired test finds the difference not significant."""
    text = pts(row["delta_top1"])
    return f"{text} n.s." if text != DASH and row["delta_significant"] is False else text


def short_reason(reason: Any, limit: int = 60) -> str:
    """The head of a 'why not measured' reason: up to the first ' (' or ';', at most ``limit`` chars."""
    text = "" if missing(reason) else " ".join(str(reason).split())
    for stop in (" (", "; "):
        if stop in text:
            text = text.split(stop, 1)[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def power(row: Any, limit: int = 60) -> str:
    if row["power_status"] == "measured":
        return f"{num(row['avg_w'], '.2f')} W · {num(row['mj_per_item'], '.3f')} mJ/item"
    reason = short_reason(row["power_reason"], limit) or (
        row["power_status"] if not missing(row["power_status"]) else "no sensor"
    )
    return f"not measured: {reason}"


def speedup(row: Any) -> str:
    if row["simulated"]:
        return "not claimed"
    return DASH if missing(row["speedup"]) else f"{float(row['speedup']):.2f}x"


def bits(row: Any) -> str:
    """Nominal weight/activation bits, and the weight bits the file really stores where counted: '4/32 (5.00)'."""
    text = f"{num(row['w_bits'], '.0f')}/{num(row['a_bits'], '.0f')}"
    stored = row.get("bits_per_weight") if hasattr(row, "get") else None
    return text if missing(stored) else f"{text} ({float(stored):.2f})"


#: The header of every size column: the one unit, named (``suite.records.fields.SIZE_UNIT``).
SIZE_HEADER = f"size {SIZE_UNIT}"


def size(row: Any) -> str:
    """The artifact's size in the one unit every table uses (the header, :data:`SIZE_HEADER`, names it)."""
    return size_text(None if missing(row["size_bytes"]) else row["size_bytes"])


def runtime(row: Any) -> str:
    version = "" if missing(row["runtime_version"]) else f" {row['runtime_version']}"
    return f"{row['runtime']}{version}"


def commit(row: Any) -> str:
    if missing(row["commit"]):
        return DASH
    return f"{row['commit'][:7]}{'+dirty' if row['dirty'] is True else ''}"


def toolkit(r: Any) -> str:
    """'nncf 3.4.0', the name alone when no version was recorded, a dash when there is none."""
    if missing(r.get("toolkit")):
        return DASH
    return f"{r['toolkit']} {r['toolkit_version']}" if not missing(r.get("toolkit_version")) else str(r["toolkit"])
