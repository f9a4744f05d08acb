"""``tflite``: a TensorFlow Lite flatbuffer (``model.path``), converted to ONNX for the ONNX-side methods.

The input name, shape and type are read from the ``.tflite`` file itself by ``tf.lite.Interpreter``
(in the conversion's child process, via tf2onnx's TFLite reader) and then checked, from the converted
graph, against the task. A float ``.tflite`` is a float reference; an already-quantized one is
converted with its quantization as QDQ nodes and the record's ``model.origin`` says which it was.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from typing import Any

from suite.data.base import Splits, with_identity
from suite.data.hashing import file_sha256
from suite.paths import cache_dir
from suite.zoo.base import ReferenceModel, require_path, weights_file


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def identity(task: Any) -> dict[str, Any]:
    from suite.zoo.checks import check_tflite

    path = weights_file(task.model.path, task, hint="the .tflite model file")
    check_tflite(path)  # a truncated or corrupt file stops the plan with one line, before any job
    return {"file_sha256": file_sha256(path), "tf2onnx": _version("tf2onnx")}


@with_identity(identity, check=require_path)
def load(task: Any, splits: Splits) -> ReferenceModel:
    from suite.errors import BadInput
    from suite.zoo.convert import run_child
    from suite.zoo.onnx_io import benchable_copy, check_against_task

    if _version("tf2onnx") == "not installed":
        raise BadInput(
            "model.source tflite needs tf2onnx (the tflite extra: pip install -e '.[tflite]'; make setup does)"
        )
    path = weights_file(task.model.path, task, hint="the .tflite model file")
    sha = file_sha256(path)
    key = hashlib.sha256(f"{sha}|{_version('tf2onnx')}".encode()).hexdigest()[:16]
    converted = cache_dir("onnx", task.name) / f"tflite-{key}.converted.onnx"
    out = cache_dir("onnx", task.name) / f"tflite-{key}.onnx"
    if not out.is_file():
        if not converted.is_file():
            run_child("tflite", path, converted)
        check_against_task(converted, task, what=f"{path} (converted to ONNX)")
        benchable_copy(converted, out, task)
    info = check_against_task(out, task, what=f"{path} (converted to ONNX)")
    return ReferenceModel(
        module=None,
        weights_sha256=sha,
        onnx_path=out,
        origin={
            "source": "tflite",
            "name": task.model.name,
            "path": str(path),
            "file_sha256": sha,
            "converted_with": f"tf2onnx {_version('tf2onnx')}",
            "input": info["input"],
        },
    )
