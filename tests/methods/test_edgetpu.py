"""The Coral compiler step: its report parsed from output in the compiler's own format (captured logs
under tests/support/data/edgetpu), and a skipped job with the install hint where ``edgetpu_compiler`` is not installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.errors import NotAvailableHere
from suite.methods.edgetpu_compiler import INSTALL_HINT, compile_for_edgetpu, parse_compiler_log

DATA = Path(__file__).parents[1] / "support" / "data" / "edgetpu"


def test_partly_mapped_model() -> None:
    report = parse_compiler_log((DATA / "partial_stdout.txt").read_text())
    assert report["compiler_version"] == "16.0.384591198"
    assert (report["ops_total"], report["ops_on_edgetpu"], report["ops_on_cpu"]) == (36, 2, 34)
    assert report["mapped_fraction"] == pytest.approx(2 / 36)
    assert report["on_chip_bytes"] == 3 * 1024 and report["off_chip_bytes"] == 0
    reasons = {o["status"] for o in report["not_mapped"]}
    assert "Operation not supported" in reasons and "More than one subgraph is not supported" in reasons
    assert sum(o["count"] for o in report["not_mapped"]) == 34


def test_fully_mapped_model_prints_no_per_device_counts() -> None:
    text = (DATA / "full_stdout.txt").read_text() + (DATA / "full_edgetpu.log").read_text()
    report = parse_compiler_log(text)
    assert (report["ops_total"], report["ops_on_edgetpu"], report["ops_on_cpu"]) == (8, 8, 0)
    assert report["mapped_fraction"] == 1.0 and report["not_mapped"] == []
    log_only = parse_compiler_log((DATA / "full_edgetpu.log").read_text())
    assert log_only["ops_on_edgetpu"] == 8 and log_only["mapped_fraction"] == 1.0


def test_missing_compiler_skips_the_job_with_the_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(NotAvailableHere) as info:
        compile_for_edgetpu(tmp_path / "model.tflite", tmp_path / "out")
    assert str(info.value) == INSTALL_HINT and "x86-64" in str(info.value)
