"""The accuracy / cost Pareto front, and matplotlib plots of it per task and target.

A point is on the front when no other point has a primary metric at least as high *and* a cost (p50
latency, or energy per item) at least as low, with one of the two strictly better. Equal points are
both on the front. The front itself is a few lines of pure Python (no library needed for an O(n^2)
test over a few dozen methods); the plots use matplotlib's object API (no pyplot global state), so
they are safe to draw from any thread and never open a window.

Each plot is written twice: a PNG (the per-target README and MLflow show it) and an SVG with its labels
as text (the HTML page links to it, sharp at any size). Point labels are placed by adjustText (PyPI
``adjustText``, pinned in the ``track`` extra, as for the landscape chart), which pushes labels off each
other and off the points and draws a leader line back; it runs a fixed count of steps, not its default
time limit, so a rebuild from the same records gives the same files on a loaded machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite.records.fields import lower_is_better, scored_by_items

#: adjustText's steps (a count, so the labels land in the same place however loaded the machine is)
ADJUST_STEPS = 300

#: Which plots exist: file suffix -> (cost column, axis label).
AXES: dict[str, tuple[str, str]] = {
    "latency": ("p50_ms", "p50 latency, ms (LoadGen SingleStream, lower is better)"),
    "energy": ("mj_per_item", "energy per item, mJ (measured, lower is better)"),
}


def front_mask(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For (score to maximise, cost to minimise) pairs: True where the point is not dominated."""
    mask = []
    for i, (s_i, c_i) in enumerate(points):
        dominated = any(
            s_j >= s_i and c_j <= c_i and (s_j > s_i or c_j < c_i) for j, (s_j, c_j) in enumerate(points) if j != i
        )
        mask.append(not dominated)
    return mask


@dataclass
class PlotResult:
    """What a plot shows, so a test (or a caption) can say it without reading pixels."""

    path: Path
    axis: str
    front: list[str] = field(default_factory=list)
    dominated: list[str] = field(default_factory=list)
    not_shown: list[str] = field(default_factory=list)
    svg: Path | None = None  # the same plot as SVG, beside the PNG
    overlapping: list[tuple[str, str]] = field(default_factory=list)  # label pairs whose boxes still overlap


def _point_labels(group) -> list[str]:  # type: ignore[no-untyped-def]
    """The method label, plus runtime/provider/version where the group has several of them."""
    parts = [group["label"].astype(str)]
    for col in ("runtime", "provider", "runtime_version"):
        if group[col].nunique(dropna=True) > 1:
            parts.append(group[col].astype(str))
    labels = parts[0]
    for extra in parts[1:]:
        labels = labels + " · " + extra
    return labels.tolist()


def plot_front(group, axis: str, path: Path, title: str) -> PlotResult | None:  # type: ignore[no-untyped-def]
    """Draw one task/target's rows as score vs cost; None when no row has both numbers."""
    from matplotlib.figure import Figure

    cost_col, xlabel = AXES[axis]
    ok = group[group["status"] == "ok"]
    shown = ok[~ok["simulated"].astype(bool) & ok["score"].notna() & ok[cost_col].notna()]
    not_shown = sorted(set(ok[ok["simulated"].astype(bool)]["label"].astype(str)))
    if shown.empty:
        return None
    labels = _point_labels(shown)
    xs = [float(v) for v in shown[cost_col]]
    metric = shown["metric"].iloc[0]
    lower = lower_is_better(metric)  # the front is then drawn on -score
    ys = [float(v) * (1 if lower else 100) for v in shown["score"]]
    column = "pareto" if axis == "latency" else "pareto_energy"
    # The leaderboard's own marks (suite.publish.rows: ties in a task too small to rank) where the rows
    # carry them, so the plot and the table never disagree; else the front of the points as drawn.
    if column in shown and shown[column].any():
        mask = [bool(v) for v in shown[column]]
    else:
        mask = front_mask([(-y if lower else y, x) for y, x in zip(ys, xs)])
    families = sorted(set(shown["family"].fillna("?").astype(str)))
    colours = {f: f"C{i % 10}" for i, f in enumerate(families)}

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(8, 5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if max(xs) / max(min(xs), 1e-12) > 20:
        ax.set_xscale("log")
    fams = shown["family"].fillna("?").astype(str).tolist()
    for family in families:
        labelled = False
        for on_front in (False, True):
            idx = [i for i, fam in enumerate(fams) if fam == family and mask[i] == on_front]
            if idx:
                ax.scatter(
                    [xs[i] for i in idx],
                    [ys[i] for i in idx],
                    s=70 if on_front else 40,
                    color=colours[family],
                    alpha=1.0 if on_front else 0.3,
                    edgecolors="black" if on_front else "none",
                    linewidths=0.8,
                    zorder=3,
                    label=None if labelled else family,
                )
                labelled = True
    front = sorted(((xs[i], ys[i]) for i in range(len(xs)) if mask[i]), key=lambda p: (p[0], p[1] if lower else -p[1]))
    fx, fy = [p[0] for p in front], [p[1] for p in front]
    ax.step(
        fx + [max(xs) * 1.05],
        fy + [fy[-1]],
        where="post",
        color="black",
        linewidth=1.2,
        alpha=0.7,
        zorder=2,
        label="Pareto front",
    )
    _margins(ax, xs, ys, percent=not lower)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(
        f"{metric}, deployed (lower is better)"
        if lower
        else f"{shown['metric'].iloc[0]} %, deployed (higher is better)"
    )
    ax.set_title(title, fontsize=11)
    ax.grid(True, alpha=0.3, which="both")
    legend = ax.legend(fontsize=8, loc="lower right", framealpha=0.85)
    for handle in legend.legend_handles:  # families in full colour, whatever their first point was
        if handle is not None:
            handle.set_alpha(1.0)
    notes = ["Black edge: on the front (no method is both more accurate and cheaper). Faded: dominated."]
    if not_shown:
        notes.append("Not shown (simulated, speed not claimed): " + ", ".join(not_shown) + ".")
    fig.text(0.01, 0.005, "  ".join(notes), fontsize=7, alpha=0.8, va="bottom", wrap=True)
    fig.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))
    overlapping = _annotate(fig, ax, xs, ys, labels, mask)
    svg = path.with_suffix(".svg")
    _save(fig, path, svg)
    return PlotResult(
        path=path,
        axis=axis,
        front=[labels[i] for i in range(len(labels)) if mask[i]],
        dominated=[labels[i] for i in range(len(labels)) if not mask[i]],
        not_shown=not_shown,
        svg=svg,
        overlapping=overlapping,
    )


def _save(fig: Any, png: Path, svg: Path) -> None:
    """The PNG and the SVG, each replaced whole (a page showing the plot never reads half a file). The SVG
    keeps its labels as text (searchable, readable by a test); a fixed id salt and no date make a rebuild
    from the same records the same bytes."""
    from matplotlib import rc_context

    from suite.files import replacing

    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "edgeq-pareto"}):
        for path, metadata in ((png, {"Software": None}), (svg, {"Creator": None, "Date": None})):
            with replacing(path) as tmp:
                fig.savefig(tmp, format=path.suffix[1:], metadata=metadata)


def _margins(ax: Any, xs: list[float], ys: list[float], percent: bool = True) -> None:
    lo, hi = min(ys), max(ys)
    pad = max((hi - lo) * 0.15, 0.5 if percent else abs(hi) * 0.01 or 0.01)
    ax.set_ylim(lo - pad, min(hi + pad, 100.5) if percent and hi <= 100 else hi + pad)
    if ax.get_xscale() == "log":
        ax.set_xlim(min(xs) / 1.5, max(xs) * 1.5)
    else:
        span = max(max(xs) - min(xs), max(xs) * 0.1, 1e-9)
        ax.set_xlim(max(min(xs) - span * 0.15, 0), max(xs) + span * 0.35)


def _annotate(
    fig: Any, ax: Any, xs: list[float], ys: list[float], labels: list[str], mask: list[bool]
) -> list[tuple[str, str]]:
    """Label every point (front labels solid, dominated ones faded), moved apart by adjustText; returns
    the label pairs whose boxes still overlap once it has run (none on the plots the tests draw).

    adjustText pushes overlapping labels apart along the line between them, which is no direction at all
    for the labels of points drawn at the very same place (two methods with equal results): those start
    stacked a line apart, so it has a direction to push them in."""
    from adjustText import adjust_text

    fig.canvas.draw()  # fixes the layout and the transforms before labels are measured
    seen: dict[tuple[float, float], int] = {}
    texts = []
    for x, y, label, on_front in zip(xs, ys, labels, mask, strict=True):
        px, py = ax.transData.transform((x, y))
        nth = seen.get((round(px), round(py)), 0)
        seen[(round(px), round(py))] = nth + 1
        tx, ty = ax.transData.inverted().transform((px, py + nth * 12.0))  # 12 px: a line of 8 pt text
        texts.append(ax.text(tx, ty, label, fontsize=8, alpha=1.0 if on_front else 0.55, zorder=4))
    adjust_text(
        texts,
        x=xs,
        y=ys,
        ax=ax,
        expand=(1.15, 1.5),
        iter_lim=ADJUST_STEPS,
        arrowprops={"arrowstyle": "-", "color": "0.4", "alpha": 0.5, "linewidth": 0.6},
    )
    fig.canvas.draw()
    boxes = [(t.get_text(), t.get_window_extent()) for t in texts]
    return [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1 :] if box_a.overlaps(box_b)]


def plot_task(group, out_dir: Path, target: str, task: str) -> list[PlotResult]:  # type: ignore[no-untyped-def]
    """Every plot of one task on one target: latency always, energy where it was measured."""
    results = []
    for axis in AXES:
        own = next((m for m in group["metric"].unique() if not scored_by_items(m)), None)
        metric = own or "top-1"
        name = f"{metric} vs p50 latency" if axis == "latency" else f"{metric} vs energy per item"
        result = plot_front(group, axis, out_dir / f"pareto-{task}-{axis}.png", f"{task} on {target}: {name}")
        if result is not None:
            results.append(result)
    return results
