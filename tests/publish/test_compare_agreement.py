"""`edgeq compare` states whether the same artifacts score identically, item by item, on both sides."""

from __future__ import annotations

import numpy as np

from suite.publish.compare import same_artifact_agreement
from suite.records.paired import encode_correct


def record(method: str, sha: str, correct: list[bool], emulated: str | None = None) -> dict:
    return {
        "status": "ok",
        "task": {"name": "digits-cnn"},
        "method": {"name": method},
        "artifact": {"sha256": sha},
        "accuracy": {"labels_sha256": "L", "correct": encode_correct(np.array(correct))},
        "environment": {"emulated": emulated},
    }


def test_identical_and_differing_items_are_counted():
    x86 = [record("fp32", "a", [True, True, False]), record("ptq-static", "b", [True, False, True])]
    board = [
        record("fp32", "a", [True, True, False], "qemu-aarch64"),
        record("ptq-static", "b", [True, True, True], "qemu-aarch64"),
        record("dynamic", "c", [True, True, True], "qemu-aarch64"),  # not on the other side
    ]
    (note,) = same_artifact_agreement(x86, board)
    assert note == (
        "same artifacts on both sides (B emulated (qemu-aarch64)): 1 of 2 score identically item by item; "
        "digits-cnn/ptq-static: 1 of 3 items differ"
    )


def test_no_shared_artifact_says_nothing():
    assert same_artifact_agreement([record("fp32", "a", [True])], [record("fp32", "z", [True])]) == []
