"""Deployed accuracy: the eval split run through the very session that is timed."""

from __future__ import annotations

from typing import Any

import numpy as np

from suite.runtimes.base import Session


def topk_correct(logits: np.ndarray, labels: np.ndarray, k: int) -> int:
    k = min(k, logits.shape[1])
    top = np.argpartition(-logits, kth=k - 1, axis=1)[:, :k]
    return int((top == labels[:, None]).any(axis=1).sum())


def evaluate(
    session: Session, x: np.ndarray, y: np.ndarray, batch_size: int = 64, num_classes: int | None = None, predict: Any = None
) -> dict[str, Any]:
    """top-1 / top-5 over the whole eval split (top-5 only where the task has more than 5 classes).
    ``predict`` replaces ``session.predict`` (batch -> logits) where one pass also collects more outputs."""
    top1 = top5 = 0
    predict = predict or session.predict
    for start in range(0, len(x), batch_size):
        logits = predict(np.ascontiguousarray(x[start : start + batch_size]))
        labels = y[start : start + batch_size]
        if logits.ndim != 2 or (num_classes and logits.shape[1] != num_classes):
            from suite.errors import JobFailed

            raise JobFailed(f"model output has shape {list(logits.shape)}, expected [batch, {num_classes}] class scores")
        top1 += topk_correct(logits, labels, 1)
        top5 += topk_correct(logits, labels, 5)
    n = len(x)
    has_top5 = logits.shape[1] > 5
    return {"metric": "top1", "top1": top1 / n, "top5": (top5 / n) if has_top5 else None, "n": n}
