"""scikit-learn's digits: 1797 real 8x8 handwritten digits (16 grey levels), shipped inside the wheel.

Read from the wheel's ``datasets/data/digits.csv.gz`` the way ``sklearn.datasets.load_digits`` parses
it (64 pixel columns, then the label), without importing scikit-learn: that import alone is a large
share of the default sweep's fp32 job (measured: docs/benchmarks.md). A test checks the arrays equal
``load_digits()``'s.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import numpy as np

from suite.config.schemas import DatasetSpec
from suite.data.base import Splits, seeded_split, with_identity, with_size


def identity(task: Any) -> dict[str, Any]:
    return {"source": f"scikit-learn {metadata.version('scikit-learn')}"}


def _csv() -> Any:
    from suite.data.locate import package_file

    return package_file("sklearn", "datasets/data/digits.csv.gz", "sklearn-digits")


def size(task: Any) -> int:
    """Rows of the wheel's ``digits.csv.gz``."""
    import gzip

    with gzip.open(_csv(), "rb") as handle:
        return sum(1 for line in handle if line.strip())


def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images as float 0..16, shape (n, 8, 8); labels as int), as ``load_digits`` returns them."""
    table = np.loadtxt(_csv(), delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(int)


@with_size(size)
@with_identity(identity)
def load(spec: DatasetSpec, task: Any = None) -> Splits:
    images, labels = read_digits()
    x = (images.astype(np.float32) / 16.0)[:, None, :, :]  # NCHW, 0..1
    if task is not None and task.input.layout == "NHWC":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    y = labels.astype(np.int64)
    identity = {"name": spec.name, "source": f"scikit-learn {metadata.version('scikit-learn')}", "n_total": len(x)}
    return seeded_split(x, y, spec, identity)
