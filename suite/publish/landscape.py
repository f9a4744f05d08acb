"""The landscape chart: throughput against power for commercial edge processors (datasheet peaks, log-log,
lines of equal TOPS/W), with every measured record placed at its achieved ops/s and its power.

The datasheet points are labelled without overlap by adjustText (PyPI ``adjustText``, pinned in the
``track`` extra), which moves labels apart and draws a leader line to the point; matplotlib's object API
(no pyplot global state) keeps it safe in any thread, as for the Pareto plots.

Placing the labels and drawing the chart twice (PNG, SVG) is most of what a publication costs, and the
drawing is deterministic (the same processors and points give the same bytes). A publication draws one
chart per target plus one over all, and every target whose records place no point gets the very same
chart, as does every sweep's re-publication of an unchanged target; so the finished files are kept in
memory, keyed by what was drawn, and written again from there (the last few charts only).
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from suite.publish.landscape_data import LANDSCAPE_FILE, MeasuredPoint, Processor, load_landscape, measured_point

#: adjustText's steps: a count, not its default one-second time limit, so the labels land in the same place
#: however loaded the machine is and a rebuilt publication is the same bytes (it stops earlier once no
#: label overlaps another)
ADJUST_STEPS = 200
#: efficiency lines drawn, TOPS per watt
TOPS_PER_W_LINES = (0.01, 0.1, 1.0, 10.0, 100.0)
#: finished charts kept in memory (one a few hundred KiB), the most recently drawn
KEPT_CHARTS = 8
#: the files of a chart, in the order they are written
CHART_FILES = ("landscape.png", "landscape.svg")


@dataclass
class LandscapeResult:
    paths: list[Path]
    processor_labels: list[str] = field(default_factory=list)
    measured_labels: list[str] = field(default_factory=list)
    overlapping_labels: list[tuple[str, str]] = field(default_factory=list)  # pairs whose boxes still overlap


def _best_per_target(points: Sequence[MeasuredPoint]) -> dict[str, MeasuredPoint]:
    best: dict[str, MeasuredPoint] = {}
    for point in points:
        if point.target not in best or point.ops_per_s > best[point.target].ops_per_s:
            best[point.target] = point
    return best


@dataclass(frozen=True)
class _Chart:
    """A drawn chart: each file's bytes, and what the result reports of its labels."""

    files: tuple[bytes, ...]
    processor_labels: tuple[str, ...]
    measured_labels: tuple[str, ...]
    overlapping_labels: tuple[tuple[str, str], ...]


_KEPT: OrderedDict[str, _Chart] = OrderedDict()
_KEPT_LOCK = threading.Lock()


def _chart_key(processors: Sequence[Processor], points: Sequence[MeasuredPoint]) -> str:
    drawn = {"processors": [p.model_dump(mode="json") for p in processors], "points": [asdict(p) for p in points]}
    return hashlib.sha256(json.dumps(drawn, sort_keys=True, default=str).encode()).hexdigest()


def draw_landscape(processors: Sequence[Processor], points: Sequence[MeasuredPoint], out_dir: Path) -> LandscapeResult:
    """Write ``landscape.png`` and ``landscape.svg`` under ``out_dir`` (drawn, or the same chart kept)."""
    key = _chart_key(processors, points)
    with _KEPT_LOCK:
        chart = _KEPT.get(key)
        if chart is not None:
            _KEPT.move_to_end(key)
    if chart is None:
        chart = _draw(processors, points)
        with _KEPT_LOCK:
            _KEPT[key] = chart
            while len(_KEPT) > KEPT_CHARTS:
                _KEPT.popitem(last=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / name for name in CHART_FILES]
    for path, data in zip(paths, chart.files, strict=True):
        path.write_bytes(data)
    return LandscapeResult(
        paths, list(chart.processor_labels), list(chart.measured_labels), list(chart.overlapping_labels)
    )


def _draw(processors: Sequence[Processor], points: Sequence[MeasuredPoint]) -> _Chart:
    """Draw the chart (adjustText places the labels) into PNG and SVG bytes."""
    from adjustText import adjust_text
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")
    tops = [p.dense_ops_per_s / 1e12 for p in processors] + [p.ops_per_s / 1e12 for p in points]
    watts = [p.power_w for p in processors] + [p.power_w for p in points]
    x_lo, x_hi = min(watts) / 2.5, max(watts) * 2.5
    y_lo, y_hi = min(tops) / 4, max(tops) * 4
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    for k in TOPS_PER_W_LINES:
        ax.plot([x_lo, x_hi], [k * x_lo, k * x_hi], color="0.6", linewidth=0.8, linestyle="--", zorder=1)
        x_label = max(x_lo * 1.08, y_lo * 1.3 / k)  # where the line enters the plot, left or bottom edge
        if x_label < x_hi / 1.5 and k * x_label < y_hi:
            ax.annotate(
                f"{k:g} TOPS/W", (x_label, k * x_label), fontsize=7, color="0.45", ha="left", va="bottom", zorder=1
            )
    texts, processor_labels = [], []
    xs = [p.power_w for p in processors]
    ys = [p.dense_ops_per_s / 1e12 for p in processors]
    for proc, x, y in zip(processors, xs, ys, strict=True):
        estimated = proc.power_basis == "estimate"
        marker = "^" if proc.precision == "fp16" else "o"
        ax.scatter(
            [x],
            [y],
            s=42,
            marker=marker,
            zorder=3,
            edgecolors="#1f4e79",
            facecolors="none" if estimated else "#1f77b4",
            linewidths=1.2,
        )
        label = proc.name + (" (sparse/2)" if proc.counts_sparsity else "")
        processor_labels.append(label)
        texts.append(ax.text(x, y, label, fontsize=7.5, zorder=4))
    measured_labels = []
    for point in points:
        ax.scatter(
            [point.power_w],
            [point.ops_per_s / 1e12],
            s=70,
            marker="*",
            zorder=5,
            edgecolors="#b22222",
            facecolors="#e34a33" if point.power_measured else "none",
            linewidths=1.1,
        )
    for target, best in sorted(_best_per_target(points).items()):
        label = f"{target} (measured{'' if best.power_measured else f', no sensor: at profile {best.power_from}'})"
        measured_labels.append(label)
        texts.append(ax.text(best.power_w, best.ops_per_s / 1e12, label, fontsize=7.5, color="#b22222", zorder=6))
    all_x = xs + [p.power_w for p in points]
    all_y = ys + [p.ops_per_s / 1e12 for p in points]
    adjust_text(
        texts,
        x=all_x,
        y=all_y,
        ax=ax,
        expand=(1.15, 1.4),
        iter_lim=ADJUST_STEPS,
        arrowprops={"arrowstyle": "-", "color": "0.5", "linewidth": 0.5},
    )
    ax.set_xlabel("power, W (datasheet or measured)")
    ax.set_ylabel("throughput, TOPS (dense int8 peak; measured: 2 x MACs x items/s)")
    ax.set_title("Edge processors: peak throughput against power, with this suite's measured records")
    ax.grid(True, which="major", alpha=0.25)
    from matplotlib.lines import Line2D

    legend = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="#1f77b4",
            markeredgecolor="#1f4e79",
            label="datasheet peak, datasheet power",
        ),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="none",
            markeredgecolor="#1f4e79",
            label="datasheet peak, estimated power (no vendor figure)",
        ),
        Line2D(
            [],
            [],
            marker="^",
            linestyle="",
            markerfacecolor="#1f77b4",
            markeredgecolor="#1f4e79",
            label="fp16 peak (no int8 path)",
        ),
        Line2D(
            [],
            [],
            marker="*",
            linestyle="",
            markersize=10,
            markerfacecolor="#e34a33",
            markeredgecolor="#b22222",
            label="measured record, measured power",
        ),
        Line2D(
            [],
            [],
            marker="*",
            linestyle="",
            markersize=10,
            markerfacecolor="none",
            markeredgecolor="#b22222",
            label="measured record, no sensor: at the profile's typical (else max) power",
        ),
        Line2D([], [], color="0.6", linestyle="--", label="equal TOPS/W"),
    ]
    fig.legend(handles=legend, fontsize=7.5, loc="outside lower center", ncols=3, frameon=False)
    fig.canvas.draw()
    boxes = [(t.get_text(), t.get_window_extent()) for t in texts]
    overlapping = [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1 :] if box_a.overlaps(box_b)]
    from matplotlib import rc_context

    # SVG labels stay text (searchable, readable by tests); a fixed id salt and no date keep the files the
    # same bytes when a publication is rebuilt from the same records.
    files = []
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "edgeq-landscape"}):
        for name in CHART_FILES:
            kind = name.rsplit(".", 1)[1]
            metadata = {"Software": None} if kind == "png" else {"Creator": None, "Date": None}
            buffer = io.BytesIO()
            fig.savefig(buffer, format=kind, dpi=130, metadata=metadata)
            files.append(buffer.getvalue())
    return _Chart(tuple(files), tuple(processor_labels), tuple(measured_labels), tuple(overlapping))


def profile_peak(target: str) -> dict[str, Any] | None:
    """The peak block a target's profile writes (no derivation: the CPU of the machine that publishes is
    not the one that measured), or None for an unknown target or a profile without one."""
    from suite.config import load_profile_file, target_file
    from suite.errors import BadInput

    try:
        peak = load_profile_file(target_file(target)).config.peak
    except BadInput:
        return None
    return None if peak is None else peak.model_dump(exclude_none=True)


def draw_for_records(
    records: Sequence[dict[str, Any]], out_dir: Path, landscape: Path = LANDSCAPE_FILE
) -> LandscapeResult:
    """The chart of the landscape file with every record that has a MAC count and a power to stand at."""
    peaks: dict[str, dict[str, Any] | None] = {}
    points = []
    for record in records:
        target = str((record.get("target") or {}).get("name") or "")
        if target not in peaks:
            peaks[target] = profile_peak(target) if target else None
        point = measured_point(record, peaks[target])
        if point is not None:
            points.append(point)
    return draw_landscape(load_landscape(landscape), points, out_dir)
