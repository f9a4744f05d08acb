"""Per-task tables of the HTML page: a task's kind read from its rows, and only the columns whose declared
fields (suite.records.fields) that kind fills; power only where measured; every flag defined once."""

from __future__ import annotations

import re

import pytest

from suite.publish import html
from suite.publish.legend import FLAG_MEANINGS, MARK_MEANINGS, flag_anchor
from suite.publish.rows import frame
from suite.publish.task_kind import own_fields, task_kind
from suite.records.fields import ALL_KINDS, BY_COLUMN, CAUSAL_LM, CLASSIFIER, ENCODER
from tests.support.publish_records import make_record
from tests.support.vocabulary_records import encoder_record, lm_record


def _group(records: list[dict]):  # type: ignore[no-untyped-def]
    return frame(records)


def test_kind_is_read_from_the_rows() -> None:
    assert task_kind(_group([make_record("fp32", 0.98, 1.0), make_record("ptq", 0.97, 0.5)])) == CLASSIFIER
    assert task_kind(_group([encoder_record()])) == ENCODER  # top-1 as a classifier, but its own cosine filled
    assert task_kind(_group([lm_record()])) == CAUSAL_LM
    failed = make_record("broken", None, None, task="tiny-lm", status="failed", error="x")
    assert task_kind(_group([lm_record(), failed])) == CAUSAL_LM  # a failed row's default metric does not decide
    assert own_fields(CLASSIFIER) == [] and {f.column for f in own_fields(ENCODER)} >= {"embedding_cosine"}


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_kind_gets_exactly_the_columns_declared_for_it(kind: str) -> None:
    shown = html.columns_for(kind, with_power=True)
    for column in html.COLUMNS:
        declared = column.source is None or kind in BY_COLUMN[column.source].kinds
        assert (column in shown) == declared, (kind, column.header)
    assert shown[0].header == "method" and "task" not in [c.header for c in shown]
    assert all(c.source in BY_COLUMN for c in html.COLUMNS), "every column shows a declared field"


def test_the_kinds_tables_differ_where_their_fields_do() -> None:
    heads = {kind: [c.header for c in html.columns_for(kind, with_power=True)] for kind in ALL_KINDS}
    lm_only = {"perplexity", "Δ ppl", "TTFT ms", "tokens/s"}
    assert lm_only <= set(heads[CAUSAL_LM])
    assert not lm_only & set(heads[CLASSIFIER]) and not lm_only & set(heads[ENCODER])
    assert {"top-1 %", "Δ pts", "top-5 %", "sim→real pts"}.isdisjoint(heads[CAUSAL_LM])
    assert "emb. cosine" in heads[ENCODER] and "emb. cosine" not in heads[CLASSIFIER]
    assert "power" not in [c.header for c in html.columns_for(CLASSIFIER, with_power=False)]


def test_power_is_a_column_only_where_measured_and_its_reason_is_said_once() -> None:
    reason = "rapl: no RAPL package domain under /sys/class/powercap (a VM)"
    measured = [make_record("fp32", 0.98, 1.0, mj_per_item=0.5, avg_w=2.0), make_record("ptq", 0.97, 0.5)]
    unmeasured = [make_record("fp32", 0.98, 1.0, task="t2"), make_record("ptq", 0.97, 0.5, task="t2")]
    text = html.page(frame(measured + unmeasured), {}, [], "t", "n")

    parts = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<section class="task"[^>]*data-task="([^"]+)".*?</section>', text, re.S)
    }
    assert set(parts) == {"digits-cnn", "t2"}
    assert '<button type="button">power</button>' in parts["digits-cnn"]
    assert (
        "2.00 W" in parts["digits-cnn"] and "Power not measured on 1 of the 2 results that ran" in parts["digits-cnn"]
    )
    assert '<button type="button">power</button>' not in parts["t2"]
    assert parts["t2"].count("rapl: no RAPL package domain") == 1 and "not measured:" not in parts["t2"]
    assert "Power not measured for this task" in parts["t2"] and reason.split(" (")[0] in parts["t2"]


def test_every_flag_a_row_can_carry_is_defined_on_the_page() -> None:
    doc = BY_COLUMN["flags"].doc  # "comma-separated: simulated, unstable, ..." as declared
    declared = [f.strip() for f in doc.split(":", 1)[1].split(",")]
    assert set(declared) == set(FLAG_MEANINGS), "a flag without a meaning, or a meaning of no flag"
    legend = html.legend()
    for flag in FLAG_MEANINGS:
        assert f'<dt id="{flag_anchor(flag)}">{flag}</dt>' in legend
    for mark in MARK_MEANINGS:
        assert f"<dt>{mark}</dt>" in legend
    row = frame([make_record("qat", 0.97, 1.0, quick=True)])
    cells = html.page(row, {}, [], "t", "n")
    assert f'<a class="flag" href="#{flag_anchor("quick")}" title="{FLAG_MEANINGS["quick"]}">quick</a>' in cells


def test_the_target_readme_reads_as_a_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What the target is (its profile's own line), a section and table per task with its kind's columns,
    the legend once defining every flag, and each Pareto plot linked to its SVG."""
    from suite.publish.build import build

    records = [
        make_record("fp32", 0.98, 1.0, target="local-cpu"),
        make_record("ptq-static", 0.97, 0.5, target="local-cpu", quick=True),
        lm_record() | {"target": {"name": "local-cpu", "matched": True, "override": False}},
    ]
    build(records, tmp_path)
    readme = (tmp_path / "local-cpu" / "README.md").read_text(encoding="utf-8")
    assert "**local-cpu**: This machine's CPU through ONNX Runtime" in readme.split("## ", 1)[0]
    assert readme.count("## Legend") == 1
    legend = readme.split("## Legend", 1)[1].split("\n## ", 1)[0]
    for flag in FLAG_MEANINGS:
        assert f"- **{flag}**: {FLAG_MEANINGS[flag]}." in legend
    sections = {s.split("\n", 1)[0]: s for s in readme.split("\n## ")[1:]}
    cnn, lm = sections["digits-cnn"], sections["tiny-lm"]
    cnn_head = next(line for line in cnn.splitlines() if line.startswith("| # |"))
    lm_head = next(line for line in lm.splitlines() if line.startswith("| # |"))
    assert "top-1 %" in cnn_head and "perplexity" not in cnn_head and "tokens/s" not in cnn_head
    assert "perplexity" in lm_head and "tokens/s" in lm_head and "top-1 %" not in lm_head
    assert "power" not in cnn_head and cnn.count("Power not measured: rapl") == 1
    assert "[![digits-cnn: accuracy against p50 latency" in cnn
    assert "(pareto-digits-cnn-latency.png)](pareto-digits-cnn-latency.svg)" in cnn
    assert (tmp_path / "local-cpu" / "pareto-digits-cnn-latency.svg").is_file()
