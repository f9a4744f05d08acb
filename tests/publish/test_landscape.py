"""The landscape chart and its data file: drawn from made-up records, labels present and apart; bad entries
are one line naming file and key."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from suite.errors import BadInput
from suite.publish.landscape import draw_landscape
from suite.publish.landscape_data import LANDSCAPE_FILE, load_landscape, measured_point

PEAK = {
    "int8_ops_per_s": {"value": 4.0e12, "source": "datasheet: X"},
    "typical_w": {"value": 7.5, "source": "datasheet: X"},
}


def _record(target: str, method: str, items_per_s: float, power: dict | None) -> dict:
    return {
        "status": "ok",
        "target": {"name": target},
        "task": {"name": "digits-cnn"},
        "method": {"name": method},
        "compute": {"macs_per_item": 337_536},
        "throughput": {"items_per_s": items_per_s},
        "latency": {"p50_ms": 0.2},
        "runtime": {"inference_precision": "int8"},
        "power": power,
    }


def test_the_shipped_file_has_the_survey_ends_and_fifteen_sourced_processors() -> None:
    processors = load_landscape()
    names = [p.name for p in processors]
    assert len(processors) >= 15 and len(set(names)) == len(names)
    assert any("Wear 4100+" in n for n in names) and any("Tesla FSD" in n for n in names)
    assert all(p.source and p.power_source for p in processors)


def test_measured_points_use_measured_power_or_the_profiles_typical_power() -> None:
    measured = measured_point(
        _record("jetson-orin-nano", "ptq-static", 20_000, {"status": "measured", "avg_w": 9.0}), PEAK
    )
    assert measured.ops_per_s == 2 * 337_536 * 20_000 and measured.power_w == 9.0 and measured.power_measured
    rated = measured_point(_record("rpi5", "fp32", 3000, {"status": "unavailable"}), PEAK)
    assert rated.power_w == 7.5 and not rated.power_measured and rated.power_from == "typical_w"
    assert measured_point({**_record("x", "fp32", 1, None), "status": "failed"}, PEAK) is None
    assert (
        measured_point({**_record("x", "fp32", 1, None), "environment": {"emulated": {"board": "rpi5"}}}, PEAK) is None
    )


def test_chart_renders_png_and_svg_with_every_label_apart(tmp_path: Path) -> None:
    processors = load_landscape()
    records = [
        _record("jetson-orin-nano", "ptq-static", 20_000, {"status": "measured", "avg_w": 9.0}),
        _record("jetson-orin-nano", "fp32", 8_000, {"status": "measured", "avg_w": 8.0}),
        _record("rpi5", "fp32", 3000, {"status": "unavailable"}),
    ]
    points = [p for p in (measured_point(r, PEAK) for r in records) if p]
    result = draw_landscape(processors, points, tmp_path)
    png, svg = result.paths
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    svg_texts = {t.text.strip() for t in ET.parse(svg).iter() if t.tag.endswith("text") and t.text}
    assert "Tesla FSD computer (HW3)" in result.processor_labels and len(result.processor_labels) == len(processors)
    assert result.measured_labels == ["jetson-orin-nano (measured)", "rpi5 (measured, no sensor: at profile typical_w)"]
    assert set(result.processor_labels) | set(result.measured_labels) <= svg_texts
    assert {"1 TOPS/W", "10 TOPS/W"} <= svg_texts
    assert result.overlapping_labels == []


def test_a_kept_chart_is_the_one_its_points_draw(tmp_path: Path) -> None:
    """Charts are kept in memory by what they draw: the same points give the same files again, other
    points never get a kept chart, and a kept chart is the bytes a fresh drawing writes."""
    from suite.publish import landscape

    processors = load_landscape()
    nano = measured_point(_record("jetson-orin-nano", "ptq-static", 20_000, {"status": "measured", "avg_w": 9.0}), PEAK)
    rpi = measured_point(_record("rpi5", "fp32", 3000, {"status": "unavailable"}), PEAK)
    first = draw_landscape(processors, [nano], tmp_path / "a")
    other = draw_landscape(processors, [rpi], tmp_path / "b")
    again = draw_landscape(processors, [nano], tmp_path / "c")
    assert [p.read_bytes() for p in again.paths] == [p.read_bytes() for p in first.paths]
    assert [p.read_bytes() for p in other.paths] != [p.read_bytes() for p in first.paths]
    assert again.measured_labels == first.measured_labels == ["jetson-orin-nano (measured)"]
    assert other.measured_labels == ["rpi5 (measured, no sensor: at profile typical_w)"]
    landscape._KEPT.clear()  # drawn afresh: the same bytes
    fresh = draw_landscape(processors, [nano], tmp_path / "d")
    assert [p.read_bytes() for p in fresh.paths] == [p.read_bytes() for p in first.paths]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"source": ""}, "entries.0.source: got ''"),
        ({"peak_ops_per_s": 0}, "entries.0.peak_ops_per_s: got 0, expected greater than 0"),
        ({"power_w": -1}, "entries.0.power_w: got -1"),
        ({"power_source": None}, "entries.0.power_source"),
    ],
)
def test_a_bad_entry_is_one_line_naming_file_and_key(tmp_path: Path, change: dict, expected: str) -> None:
    data = yaml.safe_load(LANDSCAPE_FILE.read_text())
    data["entries"][0].update(change)
    path = tmp_path / "processors.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BadInput) as info:
        load_landscape(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value) and expected in str(info.value)


def test_records_are_placed_with_their_profiles_typical_or_max_power(tmp_path: Path) -> None:
    from suite.publish.landscape import draw_for_records

    records = [
        _record("coral-usb", "tflite-int8", 900, {"status": "unavailable"}),  # no typical_w: the datasheet's max
        _record("no-such-target", "fp32", 900, {"status": "measured", "avg_w": 3.0}),
        _record("rpi4", "fp32", 900, None),  # no sensor and max_w 15 from the product brief
    ]
    result = draw_for_records(records, tmp_path)
    assert result.measured_labels == [
        "coral-usb (measured, no sensor: at profile max_w)",
        "no-such-target (measured)",
        "rpi4 (measured, no sensor: at profile max_w)",
    ]
