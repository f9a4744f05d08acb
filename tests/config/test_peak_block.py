"""The hardware profiles' peak blocks: every shipped one loads, and a bad figure is one line naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from suite.config import load_profile_file
from suite.errors import BadInput
from suite.paths import HARDWARE_DIR


def _profiles() -> list[Path]:
    return [p for p in sorted(HARDWARE_DIR.glob("*.yaml")) if "alias_of" not in yaml.safe_load(p.read_text())]


def test_every_datasheet_figure_names_its_source() -> None:
    for path in _profiles():
        peak = load_profile_file(path).config.peak
        assert peak is not None, f"{path.name} has no peak block"
        figures = [f for f in (peak.int8_ops_per_s, peak.fp16_flops, peak.fp32_flops, peak.memory_bw_bytes_per_s) if f]
        assert figures or peak.derived in ("cpu", "gpu"), path.name
        for figure in [*figures, peak.typical_w, peak.max_w]:
            if figure is not None:
                assert figure.source.startswith(("datasheet: ", "derived")), (path.name, figure.source)


def _with_peak(tmp_path: Path, peak: dict) -> Path:
    data = yaml.safe_load((HARDWARE_DIR / "coral-usb.yaml").read_text())
    data["peak"] = peak
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("peak", "expected"),
    [
        ({"int8_ops_per_s": {"value": 4e12}}, "missing required key 'peak.int8_ops_per_s.source'"),
        (
            {"int8_ops_per_s": {"value": 0, "source": "datasheet: X"}},
            "peak.int8_ops_per_s.value: got 0, expected greater than 0",
        ),
        ({"max_w": {"value": -2, "source": "datasheet: X"}, "derived": "cpu"}, "peak.max_w.value: got -2"),
        ({"int8_ops_per_s": {"value": 1e12, "source": ""}}, "peak.int8_ops_per_s.source: got ''"),
        ({"max_w": {"value": 2, "source": "datasheet: X"}}, "a peak block needs at least one of"),
    ],
)
def test_a_bad_peak_is_one_line_naming_file_and_key(tmp_path: Path, peak: dict, expected: str) -> None:
    path = _with_peak(tmp_path, peak)
    with pytest.raises(BadInput) as info:
        load_profile_file(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and expected in message, message
