"""``onnx``: the user's own ONNX model file (``model.path``): the reference *is* the file.

Its input name, shape, layout and type and its number of class scores are read from the file and
checked against the task (one line on a mismatch). The file is used as given, except that a fixed
batch of 1 becomes a symbolic batch axis and external weights are folded in: that copy, keyed by the
file's sha256, is what every ONNX-side method starts from. Torch-side methods (QAT, binary, ...) say
in one line that they need a torch model.
"""

from __future__ import annotations

from typing import Any

from suite.data.base import Splits, with_identity
from suite.data.hashing import file_sha256
from suite.paths import cache_dir
from suite.zoo.base import ReferenceModel, require_path, weights_file


def identity(task: Any) -> dict[str, Any]:
    """The file's sha256; first its interface is checked against the task (one line, before any job)."""
    from suite.zoo.onnx_io import check_against_task

    path = weights_file(task.model.path, task, hint="the .onnx model file")
    check_against_task(path, task)
    return {"file_sha256": file_sha256(path)}


@with_identity(identity, check=require_path)
def load(task: Any, splits: Splits) -> ReferenceModel:
    from suite.zoo.onnx_io import benchable_copy, check_against_task
    from suite.zoo.source_precision import onnx_precision

    path = weights_file(task.model.path, task, hint="the .onnx model file")
    info = check_against_task(path, task)
    sha = file_sha256(path)
    copy = cache_dir("onnx", task.name) / f"reference-{sha[:16]}.onnx"
    if not copy.is_file():
        benchable_copy(path, copy, task)
    return ReferenceModel(
        module=None,
        weights_sha256=sha,
        onnx_path=copy,
        origin={
            "source": "onnx",
            "name": task.model.name,
            "path": str(path),
            "file_sha256": sha,
            "input": info["input"],
            "output": info["output"],
            "opset": info["opset"],
            "precision": onnx_precision(path)["family"],  # read from the file: float32, int8 QDQ, ...
        },
    )
