"""scikit-learn's digits: 1797 real 8x8 handwritten digits (16 grey levels), shipped inside the wheel."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import numpy as np

from suite.config.schemas import DatasetSpec
from suite.data.base import Splits, seeded_split, with_identity, with_size


def identity(task: Any) -> dict[str, Any]:
    return {"source": f"scikit-learn {metadata.version('scikit-learn')}"}


def size(task: Any) -> int:
    """Rows of the wheel's ``digits.csv.gz`` (what ``load_digits`` parses), counted without importing sklearn."""
    import gzip

    from suite.data.locate import package_file

    with gzip.open(package_file("sklearn", "datasets/data/digits.csv.gz", "sklearn-digits"), "rb") as handle:
        return sum(1 for line in handle if line.strip())


@with_size(size)
@with_identity(identity)
def load(spec: DatasetSpec, task: Any = None) -> Splits:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]  # NCHW, 0..1
    if task is not None and task.input.layout == "NHWC":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    y = digits.target.astype(np.int64)
    identity = {"name": spec.name, "source": f"scikit-learn {metadata.version('scikit-learn')}", "n_total": len(x)}
    return seeded_split(x, y, spec, identity)
