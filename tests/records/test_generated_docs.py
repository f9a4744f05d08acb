"""docs/columns.md and the fields table of docs/record-schema.md are generated from the declarations and
committed: they must be what ``python -m suite.records.docs`` writes today, and ``--check`` must notice a
stale copy."""

from __future__ import annotations

import shutil
from pathlib import Path

from suite.records import docs
from suite.records.fields import COLUMN_FIELDS
from tests.conftest import REPO


def test_committed_docs_are_current() -> None:
    assert docs.main(["--check", "--root", str(REPO)]) == 0


def test_check_notices_a_stale_table(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    for name in ("columns.md", "record-schema.md"):
        shutil.copy(REPO / "docs" / name, tmp_path / "docs" / name)
    schema = tmp_path / "docs" / "record-schema.md"
    schema.write_text(schema.read_text(encoding="utf-8").replace("| `target.name` | str |", "| `target.name` | int |"))
    assert docs.main(["--check", "--root", str(tmp_path)]) == 1
    assert docs.main(["--root", str(tmp_path)]) == 0
    assert docs.main(["--check", "--root", str(tmp_path)]) == 0


def test_columns_md_lists_every_column_in_order() -> None:
    text = (REPO / "docs" / "columns.md").read_text(encoding="utf-8")
    positions = [text.index(f"| `{f.column}`") for f in COLUMN_FIELDS]
    assert positions == sorted(positions)
