"""``keras``: a ``keras.applications`` model by name with a local weights file, or a saved ``.keras`` model.

``model.path`` is either a ``.keras`` file (``model.name`` is then only a label) or the weights file of
the ``keras.applications`` model named by ``model.name`` (``MobileNetV2``, ``ResNet50``, ...), as Keras
keeps it under ``~/.keras/models/``; nothing is downloaded. The model is exported to ONNX in a child
process (see :mod:`suite.zoo.convert`) and that ONNX file is the float reference. Keras models take
NHWC input: the task's ``input.layout`` must say NHWC, or it gets one line saying so.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from typing import Any

from suite.data.base import Splits, with_identity
from suite.data.hashing import file_sha256
from suite.paths import cache_dir
from suite.zoo.base import ReferenceModel, require_path, weights_file


def _path(task: Any):  # type: ignore[no-untyped-def]
    return weights_file(task.model.path, task, hint="a .keras model, or the weights file of a keras.applications model")


def check(task: Any) -> None:
    """A path, and channels-last input: Keras applications and saved models take NHWC."""
    from suite.errors import BadInput

    require_path(task)
    if task.input.layout != "NHWC":
        raise BadInput(
            f"input.layout: got {task.input.layout}, expected NHWC (Keras models take channels-last input, shape [H, W, C])"
        )


def identity(task: Any) -> dict[str, Any]:
    return {"file_sha256": file_sha256(_path(task)), "keras": metadata.version("keras")}


@with_identity(identity, check=check)
def load(task: Any, splits: Splits) -> ReferenceModel:
    from suite.zoo.convert import run_child
    from suite.zoo.onnx_io import check_against_task

    path = _path(task)
    sha = file_sha256(path)
    key = hashlib.sha256(
        f"{sha}|{task.model.name}|{task.num_classes}|{task.input.shape}|{metadata.version('keras')}".encode()
    ).hexdigest()[:16]
    out = cache_dir("onnx", task.name) / f"keras-{key}.onnx"
    extra: list[str] = []
    if path.suffix != ".keras":
        extra = [
            "--name",
            task.model.name,
            "--classes",
            str(task.num_classes),
            "--shape",
            *[str(d) for d in task.input.shape],
        ]
    if not out.is_file():
        run_child("keras", path, out, *extra)
    info = check_against_task(out, task, what=f"{path} (exported to ONNX)")
    return ReferenceModel(
        module=None,
        weights_sha256=sha,
        onnx_path=out,
        origin={
            "source": "keras",
            "name": task.model.name,
            "path": str(path),
            "file_sha256": sha,
            "keras": metadata.version("keras"),
            "exported": "keras torch backend -> torch.onnx",
            "input": info["input"],
        },
    )
