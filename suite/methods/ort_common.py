"""Shared plumbing for methods built on ``onnxruntime.quantization``."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np


class ArrayReader:
    """A ``CalibrationDataReader`` over a numpy array, in batches (the ORT calibrators' input)."""

    def __init__(self, input_name: str, x: np.ndarray, batch_size: int = 32) -> None:
        self.input_name = input_name
        self.x = x
        self.batch_size = batch_size
        self._it: Iterator[dict[str, np.ndarray]] | None = None

    def _batches(self) -> Iterator[dict[str, np.ndarray]]:
        for start in range(0, len(self.x), self.batch_size):
            yield {self.input_name: np.ascontiguousarray(self.x[start : start + self.batch_size])}

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._it is None:
            self._it = self._batches()
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = None


def input_name(path: Path) -> str:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    return next(i.name for i in model.graph.input if i.name not in inits)


def preprocess(src: Path, dst: Path) -> Path:
    """ORT's recommended pre-processing (symbolic shape inference + graph optimisation) before quantizing."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quant_pre_process(str(src), str(dst), skip_symbolic_shape=False)
    return dst


def fixed_batch(path: Path) -> int | None:
    """The batch size an ONNX model's input is fixed to (a user's export often has batch 1), or None
    when the batch axis is symbolic: calibration must then be fed in batches of that size."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    first = next(i for i in model.graph.input if i.name not in inits)
    dims = first.type.tensor_type.shape.dim
    return int(dims[0].dim_value) if dims and dims[0].HasField("dim_value") and dims[0].dim_value > 0 else None
