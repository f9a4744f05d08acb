"""The paired accuracy comparison of a job with its fp32 baseline, on the same evaluated items.

Two methods scored on the same items are compared item by item, not by their top-1 alone: a one-image
difference on 20 images reads as 5 points, and only the items on which exactly one of the two is right
carry information about which is better. Every ``ok`` record therefore keeps its per-item top-1
correctness (``accuracy.correct``: a bit per evaluated item, packed and base64-encoded, about 1.4
characters per 8 items, so 50,000 ImageNet images take 8.4 kB of the record); records travel as JSON
through bundles and the fleet, and the bits travel with them. Above ``MAX_ITEMS`` items the bits are
not kept and ``vs_fp32`` says why.

``vs_fp32`` is the exact (binomial) McNemar test on the discordant items: under "both methods are
equally accurate" each of the ``only_fp32 + only_method`` discordant items is equally likely to go
either way. Written by hand (a binomial tail in log space, a dozen lines) because the run side that
scores the items on a board has no scipy; ``suite.measure.stats`` uses the same tail for the
order-statistic interval of a median.

This sits in ``suite/records`` (below ``suite.measure``) because ``suite.records.merge`` also fills
``vs_fp32`` when the baseline was measured on another board.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_ITEMS = 1_000_000  # per-item bits kept in the record up to this many items (~170 kB of base64)
ALPHA = 0.05  # significance level of the paired test
ENCODING = "packbits-base64"
MIN_RANKED_ITEMS = 200  # a task scored on fewer items is flagged "too few to rank" (tables, Pareto stars)


def binom_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), exactly (summed in log space, so any n works)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    log_half_n = -n * math.log(2.0)
    terms = []
    log_c = 0.0  # log C(n, 0)
    for i in range(k + 1):
        if i:
            log_c += math.log(n - i + 1) - math.log(i)
        terms.append(log_c + log_half_n)
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def mcnemar_exact_p(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (1.0 when there are none)."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * binom_half_cdf(min(only_a, only_b), n))


def encode_correct(correct: Sequence[bool] | np.ndarray) -> dict[str, Any] | None:
    """Per-item correctness as ``{encoding, n, bits}``; None above ``MAX_ITEMS`` items."""
    flags = np.asarray(correct, dtype=bool)
    if flags.size > MAX_ITEMS:
        return None
    packed = np.packbits(flags)
    return {
        "encoding": ENCODING,
        "n": int(flags.size),
        "bits": base64.b64encode(packed.tobytes()).decode("ascii"),
    }


def decode_correct(block: Any) -> np.ndarray | None:
    """The boolean vector of an ``accuracy.correct`` block; None if absent or not readable."""
    if not isinstance(block, dict) or block.get("encoding") != ENCODING:
        return None
    try:
        n = int(block["n"])
        raw = np.frombuffer(base64.b64decode(block["bits"], validate=True), dtype=np.uint8)
    except (KeyError, TypeError, ValueError):
        return None
    flags = np.unpackbits(raw)[:n].astype(bool)
    return flags if flags.size == n else None


def labels_sha256(labels: np.ndarray) -> str:
    """A hash of the evaluated labels in order: two records compared item by item must agree on it."""
    return hashlib.sha256(np.ascontiguousarray(np.asarray(labels, dtype=np.int64)).tobytes()).hexdigest()


def vs_baseline(accuracy: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any] | None:
    """``accuracy.vs_fp32`` of a record's accuracy block against its baseline record (None: no baseline).

    The items must be the same ones: same count and the same labels in the same order (the baseline
    rule already matched task file, data identity and eval limit). Otherwise, or when a side carries
    no per-item bits, the block says why instead of giving counts.
    """
    if baseline is None:
        return None
    base_acc = baseline.get("accuracy") or {}
    out: dict[str, Any] = {
        "baseline_job": baseline.get("job_id"),
        "test": "exact McNemar (binomial, two-sided)",
        "alpha": ALPHA,
    }
    mine, theirs = decode_correct(accuracy.get("correct")), decode_correct(base_acc.get("correct"))
    if mine is None or theirs is None:
        side = "this record" if mine is None else "the fp32 record"
        out["error"] = (
            f"{side} keeps no per-item correctness (more than {MAX_ITEMS} items, or written before it was recorded)"
        )
        return out
    if mine.size != theirs.size or accuracy.get("labels_sha256") != base_acc.get("labels_sha256"):
        out["error"] = (
            f"not the same evaluated items ({mine.size} here, {theirs.size} in the fp32 record, or other labels)"
        )
        return out
    only_fp32 = int(np.count_nonzero(theirs & ~mine))
    only_method = int(np.count_nonzero(mine & ~theirs))
    p = mcnemar_exact_p(only_fp32, only_method)
    out.update(
        both_right=int(np.count_nonzero(mine & theirs)),
        both_wrong=int(np.count_nonzero(~mine & ~theirs)),
        only_fp32=only_fp32,
        only_method=only_method,
        mcnemar_p=p,
        significant=bool(p < ALPHA),
    )
    return out
