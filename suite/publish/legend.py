"""What each flag and mark in a published table means, written once for the HTML page, the per-target
README and the paper tables, so the three define a flag in the same words.

The flags are the ones a leaderboard row's ``flags`` column can hold (``suite.records.fields``, ``View.flags``);
a test checks that every one of them has a meaning here, so a new flag cannot reach a page undefined.
"""

from __future__ import annotations

from suite.records.paired import MIN_RANKED_ITEMS

#: What each flag means, in one sentence.
FLAG_MEANINGS: dict[str, str] = {
    "simulated": "simulated quantization (fake-quant in float): accuracy only, its speed is not the method's",
    "unstable": "timing unstable: run-to-run variation above the hardware profile's threshold",
    "invalid": "LoadGen's minimum duration or query count was not met",
    "quick": "quick timing: fewer, shorter runs than a full measurement",
    "fallback": "the runtime fell back from the requested execution provider",
    "imprecise": "the time bound stopped the timing before its confidence interval reached the profile's goal",
    "too few to rank": f"fewer than {MIN_RANKED_ITEMS} evaluated items: accuracy differences are not ranked",
    "emulated": "timed under emulation: its timing is the emulator's, not shown",
    "bits above label": "the file stores more than 0.25 bits per weight above its nominal bits (tensors kept wider, scales)",
}

#: The marks a leaderboard table (HTML page, per-target README) puts in its cells, and what they mean.
MARK_MEANINGS: dict[str, str] = {
    "★": "on the Pareto front of its target and task: no other method there is both more accurate and faster "
    "(p50 latency); in a task with too few items to rank, accuracy differences that are not significant are ties",
    "n.s.": "the exact McNemar test on the same items finds the accuracy difference from fp32 not significant "
    "(p ≥ 0.05); for a metric over tokens (a language model's), the paired 95% interval of the difference, bootstrapped "
    "over windows, includes 0",
    "W/A (b)": "the method's nominal weight/activation bits; in parentheses the bits per weight the file really "
    "stores (scales, zero points and tensors kept wider included)",
    "±": "half-width of the 95% confidence interval (p50: order-statistic interval of the pooled per-query "
    "latencies; items/s: batch means over the Offline runs' batches)",
    "cv": "run-to-run coefficient of variation, for rows timed with fixed counts (--mlperf)",
    "not claimed": "no speed-up for a simulated artifact: its speed is not the method's",
    "–": "no value: not measured, or not meaningful for this row",
}


def flags_of(text: object) -> list[str]:
    """The flags of a row's ``flags`` cell (comma-separated), in their order."""
    return [f for f in str(text or "").split(",") if f] if isinstance(text, str) else []


def flag_anchor(flag: str) -> str:
    """The id of a flag's definition on the HTML page (``flag-too-few-to-rank``)."""
    return "flag-" + "-".join(flag.split())
