"""Logit fidelity of a causal LM against its fp32 reference (``suite.measure.lm_fidelity``, the causal-LM kind):
identical logits give KLD 0 and agreement 1; a known perturbation gives the KL numpy computes by hand on the
coarsened (top-K + tail) distribution, which never exceeds the full KL and equals it when K covers the
vocabulary; the fp32 job writes its reference next to its record and another job is scored against it in the
same perplexity pass; a missing reference is said, never a zero."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from suite.config import load_task
from suite.kinds.base import KindRun
from suite.kinds.causal_lm import CausalLm
from suite.measure import lm_fidelity
from suite.measure.lm_eval import perplexity
from tests.conftest import REPO

VOCAB, WINDOW = 50, 12


class FakeGraph:
    """A KV-cache graph whose prefill returns fixed logits per window (the perplexity loop's interface)."""

    def __init__(self, table: dict[bytes, np.ndarray]) -> None:
        self.table = table

    def prefill(self, run: Any, ids: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        return np.stack([self.table[row.tobytes()] for row in ids]), []


class FakeSession:
    def __init__(self, table: dict[bytes, np.ndarray]) -> None:
        self.graph = FakeGraph(table)

    def lm_graph(self) -> FakeGraph:
        return self.graph

    def run_feeds(self, feeds: Any) -> Any:  # never called by the fake graph
        raise AssertionError


def windows(n: int = 9, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, VOCAB, size=(n, WINDOW)).astype(np.int64)
    first = np.array([1] + [WINDOW // 2] * (n - 1), dtype=np.int64)
    return x, first


def logits_for(x: np.ndarray, seed: int, scale: float = 3.0) -> dict[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {row.tobytes(): (rng.standard_normal((WINDOW, VOCAB)) * scale).astype(np.float32) for row in x}


def perturbed(table: dict[bytes, np.ndarray], sigma: float, seed: int = 7) -> dict[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: (v + rng.standard_normal(v.shape) * sigma).astype(np.float32) for k, v in table.items()}


def reference_of(x: np.ndarray, first: np.ndarray, table: dict[bytes, np.ndarray], k: int) -> lm_fidelity.Reference:
    writer = lm_fidelity.ReferenceWriter(k=k)
    perplexity(FakeSession(table), x, first, vocab=VOCAB, observer=writer)
    return writer.reference("fp32job")


def scored(x: np.ndarray, first: np.ndarray, table: dict[bytes, np.ndarray], ref: lm_fidelity.Reference) -> Any:
    scorer = lm_fidelity.FidelityScorer(ref)
    acc = perplexity(FakeSession(table), x, first, vocab=VOCAB, observer=scorer)
    return acc, scorer.block()


def full_logp(x: np.ndarray, first: np.ndarray, table: dict[bytes, np.ndarray]) -> np.ndarray:
    rows = [lm_fidelity.log_softmax(table[r.tobytes()][f - 1 : WINDOW - 1]) for r, f in zip(x, first)]
    return np.concatenate(rows)


def test_identical_logits_give_zero_kld_full_agreement_and_no_significant_delta() -> None:
    x, first = windows()
    table = logits_for(x, seed=2)
    ref = reference_of(x, first, table, k=8)
    _, block = scored(x, first, table, ref)
    assert block["kld_mean"] == 0.0 and block["kld_p99"] == 0.0 and block["kld_mean_ci"] == [0.0, 0.0]
    assert block["top1_agreement"] == 1.0 and block["delta_p_mean"] == 0.0
    assert block["delta_perplexity"] == 0.0 and block["significant"] is False
    assert block["tokens"] == len(ref.nll) == int(sum(WINDOW - f for f in first))


def test_kld_of_a_known_perturbation_equals_numpy_on_the_coarsened_distribution() -> None:
    x, first = windows()
    table = logits_for(x, seed=3)
    job = perturbed(table, sigma=0.5)
    k = 8
    ref = reference_of(x, first, table, k=k)
    _, block = scored(x, first, job, ref)
    p, q = full_logp(x, first, table), full_logp(x, first, job)
    # by hand: the reference's k most likely tokens and "the rest" as one outcome
    top = np.argsort(-p, axis=1, kind="stable")[:, :k]
    pk, qk = np.take_along_axis(np.exp(p), top, 1), np.take_along_axis(np.exp(q), top, 1)
    pt, qt = 1 - pk.sum(1), 1 - qk.sum(1)
    coarse = (pk * np.log(pk / qk)).sum(1) + pt * np.log(pt / qt)
    full = (np.exp(p) * (p - q)).sum(1)
    assert block["kld_mean"] == pytest.approx(coarse.mean(), rel=1e-9)
    assert block["kld_median"] == pytest.approx(np.median(coarse), rel=1e-9)
    assert block["kld_p99"] == pytest.approx(np.percentile(coarse, 99), rel=1e-9)
    assert np.all(coarse <= full + 1e-12) and block["kld_mean"] < full.mean()
    lo, hi = block["kld_mean_ci"]
    assert 0 < lo < block["kld_mean"] < hi
    agree = (q.argmax(1) == p.argmax(1)).mean()
    assert block["top1_agreement"] == pytest.approx(agree) and 0 < agree < 1
    true = np.concatenate([r[f:] for r, f in zip(x, first)])
    dp = np.exp(q[np.arange(len(q)), true]) - np.exp(p[np.arange(len(p)), true])
    assert block["delta_p_mean"] == pytest.approx(dp.mean(), rel=1e-9)
    # with k covering the vocabulary the stored form is exact
    _, exact = scored(x, first, job, reference_of(x, first, table, k=VOCAB))
    assert exact["kld_mean"] == pytest.approx(full.mean(), rel=1e-9)


def test_delta_perplexity_interval_excludes_zero_for_a_worse_model() -> None:
    x, first = windows(n=30)
    table = logits_for(x, seed=4, scale=1.0)
    sharpened = {k: v * 0.0 for k, v in table.items()}  # uniform: much worse than the reference on its own data
    ref = reference_of(x, first, table, k=8)
    acc, block = scored(x, first, sharpened, ref)
    base = np.exp(ref.nll.mean())
    assert block["delta_perplexity"] == pytest.approx(acc["perplexity"] - base)
    lo, hi = block["delta_perplexity_ci"]
    assert lo <= block["delta_perplexity"] <= hi


def run_of(tmp_path: Path, x: np.ndarray, first: np.ndarray, table: dict, **kw: Any) -> KindRun:
    return KindRun(
        session=FakeSession(table),
        x_eval=x,
        y_eval=first,
        task=load_task(str(REPO / "tasks" / "gpt-tiny-wiki.yaml")).config.model_copy(update={"num_classes": VOCAB}),
        profile=None,  # type: ignore[arg-type]
        quick=True,
        timing_mode="precision",
        side_file=lambda job_id, suffix: tmp_path / f"{job_id}{suffix}",
        **kw,
    )


def test_the_fp32_job_writes_its_reference_and_the_next_job_is_scored_against_it(tmp_path: Path) -> None:
    x, first = windows()
    table = logits_for(x, seed=5)
    base = CausalLm().accuracy(run_of(tmp_path, x, first, table, is_baseline=True, baseline=None, job_id="f32"))
    fid = base["fidelity"]
    assert fid["reference"]["is_reference"] and fid["reference"]["written"] is True and fid["kld_mean"] == 0.0
    assert (tmp_path / "f32.lmref.npz").is_file()
    record = {"job_id": "f32", "accuracy": base}
    job = CausalLm().accuracy(
        run_of(tmp_path, x, first, perturbed(table, 0.3), is_baseline=False, baseline=record, job_id="q4")
    )
    assert job["fidelity"]["kld_mean"] > 0 and job["fidelity"]["reference"]["k"] == min(lm_fidelity.REFERENCE_K, VOCAB)
    assert job["vs_fp32"]["significant"] == job["fidelity"]["significant"]
    assert job["vs_fp32"]["delta_perplexity_ci"] == job["fidelity"]["delta_perplexity_ci"]
    # a reference that is gone is said, with no zero figures
    (tmp_path / "f32.lmref.npz").unlink()
    gone = CausalLm().accuracy(run_of(tmp_path, x, first, table, is_baseline=False, baseline=record, job_id="q4"))
    assert gone["fidelity"]["kld_mean"] is None and "no logit reference" in gone["fidelity"]["reason"]
    assert "error" in gone["vs_fp32"]
    # other windows than the reference's: not comparable, said
    lm_fidelity.ReferenceWriter(k=4).save(tmp_path / "f32.lmref.npz", "f32")  # no window at all
    odd = CausalLm().accuracy(run_of(tmp_path, x, first, table, is_baseline=False, baseline=record, job_id="q4"))
    assert odd["fidelity"]["kld_mean"] is None and "not comparable" in odd["fidelity"]["reason"]


def test_the_bound_tightens_as_k_grows_and_is_exact_at_the_vocabulary() -> None:
    """The stored form's shortfall, measured as tools/lm_reference_bound.py does on a real model."""
    x, first = windows()
    table = logits_for(x, seed=6, scale=1.5)
    job = perturbed(table, sigma=0.3, seed=8)
    full = np.mean(lm_fidelity.kl_full(full_logp(x, first, table), full_logp(x, first, job)))
    means = [scored(x, first, job, reference_of(x, first, table, k=k))[1]["kld_mean"] for k in (2, 8, 24, VOCAB)]
    assert all(a <= b + 1e-15 for a, b in zip(means, means[1:])) and means[0] < 0.9 * full
    assert means[-1] == pytest.approx(full, rel=1e-9)
