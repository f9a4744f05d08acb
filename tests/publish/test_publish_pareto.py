"""The Pareto front on records with known numbers: which points are on it, in the CSV, README and plots."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from suite.publish import leaderboard
from suite.publish.pareto import front_mask, plot_task
from suite.publish.rows import frame
from tests.conftest import require
from tests.support.publish_records import make_record, write_records

# (method, top-1, p50 ms, mJ/item or None). Worked out by hand:
#   latency front: fp32 (most accurate), ptq-a and its exact twin ptq-twin, int4 (fastest timed);
#   ptq-b is beaten by ptq-a on both axes, dynamic by fp32 (same accuracy, slower).
#   energy front (measured rows only): fp32, ptq-a; int4 uses more energy than ptq-a and is less accurate.
POINTS = [
    ("fp32", 0.980, 2.0, 5.0),
    ("ptq-a", 0.975, 1.0, 3.0),
    ("ptq-twin", 0.975, 1.0, None),
    ("ptq-b", 0.970, 1.2, None),
    ("int4", 0.960, 0.5, 3.5),
    ("dynamic", 0.980, 2.5, None),
]
LATENCY_FRONT = {"fp32", "ptq-a", "ptq-twin", "int4"}
ENERGY_FRONT = {"fp32", "ptq-a"}


def known_records() -> list[dict]:
    records = [make_record(m, t, p, mj_per_item=e, avg_w=e and e * 2) for m, t, p, e in POINTS]
    # Would be on every front if it counted: simulated (its speed is not claimed) and failed rows do not.
    records.append(make_record("binary", 0.90, 0.1, simulated=True, simulated_top1=0.91, family="binary"))
    records.append(make_record("broken", None, None, status="failed", error="ValueError: no kernel"))
    # Another target's better numbers must not move this target's front.
    records.append(make_record("fp32", 0.999, 0.01, target="bench-b"))
    return records


def test_front_mask_rules() -> None:
    assert front_mask([(0.9, 1.0), (0.9, 2.0)]) == [True, False]  # same score, slower: dominated
    assert front_mask([(0.9, 1.0), (0.95, 1.0)]) == [False, True]  # same cost, less accurate: dominated
    assert front_mask([(0.9, 1.0), (0.9, 1.0)]) == [True, True]  # equal points are both on the front
    assert front_mask([(0.9, 1.0), (0.8, 0.5), (0.7, 0.7)]) == [True, True, False]
    assert front_mask([]) == []


def test_front_in_rows_csv_and_readme(results_dir: Path) -> None:
    store = write_records(results_dir, known_records())
    df = frame(known_records())
    a = df[df["target"] == "bench-a"]
    assert set(a[a["pareto"]]["method"]) == LATENCY_FRONT
    assert set(a[a["pareto_energy"]]["method"]) == ENERGY_FRONT
    assert set(df[(df["target"] == "bench-b") & df["pareto"]]["method"]) == {"fp32"}

    written = leaderboard.publish(store, None, results_dir / "leaderboard")
    board = results_dir / "leaderboard" / "bench-a"
    rows = list(csv.DictReader((board / "leaderboard.csv").open(encoding="utf-8")))
    assert {r["method"] for r in rows if r["pareto"] == "True"} == LATENCY_FRONT
    assert {r["method"] for r in rows if r["pareto_energy"] == "True"} == ENERGY_FRONT
    starred = {
        line.split("|")[2].strip()
        for line in (board / "README.md").read_text(encoding="utf-8").splitlines()
        if "★" in line and line.startswith("| ")
    }
    assert starred == LATENCY_FRONT
    assert board / "pareto-digits-cnn-latency.png" in written
    assert board / "pareto-digits-cnn-energy.png" in written
    # Energy was measured on bench-a only: bench-b has no energy plot.
    assert (results_dir / "leaderboard" / "bench-b" / "pareto-digits-cnn-latency.png").is_file()
    assert not (results_dir / "leaderboard" / "bench-b" / "pareto-digits-cnn-energy.png").exists()


def test_plots_draw_the_front(tmp_path: Path) -> None:
    require("matplotlib")
    from matplotlib.image import imread

    df = frame(known_records())
    group = df[(df["target"] == "bench-a") & (df["task"] == "digits-cnn")]
    results = {r.axis: r for r in plot_task(group, tmp_path, "bench-a", "digits-cnn")}
    assert set(results) == {"latency", "energy"}
    lat, energy = results["latency"], results["energy"]
    assert set(lat.front) == LATENCY_FRONT
    assert set(lat.dominated) == {"ptq-b", "dynamic"}
    assert lat.not_shown == ["binary"]  # simulated: accuracy real, speed not claimed, so not placed on a speed axis
    assert set(energy.front) == ENERGY_FRONT and set(energy.dominated) == {"int4"}
    for result in (lat, energy):
        assert result.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = imread(result.path)
        assert pixels.shape[0] >= 400 and pixels.shape[1] >= 700
        assert pixels[..., :3].std() > 0.05  # something was drawn, not a blank canvas
        svg = result.svg.read_text(encoding="utf-8") if result.svg else ""
        assert svg.startswith("<?xml") and all(f">{label}<" in svg for label in result.front + result.dominated)
        assert result.overlapping == []


def test_crowded_labels_do_not_overlap(tmp_path: Path) -> None:
    """Eight methods within a few hundredths of a millisecond and a point of top-1 of each other: every label
    is placed (adjustText), and no two label boxes overlap."""
    require("matplotlib")
    records = [make_record("fp32", 0.980, 1.00)] + [
        make_record(f"ptq-variant-{i}", 0.975 - 0.001 * i, 0.50 + 0.01 * i) for i in range(7)
    ]
    df = frame(records)
    (result,) = [r for r in plot_task(df, tmp_path, "bench-a", "digits-cnn") if r.axis == "latency"]
    assert len(result.front) + len(result.dominated) == 8
    assert result.overlapping == [], result.overlapping


def test_json_rows_are_strict_and_documented(results_dir: Path) -> None:
    store = write_records(results_dir, known_records())
    leaderboard.publish(store, ["bench-a"], results_dir / "leaderboard")
    data = json.loads((results_dir / "leaderboard" / "bench-a" / "leaderboard.json").read_text(encoding="utf-8"))
    assert data["schema"] == "edgeq.leaderboard/1"
    names = [c["name"] for c in data["columns"]]
    assert names == leaderboard.COLUMNS
    assert all(list(row) == names for row in data["rows"])
    front = {r["method"] for r in data["rows"] if r["pareto"]}
    assert front == LATENCY_FRONT
    # Only the asked-for target gets its folder; the page still covers every target.
    assert not (results_dir / "leaderboard" / "bench-b").exists()
    assert "bench-b" in (results_dir / "leaderboard" / "index.html").read_text(encoding="utf-8")
