"""Deployed accuracy: the eval split run through the very session that is timed.

Besides top-1/top-5 the block carries what the statistics of accuracy need: the Wilson 95% interval
of top-1 (``top1_ci``), the per-item top-1 correctness (``correct``, packed bits) and a hash of the
labels in order (``labels_sha256``), so a quantized job can be compared with its fp32 baseline item by
item (``suite.records.paired``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from suite.measure.stats import wilson_ci
from suite.records.paired import encode_correct, labels_sha256
from suite.runtimes.base import Session


def topk_hits(logits: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Per item: is the label among the k highest scores?"""
    k = min(k, logits.shape[1])
    top = np.argpartition(-logits, kth=k - 1, axis=1)[:, :k]
    hits: np.ndarray = (top == labels[:, None]).any(axis=1)
    return hits


def topk_correct(logits: np.ndarray, labels: np.ndarray, k: int) -> int:
    return int(topk_hits(logits, labels, k).sum())


def evaluate(
    session: Session,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int = 64,
    num_classes: int | None = None,
    predict: Any = None,
) -> dict[str, Any]:
    """top-1 / top-5 over the whole eval split (top-5 only where the task has more than 5 classes),
    with top-1's Wilson interval and the per-item correctness. ``predict`` replaces
    ``session.predict`` (batch -> logits) where one pass also collects more outputs."""
    top1 = top5 = 0
    correct: list[np.ndarray] = []
    predict = predict or session.predict
    for start in range(0, len(x), batch_size):
        logits = predict(np.ascontiguousarray(x[start : start + batch_size]))
        labels = y[start : start + batch_size]
        if logits.ndim != 2 or (num_classes and logits.shape[1] != num_classes):
            from suite.errors import JobFailed

            raise JobFailed(
                f"model output has shape {list(logits.shape)}, expected [batch, {num_classes}] class scores"
            )
        right = topk_hits(logits, labels, 1)
        correct.append(right)
        top1 += int(right.sum())
        top5 += topk_correct(logits, labels, 5)
    n = len(x)
    has_top5 = logits.shape[1] > 5
    ci = wilson_ci(top1, n)
    return {
        "metric": "top1",
        "top1": top1 / n,
        "top5": (top5 / n) if has_top5 else None,
        "n": n,
        "top1_ci": list(ci) if ci else None,
        "correct": encode_correct(np.concatenate(correct) if correct else np.zeros(0, bool)),
        "labels_sha256": labels_sha256(y),
    }
