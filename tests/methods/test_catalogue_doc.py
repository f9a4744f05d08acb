"""docs/methods.md's catalogue is generated from the method registry: the committed page is current, it
lists every built-in method and every parameter, and the generator only ever touches its own block."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from suite.methods import PLUGINS, catalogue_doc


def test_the_committed_page_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogue_doc.main(["--check"]) == 0, capsys.readouterr().err


def test_every_builtin_method_and_parameter_is_on_the_page() -> None:
    block = catalogue_doc.render_block()
    rows = {m.group(1) for m in re.finditer(r"^\| `([\w-]+)` \| ", block.split("## Parameters")[0], flags=re.M)}
    assert rows == set(PLUGINS)
    for name, (target, _meta) in PLUGINS.items():
        fields = catalogue_doc._method_class(target).Params.model_fields
        if not fields:
            assert re.search(rf"Without parameters:.*`{re.escape(name)}`", block), name
            continue
        section = block.split(f"### `{name}`\n", 1)[1].split("\n\n", 1)[0]
        assert [m.group(1) for m in re.finditer(r"^\| `(\w+)` \|", section, flags=re.M)] == list(fields), name


def test_types_ranges_and_defaults_read_as_yaml() -> None:
    block = catalogue_doc.render_block()
    assert "| `calibration` | `minmax` \\| `entropy` \\| `percentile` | `minmax` |" in block  # a Literal
    assert "| `calibration_samples` | int or null (≥ 1) | `null` | first N of the calibration split" in block
    assert "| `percentile` | float (> 50, ≤ 100) | `99.999` |" in block
    assert "| `per_channel` | bool | `true` |" in block


def test_check_finds_a_stale_page_and_a_rewrite_keeps_the_prose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "methods.md"
    stale = (
        f"# Methods\n\nhand-written before\n\n{catalogue_doc.START}\n| old | table |\n{catalogue_doc.END}\n\nafter\n"
    )
    page.write_text(stale, encoding="utf-8")
    assert catalogue_doc.main(["--check", str(page)]) == 1
    assert "is not current: run python -m suite.methods.catalogue_doc" in capsys.readouterr().err
    assert page.read_text(encoding="utf-8") == stale  # --check writes nothing
    assert catalogue_doc.main([str(page)]) == 0
    written = page.read_text(encoding="utf-8")
    assert written.startswith("# Methods\n\nhand-written before\n\n") and written.endswith(
        f"{catalogue_doc.END}\n\nafter\n"
    )
    assert "| old | table |" not in written and "| `ptq-static` |" in written
    assert catalogue_doc.main(["--check", str(page)]) == 0


def test_a_page_without_its_markers_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "methods.md"
    page.write_text("# Methods\n\nno markers here\n", encoding="utf-8")
    assert catalogue_doc.main(["--check", str(page)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(page) in err and "markers" in err
    assert catalogue_doc.main([str(tmp_path / "missing.md")]) == 2
