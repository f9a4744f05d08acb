"""Shared plumbing for methods built on ``onnxruntime.quantization``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np


class ArrayReader:
    """A ``CalibrationDataReader`` over a numpy array, in batches (the ORT calibrators' input).

    ``input_name`` is the model's one input, or a function batch -> feeds (``feeder``: text models with
    packed inputs, causal LMs with their empty KV cache)."""

    def __init__(
        self, input_name: str | Callable[[np.ndarray], dict[str, np.ndarray]], x: np.ndarray, batch_size: int = 32
    ) -> None:
        self.feeds = input_name if callable(input_name) else (lambda batch, name=input_name: {name: batch})
        self.x = x
        self.batch_size = batch_size
        self._it: Iterator[dict[str, np.ndarray]] | None = None

    def _batches(self) -> Iterator[dict[str, np.ndarray]]:
        for start in range(0, len(self.x), self.batch_size):
            yield self.feeds(np.ascontiguousarray(self.x[start : start + self.batch_size]))

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._it is None:
            self._it = self._batches()
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = None

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:  # ORT's bundled GPTQ iterates the reader
        return self._batches()


def graph_io(path: Path) -> tuple[list[tuple[str, list, str]], list[str]]:
    """(name, dims, ORT type string) of the graph inputs and the output names of an ONNX file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    types = {
        onnx.TensorProto.FLOAT: "tensor(float)",
        onnx.TensorProto.FLOAT16: "tensor(float16)",
        onnx.TensorProto.INT64: "tensor(int64)",
    }
    meta = [
        (
            i.name,
            [d.dim_value if d.HasField("dim_value") else d.dim_param for d in i.type.tensor_type.shape.dim],
            types.get(i.type.tensor_type.elem_type, "tensor(float)"),
        )
        for i in model.graph.input
        if i.name not in inits
    ]
    return meta, [o.name for o in model.graph.output]


def calibration_reader(path: Path, x: np.ndarray) -> ArrayReader:
    """ORT calibration data for the model at ``path`` (suite.runtimes.lm_feeds.batch_feeds): batches of
    32 samples, one window at a time for a causal LM (its logits are window x vocabulary floats each)."""
    from suite.runtimes.lm_feeds import batch_feeds, is_lm

    inputs, outputs = graph_io(path)
    lm = is_lm([name for name, _, _ in inputs])
    return ArrayReader(batch_feeds(inputs, outputs), x, batch_size=1 if lm else 32)


def input_name(path: Path) -> str:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    return next(i.name for i in model.graph.input if i.name not in inits)


def preprocess(src: Path, dst: Path) -> Path:
    """ORT's recommended pre-processing (symbolic shape inference + graph optimisation) before quantizing."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=False)
    except (TypeError, ValueError, KeyError, AssertionError, IndexError):
        # ORT's symbolic shape inference does not follow every graph torch.onnx's dynamo exporter writes
        # (an Expand of a computed shape in the transformers attention mask); ONNX's own shape inference
        # and the graph optimisation still run, which is what quantization needs.
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
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
