"""One size unit: the same artifact's size is the same number, in KiB, under a header that names the unit,
in every human-facing file `edgeq publish` writes (per-target README, paper tables in Markdown and LaTeX,
cross-toolkit tables, index.html), in the sweep's summary and in MLflow's ``model/size_kib``."""

from __future__ import annotations

import re
from pathlib import Path

from suite.publish.build import build
from suite.publish.fmt import SIZE_HEADER
from suite.records.fields import SIZE_UNIT, SIZE_UNIT_BYTES, size_text
from suite.sweep.summary import row_cells
from suite.tracking.mlflow import metrics_of
from tests.support.publish_records import make_record
from tests.support.vocabulary_records import outcome

SIZE = 46_587  # 45.5 KiB; 46.6 kB; 0.047 MB: only the first may appear
WANT = "45.5"


def _records() -> list[dict]:
    nncf = {"name": "nncf", "version": "3.4.0"}
    records = [
        make_record("fp32", 0.98, 2.0, size_bytes=SIZE),
        make_record("ptq-static", 0.975, 1.0, size_bytes=SIZE),
    ]
    records[1]["method"]["toolkit"] = nncf  # an int8 with a toolkit: the cross-toolkit tables show it
    return records


def _md_size_cells(text: str) -> list[str]:
    """The cells under every Markdown table header that names a size column."""
    cells: list[str] = []
    header: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        row = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if header is None:
            header = row
        elif not set(line) <= set("|-: "):
            cells += [row[i] for i, h in enumerate(header) if h.startswith("size")]
    return cells


def test_the_one_unit_is_kib() -> None:
    assert (SIZE_UNIT, SIZE_UNIT_BYTES) == ("KiB", 1024) and SIZE_HEADER == "size KiB"
    assert size_text(SIZE) == WANT and size_text(None) == "–"


def test_every_published_file_shows_the_same_size(tmp_path: Path) -> None:
    written = build(_records(), tmp_path)
    human = [p for p in written if p.suffix in (".md", ".html", ".tex")]
    assert {p.name for p in human} >= {"README.md", "paper-digits-cnn.md", "paper-digits-cnn.tex", "index.html"}
    seen = 0
    for path in human:
        text = path.read_text(encoding="utf-8")
        assert "size KB" not in text and "46.6" not in text and "0.047" not in text, path
        if path.suffix == ".md":
            cells = _md_size_cells(text)
            assert all(c == WANT for c in cells), (path, cells)
            seen += len(cells)
        elif path.suffix == ".tex":
            assert "size KiB" in text and re.search(rf"& {re.escape(WANT)} \\\\", text), path
            seen += 1
        elif "size" in text:
            heads = set(re.findall(r">(size [^<]*)<", text))
            assert heads == {SIZE_HEADER}, (path, heads)
            assert f">{WANT}<" in text
            seen += 1
    assert seen >= 8  # target README (2 rows + toolkits), paper tables, cross-toolkit.md, index.html


def test_summary_and_mlflow_use_the_same_unit() -> None:
    record = _records()[0]
    assert row_cells(outcome(record))[SIZE_HEADER] == WANT
    metrics = metrics_of(record)
    assert abs(metrics["model/size_kib"] - SIZE / 1024) < 1e-9
    assert abs(metrics["model/size_mb"] - SIZE / 1e6) < 1e-12  # the contract's name and unit, kept
