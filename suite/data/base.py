"""What a dataset adapter returns, and the seeded split rule every adapter shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from suite.config.schemas import DatasetSpec
from suite.errors import BadInput


@dataclass
class Splits:
    """float32 inputs in the task's layout, int64 labels. Eval and calibration never share a sample."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_eval: np.ndarray
    y_eval: np.ndarray
    x_cal: np.ndarray
    identity: dict[str, Any] = field(default_factory=dict)


def seeded_split(x: np.ndarray, y: np.ndarray, spec: DatasetSpec, identity: dict[str, Any]) -> Splits:
    """Eval = the first ``n_eval`` of a seeded permutation; train = the rest; calibration = a seeded
    subset of train (so it is disjoint from eval and drawn like the data the model was fitted on)."""
    n = len(x)
    if spec.n_eval >= n:
        raise BadInput(f"dataset.n_eval: got {spec.n_eval}, expected fewer than the {n} samples of {spec.name}")
    rng = np.random.default_rng(spec.seed)
    order = rng.permutation(n)
    eval_idx, train_idx = order[: spec.n_eval], order[spec.n_eval :]
    if spec.n_calibration > len(train_idx):
        raise BadInput(
            f"dataset.n_calibration: got {spec.n_calibration}, expected at most {len(train_idx)} (the non-eval samples)"
        )
    cal_idx = rng.choice(train_idx, size=spec.n_calibration, replace=False)
    return Splits(
        x_train=x[train_idx],
        y_train=y[train_idx],
        x_eval=x[eval_idx],
        y_eval=y[eval_idx],
        x_cal=x[cal_idx],
        identity={**identity, "seed": spec.seed, "n_eval": spec.n_eval, "n_calibration": spec.n_calibration},
    )
