"""Checks that a task's data fits what the task file says, before any model is trained or loaded.

A dataset whose samples have another shape than ``input.shape`` (a layout mix-up: NHWC data for an
NCHW task) or whose labels fall outside ``0 .. num_classes-1`` would otherwise surface deep inside
torch or a runtime as a shape error or an index error, or, worse, as a silently wrong accuracy. Here
it is one line naming the key, the value found and what was expected (``BadInput``; the job is
recorded as failed with it and the sweep goes on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from suite.errors import BadInput


def check_splits(task: Any, splits: Any) -> None:
    """Raise ``BadInput`` if the eval/calibration samples or the labels do not fit the task."""
    want = list(task.input.shape)
    name = task.dataset.name
    for split, x in (("eval", splits.x_eval), ("calibration", splits.x_cal)):
        if x is None or len(x) == 0:
            continue
        got = list(np.shape(x)[1:])
        if got != want:
            hint = ""
            if sorted(got) == sorted(want):
                hint = f" (the same sizes in another order: a layout mix-up? the task says input.layout {task.input.layout})"
            raise BadInput(
                f"input.shape: dataset {name!r} gives {split} samples of shape {got}, but the task says {want}{hint}"
            )
    if getattr(task, "metric", "top1") == "perplexity":
        return  # a language model's "labels" are each window's first scored position, not classes
    classes = int(task.num_classes)
    for split, y in (("eval", splits.y_eval), ("train", getattr(splits, "y_train", None))):
        if y is None or len(y) == 0:
            continue
        y = np.asarray(y)
        if not np.issubdtype(y.dtype, np.integer):
            raise BadInput(f"dataset {name!r}: {split} labels are {y.dtype}, expected integer class indices")
        bad = np.flatnonzero((y < 0) | (y >= classes))
        if len(bad):
            raise BadInput(
                f"num_classes: dataset {name!r} has {split} label {int(y[bad[0]])}, outside the model's classes "
                f"0..{classes - 1} ({len(bad)} label(s) like it); fix num_classes or the labels"
            )


def load_onnx(path: Any, load_external_data: bool = True) -> Any:
    """``onnx.load`` with a one-line ``BadInput`` for a file that is not a whole ONNX model."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=load_external_data)
    except Exception as exc:  # DecodeError, a missing external-data file, ...: the file is unusable either way
        line = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise BadInput(f"{path}: not a valid ONNX model, truncated or corrupt ({line})") from None
    # protobuf reads an empty file, and some random bytes, as an empty ModelProto without complaint
    if model.ir_version <= 0 or not model.graph.node:
        what = "an empty file" if Path(path).stat().st_size == 0 else "no IR version or no graph nodes"
        raise BadInput(f"{path}: not a valid ONNX model, truncated or corrupt ({what})")
    return model


def check_tflite(path: Any) -> None:
    """Refuse a file that is not a whole TFLite flatbuffer: the ``TFL3`` identifier, then LiteRT's own
    flatbuffer verifier where LiteRT is installed (it rejects truncated and corrupt files)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise BadInput(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(head) < 8 or head[4:8] != b"TFL3":
        raise BadInput(
            f"{path}: not a TFLite model (no 'TFL3' flatbuffer identifier: truncated, empty or another format)"
        )
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return
    try:
        Interpreter(model_path=str(path))
    except ValueError as exc:
        line = " ".join(str(exc).split())[:200]
        raise BadInput(f"{path}: not a valid TFLite model, truncated or corrupt ({line})") from None


def check_torch_fits(module: Any, task: Any, what: str) -> None:
    """Refuse a torch model that cannot take the task's ``input.shape`` or does not give
    ``num_classes`` scores, before it is trained: one forward pass of zeros through a copy.

    The copy and ``fork_rng`` keep the check from touching the model or the random stream (lazy layers
    draw their initial weights on their first forward), so the trained weights are the same with it.
    """
    import copy

    import torch
    from torch.nn.modules.lazy import LazyModuleMixin

    if any(isinstance(m, LazyModuleMixin) and m.has_uninitialized_params() for m in module.modules()):
        return  # lazy layers take their sizes from the first batch (and cannot be copied before it)
    shape = list(task.input.shape)
    probe = copy.deepcopy(module).eval()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        try:
            out = probe(torch.zeros(2, *shape))
        except Exception as exc:  # torch says it as a shape error deep in a layer
            line = " ".join(str(exc).split())[:240]
            raise BadInput(
                f"input.shape: {shape} (input.layout {task.input.layout}) does not fit {what}: {line}"
            ) from None
    got = list(getattr(out, "shape", []))
    if got != [2, int(task.num_classes)]:
        raise BadInput(
            f"num_classes: {what} gives outputs of shape {got} for a batch of 2, expected [2, {task.num_classes}]"
        )
