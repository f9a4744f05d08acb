"""Which task kind a task's leaderboard rows come from, and so which declared columns its tables show.

Records do not name their kind; their primary metric and the kind-only fields they fill say it. A metric
one kind owns (a language model's) names that kind; a metric several kinds share (top-1: classifiers and text
encoders) falls to the kind whose own declared fields (``suite.records.fields``, a field whose ``kinds`` is
that kind alone, such as the encoder's embedding cosine) the rows fill, else to the sharing kind that has
no fields of its own (the classifier). Every table takes a column when the field it shows is declared for
that kind, so a CNN's table has no language-model or token columns and a language model's has no top-1.
"""

from __future__ import annotations

from typing import Any

from suite.records.fields import ALL_KINDS, BY_COLUMN, COLUMN_FIELDS, Field, kind_of_metric


def own_fields(kind: str) -> list[Field]:
    """The leaderboard columns only ``kind`` fills."""
    return [f for f in COLUMN_FIELDS if f.kinds == (kind,)]


def task_kind(group: Any) -> str:
    """The kind of the task whose rows (a pandas frame with the leaderboard columns) are ``group``."""
    metrics = [str(m) for m in group["metric"].dropna().unique()]
    for metric in metrics:
        kind = kind_of_metric(metric)
        if kind:
            return kind
    sharing = next((BY_COLUMN[m].kinds for m in metrics if m in BY_COLUMN), ALL_KINDS)
    for kind in sharing:
        if any(f.column in group and group[f.column].notna().any() for f in own_fields(kind)):
            return kind
    return next((kind for kind in sharing if not own_fields(kind)), sharing[0])


def declared_for(column: str | None, kind: str) -> bool:
    """Whether the leaderboard column ``column`` is declared for ``kind`` (None: a column of every kind)."""
    return column is None or kind in BY_COLUMN[column].kinds
