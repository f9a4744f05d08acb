"""``openvino``: an OpenVINO IR (``model.path`` the ``.xml``, its ``.bin`` beside it), measured as it is.

An IR is what NNCF and OpenVINO's own tools hand out (``nncf.quantize``, ``nncf.compress_weights``,
``ov.save_model``), so a user brings one already quantized as often as not. Only OpenVINO loads it and
nothing converts an IR back to ONNX, so the task has no float ONNX graph: every ONNX-side method fails
with one line that says to measure it ``as-is`` (``ReferenceModel.onnx_refused``), and ``as-is`` runs
the IR on the target's ``openvino`` entries (artifact format ``openvino``, which only that runtime lists).

What the file is comes from the graph OpenVINO reads (``Core.read_model``): ``FakeQuantize`` nodes
(quantized activations, their ``levels`` giving the bits), weight constants stored in a narrow type and
widened by a ``Convert`` (NNCF's int8/int4 weight compression and ``ov.save_model``'s default float16
compression) and every Constant's element type. No OpenVINO API names a model's quantization scheme,
so the labels are made here from those facts. A truncated or corrupt IR, or one whose input or number
of scores disagrees with the task, stops the plan with one line before any job.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from suite.data.base import Splits, with_identity
from suite.data.hashing import file_sha256
from suite.errors import BadInput
from suite.zoo.base import ReferenceModel, file_only_reference, require_path, weights_file

_DTYPES = {"f32": "float32", "f16": "float16", "u8": "uint8", "i8": "int8", "i32": "int32", "i64": "int64"}
_INT_BITS = {"i8": 8, "u8": 8, "i4": 4, "u4": 4, "nf4": 4, "f4e2m1": 4, "u2": 2, "u1": 1}


def read_ir(path: Path) -> Any:
    """The IR's ``ov.Model``; a missing ``.bin``, a truncated or corrupt file is one line (BadInput)."""
    try:
        import openvino as ov
    except ImportError:
        raise BadInput(
            f"{path}: model.source openvino needs OpenVINO (pip install -e '.[toolkits]'; make setup does)"
        ) from None
    if path.suffix.lower() != ".xml":
        raise BadInput(f"{path}: model.source openvino takes the IR's .xml file (its .bin beside it), got {path.name}")
    weights = path.with_suffix(".bin")
    if not weights.is_file():
        raise BadInput(f"{path}: the IR's weights file {weights.name} is not beside it")
    try:
        return ov.Core().read_model(str(path))
    except Exception as exc:  # OpenVINO raises RuntimeError / its own types for unreadable IR
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        cause = (lines[-1] if lines else type(exc).__name__)[:200]
        raise BadInput(f"{path}: not a valid OpenVINO IR, truncated or corrupt ({cause})") from None


def _weight_types(model: Any) -> Counter[str]:
    """Element types of the weights stored narrow and widened at run time: a Constant read by a
    ``Convert``, unless what reads the Convert is a zero point's Subtract or a scale's Multiply (its
    second input)."""
    found: Counter[str] = Counter()
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Convert":
            continue
        source = op.input_value(0).get_node()
        if source.get_type_name() != "Constant" or math.prod(source.get_output_shape(0)) <= 1:
            continue
        readers = op.output(0).get_target_inputs()
        if not all(t.get_index() == 1 and t.get_node().get_type_name() in ("Subtract", "Multiply") for t in readers):
            found[source.get_element_type().get_type_name()] += 1
    return found


def _dtype(element_type: Any) -> str:
    name = str(element_type.get_type_name())
    return _DTYPES.get(name, name)


def openvino_precision(path: Path) -> dict[str, Any]:
    """Family, bits and I/O of an OpenVINO IR, from its FakeQuantize nodes and weight constants."""
    model = read_ir(path)
    ops = list(model.get_ordered_ops())
    kinds = Counter(op.get_type_name() for op in ops)
    levels = Counter(int(op.get_attributes()["levels"]) for op in ops if op.get_type_name() == "FakeQuantize")
    constants = Counter(op.get_element_type().get_type_name() for op in ops if op.get_type_name() == "Constant")
    stored = _weight_types(model)
    ints = {t: n for t, n in stored.items() if t in _INT_BITS}
    w_bits = min((_INT_BITS[t] for t in ints), default=None)
    nncf = " (NNCF)" if model.has_rt_info("nncf") else ""
    if levels:
        a_bits = max(1, round(math.log2(max(levels))))
        w_bits = w_bits or a_bits
        family = f"int{a_bits} FakeQuantize{nncf}"
    elif w_bits is not None:
        a_bits = 32
        mixed = sorted({_INT_BITS[t] for t in ints} - {w_bits}, reverse=True)
        family = f"int{w_bits} weight-only{nncf}" + "".join(f", int{b} for some layers" for b in mixed)
    elif stored.get("f16") or stored.get("bf16"):
        w_bits, a_bits, family = 16, 32, "float16 weights"
    else:
        w_bits, a_bits, family = 32, 32, "float32"
    inp, out = model.inputs[0], model.outputs[0]

    def dims(port: Any) -> list[int | None]:
        return [d.get_length() if d.is_static else None for d in port.get_partial_shape()]

    return {
        "format": "openvino",
        "family": family,
        "is_float": family == "float32",
        "weight_bits": w_bits,
        "activation_bits": a_bits,
        "input": {"name": inp.get_any_name(), "dtype": _dtype(inp.get_element_type()), "shape": dims(inp)},
        "output": {"name": out.get_any_name(), "shape": dims(out)},
        "fake_quantize_levels": {str(k): v for k, v in sorted(levels.items())},
        "weight_types": dict(sorted(stored.items())),
        "tensor_types": dict(sorted(constants.items())),
        "ops": {k: kinds[k] for k in ("FakeQuantize", "Convert", "Convolution", "MatMul") if kinds[k]},
        "inputs": len(model.inputs),
    }


def check_interface(facts: dict[str, Any], path: Path, task: Any) -> None:
    """The IR's input (shape per sample, element type) and number of scores against the task, one line."""
    shape = facts["input"]["shape"]
    per_sample = shape[1:]
    if facts["inputs"] != 1:
        raise BadInput(f"{path}: the IR takes {facts['inputs']} inputs; as-is on an IR takes one-input classifiers")
    if None not in per_sample and per_sample != list(task.input.shape):
        raise BadInput(
            f"{path}: the IR's input {facts['input']['name']!r} is {per_sample} per sample, but the task declares "
            f"input.shape {list(task.input.shape)} (layout {task.input.layout}); set input.shape: {per_sample}"
        )
    dtype = facts["input"]["dtype"]
    if dtype != task.input.dtype:
        raise BadInput(
            f"{path}: the IR takes {dtype} input but the task feeds input.dtype {task.input.dtype}; set input.dtype: {dtype}"
        )
    scores = facts["output"]["shape"][-1] if facts["output"]["shape"] else None
    if task.num_classes and scores is not None and scores != task.num_classes:
        raise BadInput(
            f"{path}: the IR gives {scores} scores per sample, but the task declares num_classes {task.num_classes}"
        )


def identity(task: Any) -> dict[str, Any]:
    """The IR's two files' hashes; on the way it is read and checked against the task (one line)."""
    from suite.registry import dist_version

    path = weights_file(task.model.path, task, hint="the OpenVINO IR .xml file")
    check_interface(openvino_precision(path), path, task)
    return {
        "file_sha256": file_sha256(path),
        "bin_sha256": file_sha256(path.with_suffix(".bin")),
        "openvino": dist_version("openvino"),
    }


@with_identity(identity, check=require_path)
def load(task: Any, splits: Splits) -> ReferenceModel:
    path = weights_file(task.model.path, task, hint="the OpenVINO IR .xml file")
    family = openvino_precision(path)["family"]
    return file_only_reference(task, path, family, "OpenVINO IR", bin_sha256=file_sha256(path.with_suffix(".bin")))
