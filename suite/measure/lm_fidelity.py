"""Logit fidelity of a causal LM against its task's fp32 reference, over exactly the tokens the perplexity scores.

What a quantized LM loses is read more finely from its next-token distributions than from perplexity alone
(the measures of llama.cpp's ``llama-perplexity --kl-divergence``): the KL divergence of the job's
distribution from the fp32 one at every scored position, the share of positions whose most likely token is
the reference's (top-1 agreement), and delta-p, ``p_job(true next token) - p_ref(true next token)``.

**The reference.** The fp32 baseline job writes, for each scored token, its ``K`` largest log-probabilities
and their token ids, the log of the probability mass outside them (the tail), its NLL of the true token and
the window boundaries (:class:`ReferenceWriter`), as one ``.npz`` file named by its job id. Full logits
would not do: SmolLM2's 8192 scored tokens x 49152 vocabulary are 1.6 GB of float32. With the top ``K`` and
the tail the KL is computed over the coarsened distribution (the ``K`` tokens plus one "any other token"
outcome); by the log-sum inequality that is never more than the true KL, so the stored form gives a lower
bound. :data:`REFERENCE_K` and the bound's size are measured (``docs/record-schema.md``, the record's
``accuracy.fidelity.reference``).

**Intervals.** Windows overlap in their context and neighbouring tokens share it, so tokens are not
independent draws: every interval here is a seeded percentile bootstrap over *windows* (``BOOTSTRAP``
resamples of the windows with replacement; each statistic is recomputed as a token-weighted ratio of the
resampled windows' sums). The same resamples give the paired interval of ``perplexity - fp32 perplexity``
from the per-window NLL sums of both models on the same tokens: an interval that includes 0 means the
difference from fp32 is not established (``significant: false``, "n.s." in the tables).

Hand-written because no library computes KL from a top-K-plus-tail reference or bootstraps ratios over
windows; numpy only, so it runs on the board that measures.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from suite.records.store import TEMP_SUFFIX

#: Reference log-probs kept per scored token. Measured with tools/lm_reference_bound.py on gpt-tiny-wiki
#: (vocabulary 4096, where the full KL is computable; Xeon VM): against the full-vocabulary KL the top-K + tail
#: KL read low by 42% of the mean at K=64, 32% at 128, 23-25% at 256, 15-17% at 512 (int4 and dynamic int8).
#: That model's perplexity is 372: a flat distribution with most of its mass past any top K, the worst case
#: for this form. The file holds 12 bytes per token and K (gpt-tiny-wiki's 16,383 tokens at K=256: 50.6 MB).
REFERENCE_K = 256
#: The measured shortfall at REFERENCE_K, written into every record's ``fidelity.reference.bound``.
MEASURED_BOUND = {
    "task": "gpt-tiny-wiki",
    "k": 256,
    "methods": ["int4", "dynamic"],
    "mean_kld_read_low_pct": [22.6, 24.6],
    "how": "tools/lm_reference_bound.py: full-vocabulary KL against this form on the same tokens",
}
BOOTSTRAP = 2000  # resamples of the windows for every 95% interval
SEED = 0  # the bootstrap's seed: the same records give the same intervals
FORM = "top-k+tail"
SUFFIX = ".lmref.npz"
FORMAT = "edgeq.lmref/1"


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities in float64 from a runtime's logits ``[positions, vocab]``."""
    out: np.ndarray = logits.astype(np.float64)  # one copy, then in place: a window x vocabulary of float64
    out -= out.max(axis=-1, keepdims=True)
    out -= np.log(np.exp(out).sum(axis=-1, keepdims=True))
    return out


def top_k(logp: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest log-probs of each row and their ids, largest first, ties by the lower id (so the
    first id is ``argmax``'s, the job's top-1 is compared with the same rule)."""
    k = min(k, logp.shape[-1])
    part = np.argpartition(-logp, kth=k - 1, axis=-1)[:, :k]
    vals = np.take_along_axis(logp, part, axis=-1)
    order = np.lexsort((part, -vals), axis=-1)
    ids = np.take_along_axis(part, order, axis=-1)
    return ids.astype(np.int32), np.take_along_axis(vals, order, axis=-1)


#: The smallest tail mass kept (its log is about -690): a tail that rounds to nothing stays finite on both
#: sides, so identical distributions give exactly 0 and a vanishing tail adds nothing.
TINY = 1e-300


def log_rest(top_logp: np.ndarray) -> np.ndarray:
    """log of the probability mass outside the given tokens per row, from their log-probs ``[rows, K]``:
    ``log(1 - sum p_k)`` as ``log(-expm1(logsumexp))``, which keeps its precision when the K tokens hold
    nearly all the mass (and needs no second pass over the vocabulary)."""
    peak = top_logp.max(axis=-1, keepdims=True)
    inside = peak[:, 0] + np.log(np.exp(top_logp - peak).sum(axis=-1))
    out: np.ndarray = np.log(np.maximum(-np.expm1(np.minimum(inside, 0.0)), TINY))
    return out


def scored_sha256(tokens: np.ndarray, bounds: np.ndarray) -> str:
    """A hash of the scored true tokens in order and of the window boundaries: reference and job must agree."""
    digest = hashlib.sha256(np.ascontiguousarray(tokens, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(bounds, dtype=np.int64).tobytes())
    return digest.hexdigest()


@dataclass
class Reference:
    """The fp32 reference of a task's scored tokens (one row per token, windows given by ``bounds``)."""

    top_ids: np.ndarray  # [tokens, K] int32, largest log-prob first
    top_logp: np.ndarray  # [tokens, K] float64
    log_tail: np.ndarray  # [tokens] float64, log of the mass outside the top K
    nll: np.ndarray  # [tokens] float64, the reference's NLL of the true token
    bounds: np.ndarray  # [windows + 1] int64, offsets of each window's first token
    tokens_sha256: str
    k: int
    vocab: int
    job_id: str


@dataclass
class ReferenceWriter:
    """Collects the fp32 job's reference window by window, from the log-probs its perplexity pass has."""

    k: int = REFERENCE_K
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    vocab: int = 0

    def add(self, logp: np.ndarray, true_ids: np.ndarray, nll: np.ndarray) -> None:
        """One window: ``logp`` [scored, vocab] float64, the true next tokens and their NLL."""
        ids, vals = top_k(logp, self.k)
        self.vocab = int(logp.shape[-1])
        self.parts.append((ids, vals, log_rest(vals), nll.astype(np.float64), true_ids.astype(np.int64)))

    def reference(self, job_id: str) -> Reference:
        empty = (
            np.zeros((0, self.k), np.int32),
            np.zeros((0, self.k)),
            np.zeros(0),
            np.zeros(0),
            np.zeros(0, np.int64),
        )
        parts = self.parts or [empty]
        ids, vals, tail, nll, tokens = (np.concatenate([p[i] for p in parts]) for i in range(5))
        bounds = np.concatenate([[0], np.cumsum([len(p[3]) for p in self.parts])]).astype(np.int64)
        k = int(ids.shape[1]) if ids.ndim == 2 else self.k
        return Reference(ids, vals, tail, nll, bounds, scored_sha256(tokens, bounds), k, self.vocab, job_id)

    def save(self, path: Path, job_id: str) -> Reference:
        """Write the reference atomically (a temp file renamed into place: a killed writer leaves no half file)."""
        ref = self.reference(job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        # named like the record store's temp files (writer's pid inside), so a sweep's cleanup of killed
        # writers' leftovers (suite.records.store.clean_stale_temps) leaves a live writer's alone
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=path.parent)
        try:
            mask = os.umask(0)
            os.umask(mask)
            os.fchmod(fd, 0o666 & ~mask)  # readable like the records beside it (mkstemp makes it private)
            with os.fdopen(fd, "wb") as out:
                # uncompressed: zlib took 10-15 s for gpt-tiny-wiki's 16k tokens (Xeon VM, loaded) to halve 50 MB
                np.savez(
                    out,
                    format=np.array(FORMAT),
                    top_ids=ref.top_ids,
                    top_logp=ref.top_logp,
                    log_tail=ref.log_tail,
                    nll=ref.nll,
                    bounds=ref.bounds,
                    tokens_sha256=np.array(ref.tokens_sha256),
                    k=np.array(ref.k),
                    vocab=np.array(ref.vocab),
                    job_id=np.array(job_id),
                )
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return ref


def load_reference(path: Path) -> Reference:
    """Read a reference file; a ValueError names what is wrong with it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != FORMAT:
                raise ValueError(f"{path}: format {str(data['format'])!r}, expected {FORMAT!r}")
            return Reference(
                top_ids=data["top_ids"],
                top_logp=data["top_logp"],
                log_tail=data["log_tail"],
                nll=data["nll"],
                bounds=data["bounds"],
                tokens_sha256=str(data["tokens_sha256"]),
                k=int(data["k"]),
                vocab=int(data["vocab"]),
                job_id=str(data["job_id"]),
            )
    except (OSError, KeyError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable reference ({type(exc).__name__}: {exc})") from exc


def kl_top_k(ref: Reference, rows: slice, logp: np.ndarray) -> np.ndarray:
    """Per-token KL(reference || job) over the coarsened distribution: the reference's top K tokens and the
    rest as one outcome (a lower bound of the full KL). ``logp``: the job's log-probs of those tokens."""
    p_logp = ref.top_logp[rows]
    q_logp = np.take_along_axis(logp, ref.top_ids[rows].astype(np.int64), axis=-1)
    kl = (np.exp(p_logp) * (p_logp - q_logp)).sum(axis=-1)
    p_tail = ref.log_tail[rows]
    kl = kl + np.exp(p_tail) * (p_tail - log_rest(q_logp))
    out: np.ndarray = kl
    return out


def kl_full(p_logp: np.ndarray, q_logp: np.ndarray) -> np.ndarray:
    """Per-row KL(p || q) from full log-prob rows (what the stored form bounds from below)."""
    out: np.ndarray = (np.exp(p_logp) * (p_logp - q_logp)).sum(axis=-1)
    return out


@dataclass
class FidelityScorer:
    """Scores the job's windows against a reference as the perplexity pass goes (no second pass)."""

    ref: Reference
    kl: list[np.ndarray] = field(default_factory=list)
    agree: list[np.ndarray] = field(default_factory=list)
    delta_p: list[np.ndarray] = field(default_factory=list)
    nll: list[np.ndarray] = field(default_factory=list)
    tokens: list[np.ndarray] = field(default_factory=list)
    error: str | None = None  # why the job's windows do not match the reference's (scoring stops there)

    def add(self, logp: np.ndarray, true_ids: np.ndarray, nll: np.ndarray) -> None:
        """The job's next window, in the reference's order. A mismatch stops the scoring and is reported by
        :meth:`block`: the perplexity pass goes on, the job does not fail for its fidelity."""
        if self.error is not None:
            return
        w = len(self.kl)
        if w + 1 >= len(self.ref.bounds):
            self.error = f"this job scored more windows than the reference's {len(self.ref.bounds) - 1}"
            return
        rows = slice(int(self.ref.bounds[w]), int(self.ref.bounds[w + 1]))
        if rows.stop - rows.start != len(nll) or logp.shape[-1] != self.ref.vocab:
            self.error = (
                f"window {w}: {len(nll)} scored tokens over a vocabulary of {logp.shape[-1]}, the reference has "
                f"{rows.stop - rows.start} over {self.ref.vocab}"
            )
            return
        self.kl.append(np.maximum(kl_top_k(self.ref, rows, logp), 0.0))
        self.agree.append(np.argmax(logp, axis=-1) == self.ref.top_ids[rows, 0])
        self.delta_p.append(np.exp(-nll) - np.exp(-self.ref.nll[rows]))
        self.nll.append(nll.astype(np.float64))
        self.tokens.append(true_ids.astype(np.int64))

    def block(self) -> dict[str, Any]:
        """The record's ``accuracy.fidelity`` block (see ``docs/record-schema.md``)."""
        if self.error is not None or not self.kl:
            why = self.error or "no window was scored"
            return unavailable(f"not comparable with the reference of fp32 job {self.ref.job_id}: {why}", self.ref)
        bounds = np.concatenate([[0], np.cumsum([len(x) for x in self.kl])]).astype(np.int64)
        if scored_sha256(np.concatenate(self.tokens), bounds) != self.ref.tokens_sha256:
            return unavailable(
                f"not comparable with the reference of fp32 job {self.ref.job_id}: it scored other tokens or windows",
                self.ref,
            )
        kl, agree, dp = np.concatenate(self.kl), np.concatenate(self.agree), np.concatenate(self.delta_p)
        nll = np.concatenate(self.nll)
        sums = window_sums(bounds, kl=kl, agree=agree.astype(np.float64), dp=dp, nll=nll, ref_nll=self.ref.nll)
        boot = Bootstrap(np.diff(bounds).astype(np.float64))
        ppl, ref_ppl = float(np.exp(nll.mean())), float(np.exp(self.ref.nll.mean()))
        delta_ci = boot.interval(np.exp(boot.ratio(sums["nll"])) - np.exp(boot.ratio(sums["ref_nll"])))
        return {
            "reference": reference_block(self.ref),
            "tokens": int(len(kl)),
            "windows": int(len(bounds) - 1),
            "kld_mean": float(kl.mean()),
            "kld_mean_ci": boot.interval(boot.ratio(sums["kl"])),
            "kld_median": float(np.median(kl)),
            "kld_p99": float(np.percentile(kl, 99)),
            "kld_max": float(kl.max()),
            "top1_agreement": float(agree.mean()),
            "top1_agreement_ci": boot.interval(boot.ratio(sums["agree"])),
            "delta_p_mean": float(dp.mean()),
            "delta_p_mean_ci": boot.interval(boot.ratio(sums["dp"])),
            "delta_perplexity": ppl - ref_ppl,
            "delta_perplexity_ci": delta_ci,
            "significant": bool(delta_ci[0] > 0 or delta_ci[1] < 0),
            "interval": f"95% percentile bootstrap over windows ({BOOTSTRAP} resamples, seed {SEED})",
        }


def window_sums(bounds: np.ndarray, **per_token: np.ndarray) -> dict[str, np.ndarray]:
    """Each per-token array summed within each window."""
    starts = bounds[:-1]
    return {name: np.add.reduceat(values, starts) if len(starts) else values[:0] for name, values in per_token.items()}


class Bootstrap:
    """Percentile intervals of token-weighted ratios, resampling windows (multiplicity matrix ``[B, W]``)."""

    def __init__(self, tokens_per_window: np.ndarray, resamples: int = BOOTSTRAP, seed: int = SEED) -> None:
        w = len(tokens_per_window)
        rng = np.random.default_rng(seed)
        self.m = rng.multinomial(w, np.full(w, 1.0 / w), size=resamples).astype(np.float64)
        self.n = tokens_per_window

    def ratio(self, window_sums: np.ndarray) -> np.ndarray:
        """Per resample: the resampled windows' sum of a per-token figure over their tokens (its mean)."""
        out: np.ndarray = (self.m @ window_sums) / (self.m @ self.n)
        return out

    def interval(self, values: np.ndarray) -> list[float]:
        """The 95% percentile interval of a statistic's resampled values."""
        lo, hi = np.percentile(values, [2.5, 97.5])
        return [float(lo), float(hi)]


def reference_block(ref: Reference) -> dict[str, Any]:
    """What the record says of the reference it was scored against."""
    return {
        "form": FORM,
        "k": ref.k,
        "vocab": ref.vocab,
        "job_id": ref.job_id,
        "kld_is": "a lower bound of the full-vocabulary KL: the reference's top k tokens and their tail as one outcome",
        "bound": MEASURED_BOUND,
    }


def unavailable(reason: str, ref: Reference | None = None) -> dict[str, Any]:
    """A fidelity block that says why it has no figures (never zeros)."""
    block: dict[str, Any] = {"reason": reason, "kld_mean": None, "top1_agreement": None, "delta_p_mean": None}
    if ref is not None:
        block["reference"] = reference_block(ref)
    return block


def self_block(job_id: str, k: int, tokens: int, windows: int) -> dict[str, Any]:
    """The fp32 job's own block: it is the reference, so KLD 0, agreement 1, delta-p 0 by definition."""
    return {
        "reference": {"form": FORM, "k": k, "job_id": job_id, "is_reference": True},
        "tokens": tokens,
        "windows": windows,
        "kld_mean": 0.0,
        "kld_mean_ci": [0.0, 0.0],
        "kld_median": 0.0,
        "kld_p99": 0.0,
        "kld_max": 0.0,
        "top1_agreement": 1.0,
        "top1_agreement_ci": [1.0, 1.0],
        "delta_p_mean": 0.0,
        "delta_p_mean_ci": [0.0, 0.0],
        "delta_perplexity": 0.0,
        "delta_perplexity_ci": [0.0, 0.0],
        "significant": False,
        "interval": "none: this job is the reference",
    }
