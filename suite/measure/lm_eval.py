"""Deployed language-model accuracy: perplexity of the held-out windows, through the session that is timed.

Each window (suite/data/text_lm.py: int64 ids, ``-1`` padding a short last window, ``first`` = its first
scored position) runs as a prompt with an empty KV cache; the logits at position ``t - 1`` score token
``t`` for every ``t >= first``. The log-softmax is taken in float64 from the runtime's logits, the
negative log-likelihoods are summed over every scored token of every window, and
``perplexity = exp(total NLL / scored tokens)``: one exact average over tokens (not a mean of
per-window perplexities). numpy and the runtime only.

The same log-probabilities feed an optional ``observer`` window by window (``suite.measure.lm_fidelity``:
the fp32 job writes its reference from them, every other job scores its KL divergence against it), so
logit fidelity costs no second pass through the model.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from suite.errors import JobFailed
from suite.measure.lm_fidelity import log_softmax

PAD = -1


def lm_interface(session: Any) -> Any:
    """The session's KV-cache graph, or a one-line JobFailed for a runtime that cannot run one."""
    graph = getattr(session, "lm_graph", None)
    if graph is None or not hasattr(session, "run_feeds"):
        raise JobFailed(
            f"runtime {type(session).__name__} cannot run a causal LM with named feeds (needs lm_graph() and run_feeds())"
        )
    return graph()


class WindowObserver(Protocol):
    """Sees each window's scored log-probs ``[scored, vocab]``, its true next tokens and their NLL, in order."""

    def add(self, logp: np.ndarray, true_ids: np.ndarray, nll: np.ndarray) -> None: ...


def scored_logp(logits: np.ndarray, ids: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
    """float64 log-probs of the scored positions of one window (``logits[t - 1]`` for ``t >= first``) and the
    true tokens they score."""
    return log_softmax(logits[first - 1 : len(ids) - 1]), ids[first:]


def token_nll(logits: np.ndarray, ids: np.ndarray, first: int) -> np.ndarray:
    """NLL (nats) of ``ids[t]`` under ``logits[t - 1]`` for ``t >= first`` (one window)."""
    logp, true_ids = scored_logp(logits, ids, first)
    nll: np.ndarray = -logp[np.arange(len(logp)), true_ids]
    return nll


def perplexity(
    session: Any,
    x: np.ndarray,
    first: np.ndarray,
    vocab: int | None = None,
    max_elements: int = 1 << 24,
    observer: WindowObserver | None = None,
) -> dict[str, Any]:
    """Perplexity over every scored token of the windows ``x`` (see the module docstring)."""
    graph = lm_interface(session)
    lengths = (x != PAD).sum(axis=1)
    total, count = 0.0, 0
    i = 0
    while i < len(x):
        length = int(lengths[i])
        # windows of one length run together, as many as keep the logits under max_elements floats
        per = max(1, max_elements // max(1, length * (vocab or 32768)))
        j = i
        while j < len(x) and j - i < per and int(lengths[j]) == length:
            j += 1
        ids = x[i:j, :length]
        logits, _ = graph.prefill(session.run_feeds, ids)
        if logits.ndim != 3 or logits.shape[1] != length or (vocab and logits.shape[2] != vocab):
            raise JobFailed(
                f"model logits have shape {list(logits.shape)}, expected [batch, {length}, {vocab or 'vocab'}]"
            )
        for row in range(j - i):
            logp, true_ids = scored_logp(logits[row], ids[row], int(first[i + row]))
            nll = -logp[np.arange(len(logp)), true_ids]
            if observer is not None:
                observer.add(logp, true_ids, nll)
            total += float(nll.sum())
            count += len(nll)
        i = j
    if count == 0:
        raise JobFailed("no token was scored: the windows are too short")
    mean = total / count
    return {
        "metric": "perplexity",
        "perplexity": math.exp(mean),
        "nll_mean": mean,
        "tokens_scored": count,
        "n": int(len(x)),
        "top1": None,
        "top5": None,
    }
