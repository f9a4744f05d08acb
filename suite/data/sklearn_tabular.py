"""scikit-learn's Wisconsin breast-cancer measurements: 569 real samples, 30 raw features, 2 classes.

Shipped inside the scikit-learn wheel (no download). The features are the raw measurements, whose
ranges differ by five orders of magnitude (a fractal dimension near 0.06 beside an area near 2500):
a model that takes them as they come from the instrument normalises inside its own graph, and int8
quantization of its input collapses the small features. That makes it the suite's honest example of a
model where full int8 misses an accuracy budget and mixed precision is needed (tasks/cancer-mlp.yaml).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import numpy as np

from suite.config.schemas import DatasetSpec
from suite.data.base import Splits, seeded_split, with_size


def size(task: Any) -> int:
    """The sample count that heads the wheel's ``breast_cancer.csv`` (``569,30,malignant,benign``)."""
    from suite.data.locate import package_file

    with open(
        package_file("sklearn", "datasets/data/breast_cancer.csv", "sklearn-breast-cancer"), encoding="utf-8"
    ) as handle:
        return int(handle.readline().split(",")[0])


@with_size(size)
def load(spec: DatasetSpec) -> Splits:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x = data.data.astype(np.float32)  # raw measurements, NC
    y = data.target.astype(np.int64)
    identity = {"name": spec.name, "source": f"scikit-learn {metadata.version('scikit-learn')}", "n_total": len(x)}
    return seeded_split(x, y, spec, identity)
