"""``keras``: a ``keras.applications`` model by name with a local weights file, or a saved ``.keras`` model.

``model.path`` is either a ``.keras`` file (``model.name`` is then only a label) or the weights file of
the ``keras.applications`` model named by ``model.name`` (``MobileNetV2``, ``ResNet50``, ...), as Keras
keeps it under ``~/.keras/models/``; nothing is downloaded. The model is exported to ONNX in a child
process (see :mod:`suite.zoo.convert`) and that ONNX file is the float reference. Keras models take
NHWC input: the task's ``input.layout`` must say NHWC, or it gets one line saying so.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
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
    from suite.zoo.conversion_check import refusal
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
    checked = out.with_suffix(".check.json")
    if not out.is_file() or not checked.is_file():
        check = _convert_and_check(path, out, extra, splits)
        checked.write_text(json.dumps(check))
    check = json.loads(checked.read_text())
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
            "conversion_check": check,
        },
        conversion_check=check,
        onnx_refused=None if check["ok"] else f"{path}: {refusal(check)}",
    )


def _convert_and_check(path: Path, out: Path, extra: list[str], splits: Splits) -> dict[str, Any]:
    """Export in the child, which also runs the Keras model on the task's first inputs; then the exported
    graph on ONNX Runtime against those outputs."""
    import tempfile

    import numpy as np

    from suite.zoo.conversion_check import N_INPUTS, compare, ort_outputs
    from suite.zoo.convert import run_child

    x = np.ascontiguousarray(splits.x_eval[:N_INPUTS], dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp) / "x.npy", Path(tmp) / "y.npy"
        np.save(inputs, x)
        run_child("keras", path, out, *extra, "--check", str(inputs), str(outputs))
        reference = np.load(outputs)
    return compare("keras", "onnx (keras torch backend, torch.onnx)", reference, ort_outputs(out, x))
