"""The per-task paper tables `edgeq publish` writes: at most 8 columns, a task kind's own columns instead of
empty ones, no timing for emulated or simulated rows, every footnote mark defined under its table, and
LaTeX that Debian's pdflatex compiles into a page showing every column header."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from suite.publish import paper
from suite.publish.build import build
from suite.publish.fmt import SIZE_HEADER
from tests.support.publish_records import make_record
from tests.support.vocabulary_records import records

TOOLS = ("pdflatex", "pdftoppm", "pdftotext", "kpsewhich")


def _records() -> list[dict[str, Any]]:
    """Every task kind and outcome, plus a row timed under an emulator."""
    emulated = make_record(
        "ptq-static", 0.97, 0.5, runtime="litert", version="2.3.0", provider="xnnpack", params={"per_channel": True}
    )
    emulated["environment"]["emulated"] = "qemu-aarch64"
    return [*records(), emulated]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("published")
    build(_records(), out)
    return out / "bench-a"


def _table(text: str) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, body rows and the lines under a Markdown paper table."""
    lines = text.splitlines()
    rows = [[c.strip() for c in line.strip("|").split(" | ")] for line in lines if line.startswith("| ")]
    after = lines[max(i for i, line in enumerate(lines) if line.startswith("|")) + 1 :]
    return rows[0], rows[1:], [line for line in after if line.strip()]


def test_one_table_per_task_in_both_formats(published: Path) -> None:
    for task in ("digits-cnn", "sst2-encoder", "tiny-lm"):
        assert (published / f"paper-{task}.md").is_file() and (published / f"paper-{task}.tex").is_file()
        assert f"(paper-{task}.tex)" in (published / "README.md").read_text(encoding="utf-8")


def test_classifier_columns_and_timing_rules(published: Path) -> None:
    header, rows, notes = _table((published / "paper-digits-cnn.md").read_text(encoding="utf-8"))
    assert header == ["method", "toolkit", "runtime", "top-1 % (Δ pts)", "p50 ms (speed-up)", SIZE_HEADER]
    by_method = {r[0]: r for r in rows}
    assert by_method["fp32"][4] == "2.00 (1.00×)" and by_method["fp32"][5] == "39.1"
    precise = next(r for m, r in by_method.items() if m.startswith("ptq-static [calibration=minmax"))
    assert precise[3] == "97.50 (+0.50)" and precise[4] == "1.00 (2.00×)"
    emulated = next(r for r in rows if r[2].startswith("litert"))
    assert emulated[4] == "–" and emulated[3] == "97.00 (+0.00)"  # accuracy kept, timing not shown
    binary = next(r for m, r in by_method.items() if m.startswith("binary"))
    assert binary[4] == "–"  # simulated: its speed is not claimed
    assert not any(r[0].startswith("broken") for r in rows)
    assert "1 failed run(s) not shown (see the leaderboard).  " in (published / "paper-digits-cnn.md").read_text()
    used = {m for r in rows for m in re.findall(r"<sup>([a-z]+)</sup>", r[0])}
    defined = {m.group(1) for n in notes if (m := re.match(r"<sup>([a-z])</sup> ", n))}
    assert {c for marks in used for c in marks} == defined and len(defined) >= 4
    assert any("emulat" in n for n in notes) and any("simulated" in n for n in notes)


def test_language_model_gets_its_own_columns(published: Path) -> None:
    header, rows, _ = _table((published / "paper-tiny-lm.md").read_text(encoding="utf-8"))
    assert len(header) <= paper.MAX_COLUMNS
    assert "top-1 % (Δ pts)" not in header
    assert header[3] == "perplexity (Δ)" and "TTFT ms" in header and "tokens/s" in header
    assert rows[0][3] == "31.500 (+1.500)" and rows[0][header.index("tokens/s")] == "312.5"
    cnn_header, _, _ = _table((published / "paper-digits-cnn.md").read_text(encoding="utf-8"))
    assert not {"TTFT ms", "tokens/s", "emb. cosine"} & set(cnn_header)


def test_encoder_shows_significance_and_its_cosine(published: Path) -> None:
    header, rows, notes = _table((published / "paper-sst2-encoder.md").read_text(encoding="utf-8"))
    assert header[4] == "emb. cosine" and rows[0][4] == "0.9930"
    assert rows[0][3] == "91.00 (-6.00 n.s.)" and any(n.startswith("n.s.:") for n in notes)


def test_latex_escapes_what_tex_reads_as_commands() -> None:
    assert paper.tex_escape("per_channel 5% a&b ×2 Δ –") == r"per\_channel 5\% a\&b $\times$2 $\Delta$ --"


def _tools_or_skip() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not missing and subprocess.run(["kpsewhich", "booktabs.sty"], capture_output=True).returncode != 0:
        missing = ["booktabs.sty"]
    if missing:
        why = f"{', '.join(missing)} missing: run `make latex` (as root)"
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(why)
        pytest.skip(why)


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


@pytest.mark.parametrize("task", ["digits-cnn", "sst2-encoder", "tiny-lm"])
def test_latex_compiles_and_shows_every_column(published: Path, task: str, tmp_path: Path) -> None:
    _tools_or_skip()
    tex = published / f"paper-{task}.tex"
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage{booktabs,graphicx}\n"
        f"\\begin{{document}}\n\\input{{{tex.as_posix()}}}\n\\end{{document}}\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Overfull \\hbox" not in run.stdout  # every column fits a plain article's text width
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", "doc.pdf", "page"], cwd=tmp_path, check=True)
    png = tmp_path / "page.png"
    assert png.stat().st_size > 5_000
    evidence = os.environ.get("EDGEQ_EVIDENCE_DIR")
    if evidence:  # keep the rendered page (CI uploads the folder)
        Path(evidence).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(evidence) / f"paper-{task}.png")
    text = _squash(subprocess.run(["pdftotext", "doc.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout)
    header, rows, _ = _table((published / f"paper-{task}.md").read_text(encoding="utf-8"))
    for head in header:
        assert _squash(head) in text, head
    assert _squash(rows[0][0].split("<sup>")[0]) in text
