"""A metric has one home: its declaration (``suite/records/fields.py``), the record schema's model and the
code that measures it. The tables, MLflow and the sweep's summary ask the declarations, so a kind's metric
names never appear in ``suite/publish``, ``suite/sweep`` or ``suite/tracking``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO

SUITE = REPO / "suite"


def files_naming(word: str, under: Path = SUITE) -> list[str]:
    return sorted(str(p.relative_to(REPO)) for p in under.rglob("*.py") if word in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["tokens_per_s", "ttft_ms", "tpot_ms", "peak_rss_mb", "embedding_cosine"])
def test_a_metric_name_lives_in_at_most_three_files(name: str) -> None:
    found = files_naming(name)
    assert "suite/records/fields.py" in found and len(found) <= 3, found


def test_the_language_model_metric_stays_out_of_the_tables_mlflow_and_the_sweep() -> None:
    for package in ("publish", "sweep", "tracking"):
        assert files_naming("perplexity", SUITE / package) == []
