"""A causal-LM record's logit fidelity and an artifact's stored bits per weight reach the tables: the declared
columns carry them, the Δ of a perplexity whose paired interval includes 0 reads "n.s." (leaderboard cell,
paper table, end-of-sweep summary), and an artifact whose file stores more than its label is flagged."""

from __future__ import annotations

from typing import Any

from suite.publish import paper
from suite.publish.rows import flatten, frame
from suite.records.fields import BY_COLUMN
from suite.sweep.summary import row_cells
from tests.support.vocabulary_records import lm_record, outcome


def fidelity_record(significant: bool) -> dict[str, Any]:
    r = lm_record()
    ci = [0.4, 2.6] if significant else [-0.2, 3.1]
    r["accuracy"]["fidelity"] = {
        "reference": {"form": "top-k+tail", "k": 256},
        "kld_mean": 0.0123,
        "kld_mean_ci": [0.011, 0.0135],
        "kld_median": 0.008,
        "kld_p99": 0.09,
        "top1_agreement": 0.93,
        "delta_p_mean": -0.004,
        "delta_perplexity": 1.5,
        "delta_perplexity_ci": ci,
        "significant": significant,
    }
    r["accuracy"]["vs_fp32"] = {"delta_perplexity_ci": ci, "significant": significant}
    r["artifact"]["details"] = {"weights": {"bits_per_weight": 5.0, "nominal_bits": 4, "overstated": True}}
    return r


def test_fidelity_and_bits_columns_read_from_the_record() -> None:
    row = flatten(fidelity_record(significant=False))
    assert row["kld_mean"] == 0.0123 and (row["kld_ci_lo"], row["kld_ci_hi"]) == (0.011, 0.0135)
    assert row["top1_agreement"] == 0.93 and row["delta_p_mean"] == -0.004 and row["kld_p99"] == 0.09
    assert (row["delta_ci_lo"], row["delta_ci_hi"]) == (-0.2, 3.1) and row["delta_significant"] is False
    assert row["bits_per_weight"] == 5.0 and row["bits_overstated"] is True and "bits above label" in row["flags"]


def test_a_delta_within_its_interval_reads_not_significant() -> None:
    ns, real = fidelity_record(significant=False), fidelity_record(significant=True)
    delta = BY_COLUMN["delta_perplexity"]
    assert delta.cell(flatten(ns)) == "+1.500 n.s." and delta.cell(flatten(real)) == "+1.500"
    assert row_cells(outcome(ns))["Δ pts"].endswith("n.s.") and not row_cells(outcome(real))["Δ pts"].endswith("n.s.")
    df = frame([ns])
    table = paper.build(df, "tiny-lm", "bench-a")
    (cells,) = table.rows
    accuracy = dict(zip(table.header, (c for c, _ in cells)))
    head = next(h for h in table.header if h.startswith("perplexity (Δ)"))
    assert "KLD" in head and "n.s." in accuracy[head] and "0.0123" in accuracy[head]
    assert any("interval" in text for _, text in table.notes)


def test_the_sweep_summary_of_a_language_model_names_no_top1() -> None:
    """The end-of-sweep table of an LM task heads its metric column "accuracy" (cells say "ppl ..."), not "top-1 %"."""
    import io

    from rich.console import Console

    from suite.sweep.summary import table

    out = io.StringIO()
    table(Console(file=out, width=160), [outcome(lm_record())])
    text = out.getvalue()
    assert "accuracy" in text and "ppl" in text
    assert "top-1 %" not in text and "Δ pts" not in text
