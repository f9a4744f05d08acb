"""The record's vocabulary is declared once (``suite.records.fields``), and everything generated from it
gives what the hand-written tables gave: the leaderboard columns in the same order, the same row values,
the same MLflow params and metrics, the same end-of-sweep cells. The expected values were written by the
code before the declarations existed (``tests/support/data/vocabulary_golden.json``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from suite.publish.rows import COLUMNS, flatten, frame, to_json_rows
from suite.records.fields import SIZE_UNIT
from suite.sweep.summary import row_cells
from suite.tracking.mlflow import metrics_of, params_of
from tests.support.vocabulary_records import outcome, records

GOLDEN = json.loads((Path(__file__).parents[1] / "support" / "data" / "vocabulary_golden.json").read_text())

#: The leaderboard.csv / leaderboard.json columns as they were before the declarations (a contract:
#: columns are added at the end, never renamed, removed or moved).
FROZEN_COLUMNS = GOLDEN["columns"]


def test_frozen_list_is_the_published_contract() -> None:
    assert len(FROZEN_COLUMNS) == 86
    assert FROZEN_COLUMNS[:3] == ["target", "task", "method"] and FROZEN_COLUMNS[-1] == "too_few_to_rank"


def test_columns_keep_their_names_and_order() -> None:
    assert COLUMNS[: len(FROZEN_COLUMNS)] == FROZEN_COLUMNS
    assert len(set(COLUMNS)) == len(COLUMNS)


#: MLflow metrics added after the golden file (metrics are added, never renamed or removed): the decision
#: metrics of the MLflow comparison (issue 21).


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12) or (a != a and b != b)
    return a == b


#: End-of-sweep headers renamed since the golden file: "size KB" was bytes/1024, now named by its unit.
SUMMARY_RENAMED = {"size KB": f"size {SIZE_UNIT}"}

CASES = list(zip(records(), GOLDEN["cases"]))


@pytest.mark.parametrize("record,expected", CASES, ids=[c["job_id"] for c in GOLDEN["cases"]])
def test_row_params_metrics_and_cells_unchanged(record: dict[str, Any], expected: dict[str, Any]) -> None:
    row = flatten(record)
    diff = {k: (row.get(k), v) for k, v in expected["row"].items() if not _same(row.get(k), v)}
    assert not diff
    assert params_of(record) == expected["params"]
    metrics = metrics_of(record)
    assert set(expected["metrics"]) <= set(metrics)  # metrics are added, never renamed or removed
    assert all(_same(metrics[k], v) for k, v in expected["metrics"].items())
    summary = {SUMMARY_RENAMED.get(k, k): v for k, v in expected["summary"].items()}
    if "size KB" in expected["summary"]:  # the golden cell was bytes/1024, which is what KiB names
        assert summary[f"size {SIZE_UNIT}"] == expected["summary"]["size KB"]
    assert row_cells(outcome(record)) == summary


def test_frame_unchanged() -> None:
    got = to_json_rows(frame(records()))
    assert len(got) == len(GOLDEN["frame"])
    for row, want in zip(got, GOLDEN["frame"]):
        diff = {k: (row.get(k), v) for k, v in want.items() if not _same(row.get(k), v)}
        assert not diff, (row["job_id"], diff)
