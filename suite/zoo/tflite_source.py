"""``tflite``: a TensorFlow Lite flatbuffer (``model.path``), converted to ONNX for the ONNX-side methods.

What the file is (float, dynamic-range, full-integer; its I/O types) is read from it by LiteRT
(``suite.zoo.source_precision``) and recorded as ``task.model.precision``. The ``as-is`` method runs
the file itself on LiteRT; the ONNX-side methods need a float ONNX graph of it:

- a full-integer file (integer activations, or integer input/output) is not converted: tf2onnx keeps
  its integer input and integer scores, so the graph is no float reference (the ONNX methods feed float
  inputs and quantize a float graph) and its agreement with the file can only be judged to a
  quantization step, not to a float tolerance; every ONNX-side method fails with one line that says
  to measure it ``as-is``;
- any other file is converted by tf2onnx, its interface checked against the task, and the converted
  graph checked against the file on the task's first inputs, LiteRT against ONNX Runtime
  (``suite.zoo.conversion_check``); a disagreement beyond the tolerance refuses the graph the same way.
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
    check_interface(path, task)
    return {"file_sha256": file_sha256(path), "tf2onnx": _version("tf2onnx")}


def check_interface(path: Any, task: Any) -> None:
    """The file's input shape and type and its number of scores against the task, read by LiteRT (one
    line, before any job): a full-integer file is run as it is, so no converted graph checks it later."""
    from suite.errors import BadInput
    from suite.zoo.source_precision import tflite_precision

    facts = tflite_precision(path)
    dims, dtype = facts["input"]["shape"][1:], facts["input"]["dtype"]
    if dims != list(task.input.shape):
        raise BadInput(
            f"{path}: the model's input {facts['input']['name']!r} is {dims} per sample, but the task declares "
            f"input.shape {list(task.input.shape)} (layout {task.input.layout}); set input.shape: {dims}"
        )
    if task.input.dtype != dtype and not (task.input.dtype == "float32" and "scale" in facts["input"]):
        raise BadInput(
            f"{path}: the model takes {dtype} input but the task feeds input.dtype {task.input.dtype}; "
            f"set input.dtype: {dtype}"
            + (" (or float32: it is quantized with the scale the file declares)" if "scale" in facts["input"] else "")
        )
    scores = facts["output"]["shape"][-1]
    if task.num_classes and scores != task.num_classes:
        raise BadInput(
            f"{path}: the model gives {scores} scores per sample, but the task declares num_classes {task.num_classes}"
        )


@with_identity(identity, check=require_path)
def load(task: Any, splits: Splits) -> ReferenceModel:
    from suite.errors import BadInput
    from suite.zoo.convert import run_child
    from suite.zoo.onnx_io import benchable_copy, check_against_task

    if _version("tf2onnx") == "not installed":
        raise BadInput(
            "model.source tflite needs tf2onnx (the tflite extra: pip install -e '.[tflite]'; make setup does)"
        )
    from suite.zoo.conversion_check import N_INPUTS, compare, litert_outputs, ort_outputs, refusal
    from suite.zoo.source_precision import tflite_precision

    path = weights_file(task.model.path, task, hint="the .tflite model file")
    sha = file_sha256(path)
    facts = tflite_precision(path)
    origin: dict[str, Any] = {
        "source": "tflite",
        "name": task.model.name,
        "path": str(path),
        "file_sha256": sha,
        "precision": facts["family"],
    }
    integer_io = facts["input"]["dtype"] != "float32" or facts["output"]["dtype"] != "float32"
    if integer_io or facts["activation_bits"] < 32:
        return ReferenceModel(
            module=None,
            weights_sha256=sha,
            onnx_path=None,
            origin=origin,
            onnx_refused=(
                f"{path} is a {facts['family']} TFLite file: EdgeQ does not convert a full-integer TFLite to ONNX "
                f"(its graph would keep integer input and scores: no float graph for the ONNX-side methods); measure it as it "
                f"is with --methods as-is, or bring its float model for the ONNX-side methods"
            ),
        )
    key = hashlib.sha256(f"{sha}|{_version('tf2onnx')}".encode()).hexdigest()[:16]
    converted = cache_dir("onnx", task.name) / f"tflite-{key}.converted.onnx"
    out = cache_dir("onnx", task.name) / f"tflite-{key}.onnx"
    if not out.is_file():
        if not converted.is_file():
            run_child("tflite", path, converted)
        check_against_task(converted, task, what=f"{path} (converted to ONNX)")
        benchable_copy(converted, out, task)
    info = check_against_task(out, task, what=f"{path} (converted to ONNX)")
    x = splits.x_eval[:N_INPUTS]
    check = compare("tflite", "onnx (tf2onnx)", litert_outputs(path, x), ort_outputs(out, x))
    origin.update(converted_with=f"tf2onnx {_version('tf2onnx')}", input=info["input"], conversion_check=check)
    return ReferenceModel(
        module=None,
        weights_sha256=sha,
        onnx_path=out,
        origin=origin,
        conversion_check=check,
        onnx_refused=None if check["ok"] else f"{path}: {refusal(check)}",
    )
