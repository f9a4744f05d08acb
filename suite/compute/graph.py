"""Multiply-accumulates per item, counted from an ONNX graph with its shapes inferred at the job's input shape.

The counting rule is the one papers and the survey use for "ops": only the multiply-accumulate layers
(Conv, ConvTranspose, Gemm, MatMul) count, one MAC = two ops, and their integer (ConvInteger,
MatMulInteger), QLinear (QLinearConv, QLinearMatMul), fused and weight-only (MatMulNBits) forms count as
the float op they replace, so fp32 and int8 artifacts of one model count the same work. A QDQ graph
(DequantizeLinear -> Conv) holds a plain Conv and counts as one. Everything else (activations, norms,
softmax, element-wise arithmetic) is listed by name and count, not counted: profilers that fold those in
use conventions of their own, and no profiler we know counts the com.microsoft ops this suite's int4
methods write, so the rule is a few lines per op here over the shapes ``onnx.shape_inference`` computes
(ONNX Runtime's symbolic shape inference when ONNX's own cannot see through a contrib op).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

Shape = list[int]
Shapes = Mapping[str, Shape]

# op type -> (index of the data input, index of the weight input) for the conv-like ops
_CONV_INPUTS = {"Conv": (0, 1), "ConvInteger": (0, 1), "QLinearConv": (0, 3), "FusedConv": (0, 1)}
# op type -> (index of A, index of B) for the matmul-like ops with numpy broadcasting semantics
_MATMUL_INPUTS = {
    "MatMul": (0, 1),
    "MatMulInteger": (0, 1),
    "QLinearMatMul": (0, 3),
    "MatMulInteger16": (0, 1),
    "DynamicQuantizeMatMul": (0, 1),
    "MatMulIntegerToFloat": (0, 1),
}
_GEMM_INPUTS = {"Gemm": (0, 1), "QGemm": (0, 3), "FusedGemm": (0, 1)}
COUNTED_OPS = frozenset({*_CONV_INPUTS, *_MATMUL_INPUTS, *_GEMM_INPUTS, "ConvTranspose", "MatMulNBits", "FusedMatMul"})
_STRUCTURAL = frozenset({"Constant", "Identity"})  # no arithmetic at all: not worth listing


class ShapeUnknown(Exception):
    """A counted op whose input shapes inference could not fix (a dynamic dim no input pins down)."""


def _prod(values: Sequence[int]) -> int:
    return math.prod(int(v) for v in values)


def _attr(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _shape(shapes: Shapes, node: Any, index: int) -> Shape:
    name = node.input[index] if index < len(node.input) else ""
    shape = shapes.get(name)
    if shape is None:
        raise ShapeUnknown(f"{node.op_type} node {node.name or '(unnamed)'}: shape of input {name!r} not inferred")
    return shape


def _out_shape(shapes: Shapes, node: Any) -> Shape:
    shape = shapes.get(node.output[0])
    if shape is None:
        raise ShapeUnknown(f"{node.op_type} node {node.name or '(unnamed)'}: output shape not inferred")
    return shape


def _conv_macs(node: Any, shapes: Shapes) -> int:
    """Every output element is a dot product over (input channels / groups) x kernel: groups and
    dilations are in the weight's and the output's shapes already."""
    _, w_index = _CONV_INPUTS[node.op_type]
    weight = _shape(shapes, node, w_index)  # [M, C/group, k1, k2, ...]
    return _prod(_out_shape(shapes, node)) * _prod(weight[1:])


def _conv_transpose_macs(node: Any, shapes: Shapes) -> int:
    """Every input element is scattered to (output channels / groups) x kernel outputs."""
    x = _shape(shapes, node, 0)  # [N, C, d1, ...]
    weight = _shape(shapes, node, 1)  # [C, M/group, k1, k2, ...]
    return _prod(x) * _prod(weight[1:])


def _matmul_macs(node: Any, shapes: Shapes) -> int:
    a_index, b_index = _MATMUL_INPUTS.get(node.op_type, (0, 1))
    a = _shape(shapes, node, a_index)
    b = _shape(shapes, node, b_index)
    if node.op_type == "FusedMatMul" and _attr(node, "transA", 0):
        a = a[:-2] + [a[-1], a[-2]] if len(a) >= 2 else a
    if node.op_type == "FusedMatMul" and _attr(node, "transB", 0):
        b = b[:-2] + [b[-1], b[-2]] if len(b) >= 2 else b
    k = a[-1]
    n = b[-1] if len(b) >= 2 else 1
    batch_a = a[:-2] if len(a) >= 2 else []
    batch_b = b[:-2] if len(b) >= 2 else []
    rows = a[-2] if len(a) >= 2 else 1
    width = max(len(batch_a), len(batch_b))
    pad_a = [1] * (width - len(batch_a)) + batch_a
    pad_b = [1] * (width - len(batch_b)) + batch_b
    batch = _prod([max(x, y) for x, y in zip(pad_a, pad_b, strict=True)])
    return batch * rows * n * k


def _gemm_dims(node: Any, shapes: Shapes) -> tuple[int, int, int]:
    """(M, K, N) of a Gemm from its inputs (ONNX infers no output shape for com.microsoft QGemm)."""
    a_index, b_index = _GEMM_INPUTS[node.op_type]
    a = _shape(shapes, node, a_index)
    b = _shape(shapes, node, b_index)
    m, k = (a[1], a[0]) if _attr(node, "transA", 0) else (a[0], a[1])
    n = b[0] if _attr(node, "transB", 0) else b[1]
    return m, k, n


def _gemm_macs(node: Any, shapes: Shapes) -> int:
    m, k, n = _gemm_dims(node, shapes)
    return m * k * n


def _matmul_nbits_macs(node: Any, shapes: Shapes) -> int:
    """com.microsoft MatMulNBits: A [..., K] times a packed B of K x N (attributes K and N)."""
    a = _shape(shapes, node, 0)
    return _prod(a[:-1]) * int(_attr(node, "K")) * int(_attr(node, "N"))


def node_macs(node: Any, shapes: Shapes) -> int | None:
    """MACs of one node, or None for an op that is not counted."""
    op = node.op_type
    counters: dict[str, Callable[[Any, Shapes], int]] = {
        **dict.fromkeys(_CONV_INPUTS, _conv_macs),
        **dict.fromkeys(_MATMUL_INPUTS, _matmul_macs),
        **dict.fromkeys(_GEMM_INPUTS, _gemm_macs),
        "FusedMatMul": _matmul_macs,
        "ConvTranspose": _conv_transpose_macs,
        "MatMulNBits": _matmul_nbits_macs,
    }
    counter = counters.get(op)
    return None if counter is None else counter(node, shapes)


# ------------------------------------------------------------------------------------------ shapes
def _dims(type_proto: Any) -> Shape | None:
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    dims = []
    for dim in type_proto.tensor_type.shape.dim:
        if not dim.HasField("dim_value"):
            return None
        dims.append(int(dim.dim_value))
    return dims


def graph_inputs(model: Any) -> list[Any]:
    """The graph's real inputs (old exporters list initializers among the inputs too)."""
    initialized = {init.name for init in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initialized]


def fix_input_shapes(model: Any, input_shapes: Mapping[str, Sequence[int]]) -> None:
    """Write concrete shapes into the graph inputs (in place); an input left dynamic is an error."""
    for value in graph_inputs(model):
        wanted = input_shapes.get(value.name)
        dims = value.type.tensor_type.shape.dim
        if wanted is None:
            if _dims(value.type) is None:
                raise ShapeUnknown(f"input {value.name!r} has a dynamic shape and no shape was given for it")
            continue
        if len(wanted) != len(dims):
            raise ShapeUnknown(f"input {value.name!r} has rank {len(dims)}, the job's shape {list(wanted)} does not")
        for dim, size in zip(dims, wanted, strict=True):
            dim.Clear()
            dim.dim_value = int(size)


def _collect(model: Any) -> dict[str, Shape]:
    from onnx import numpy_helper

    shapes: dict[str, Shape] = {}
    graph = model.graph
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = _dims(value.type)
        if dims is not None:
            shapes[value.name] = dims
    for init in graph.initializer:
        shapes[init.name] = [int(d) for d in init.dims]
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            shapes[node.output[0]] = list(numpy_helper.to_array(node.attribute[0].t).shape)
    return shapes


def _own_output_shape(node: Any, shapes: Shapes) -> Shape | None:
    """The output shape of a counted contrib op neither inference knows (QGemm, MatMulNBits, FusedGemm),
    from its inputs, so that the ops after it get shapes too."""
    try:
        if node.op_type in _GEMM_INPUTS:
            m, _, n = _gemm_dims(node, shapes)
            return [m, n]
        if node.op_type == "MatMulNBits":
            return [*_shape(shapes, node, 0)[:-1], int(_attr(node, "N"))]
    except ShapeUnknown:
        return None
    return None


def _onnx_inference(model: Any) -> Any:
    """ONNX's inference, repeated while a contrib op's output shape can be filled in by ``_own_output_shape``."""
    import onnx
    from onnx import helper

    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    for _ in range(len(model.graph.node)):
        shapes = _collect(inferred)
        added = False
        for node in inferred.graph.node:
            if node.output and node.output[0] not in shapes:
                shape = _own_output_shape(node, shapes)
                if shape is not None:
                    elem = _elem_type(inferred, node.input[0])
                    inferred.graph.value_info.append(helper.make_tensor_value_info(node.output[0], elem, shape))
                    shapes[node.output[0]] = shape
                    added = True
        if not added:
            break
        inferred = onnx.shape_inference.infer_shapes(inferred, data_prop=True)
    return inferred


def _elem_type(model: Any, name: str) -> int:
    for value in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        if value.name == name and value.type.tensor_type.elem_type:
            return int(value.type.tensor_type.elem_type)
    return 1  # FLOAT: the element type does not enter a MAC count


def infer_shapes(model: Any) -> Any:
    """``onnx.shape_inference`` with data propagation (Shape -> Reshape chains); when a counted op still
    lacks shapes, ONNX Runtime's symbolic inference, which knows more com.microsoft ops."""
    inferred = _onnx_inference(model)
    if _missing(inferred) == 0:
        return inferred
    try:
        from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

        symbolic = SymbolicShapeInference.infer_shapes(model, auto_merge=True, guess_output_rank=False)
    except Exception:  # noqa: BLE001 - a second opinion that failed leaves the first one's answer
        return inferred
    return symbolic if symbolic is not None and _missing(symbolic) < _missing(inferred) else inferred


def _missing(model: Any) -> int:
    shapes = _collect(model)
    missing = 0
    for node in model.graph.node:
        if node.op_type in COUNTED_OPS:
            try:
                node_macs(node, shapes)
            except ShapeUnknown:
                missing += 1
    return missing


# ----------------------------------------------------------------------------------------- weights
def weight_bytes(model: Any) -> int:
    """Bytes of the stored weights: every initializer at its stored type (int4 packed two to a byte),
    plus tensors held in Constant nodes."""
    from onnx import helper

    def size(tensor: Any) -> int:
        count = _prod(tensor.dims)
        dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
        bits = 4 if tensor.data_type in _FOUR_BIT else 8 * dtype.itemsize
        return (count * bits + 7) // 8

    total = sum(size(init) for init in model.graph.initializer)
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            total += size(node.attribute[0].t)
    return total


_FOUR_BIT = {22, 23}  # TensorProto.UINT4, INT4


# ------------------------------------------------------------------------------------------ count
def load(path: Path) -> Any:
    import onnx

    return onnx.load(str(path), load_external_data=True)


def count_model(model: Any, input_shapes: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    """MACs of one run of ``model`` at ``input_shapes`` (by input name), with the ops counted and not.

    Raises ShapeUnknown when a counted op's shapes cannot be inferred."""
    import onnx

    model = onnx.ModelProto.FromString(model.SerializeToString())  # the caller's graph stays as it was
    fix_input_shapes(model, input_shapes)
    inferred = infer_shapes(model)
    shapes = _collect(inferred)
    macs = 0
    counted: Counter[str] = Counter()
    uncounted: Counter[str] = Counter()
    for node in inferred.graph.node:
        node_count = node_macs(node, shapes)
        if node_count is None:
            if node.op_type not in _STRUCTURAL:
                uncounted[node.op_type] += 1
            continue
        macs += node_count
        counted[node.op_type] += 1
    return {
        "macs": macs,
        "counted_ops": dict(sorted(counted.items())),
        "uncounted_ops": dict(sorted(uncounted.items())),
    }


def batch_input_shapes(model: Any, sample_shape: Sequence[int], names: Sequence[str] | None = None) -> dict[str, Shape]:
    """The shapes of one item: batch 1 and the task's per-sample shape. A task with several named inputs
    packs them along the sample's first axis (text: [input_ids, attention_mask]), so each gets the rest."""
    inputs = graph_inputs(model)
    if names:
        return {name: [1, *sample_shape[1:]] for name in names}
    if len(inputs) != 1:
        raise ShapeUnknown(f"{len(inputs)} graph inputs and the task names none of them (input.names)")
    return {inputs[0].name: [1, *sample_shape]}


def uncounted_line(uncounted: Mapping[str, int]) -> str:
    """``not counted: Relu x4, MaxPool x2`` (empty when every op was counted)."""
    if not uncounted:
        return ""
    return "not counted: " + ", ".join(f"{op} x{n}" for op, n in sorted(uncounted.items(), key=lambda kv: -kv[1]))


def compute_block(
    path: Path, sample_shape: Sequence[int], names: Sequence[str] | None = None, *, made_from: bool = False
) -> dict[str, Any]:
    """The record's ``compute`` block for a one-shot model (classifier, encoder): MACs and ops per item.

    ``made_from``: ``path`` is the ONNX the artifact (TFLite, .pte, OpenVINO IR) was converted from, and
    the block says so. A graph whose shapes cannot be inferred gives a block with ``reason`` and no MACs."""
    source = "onnx the artifact was made from" if made_from else "onnx graph"
    model = load(path)
    block: dict[str, Any] = {"source": source, "weight_bytes": weight_bytes(model)}
    try:
        counted = count_model(model, batch_input_shapes(model, sample_shape, names))
    except ShapeUnknown as exc:
        return {**block, "macs_per_item": None, "ops_per_item": None, "reason": str(exc)}
    return {
        **block,
        "macs_per_item": counted["macs"],
        "ops_per_item": 2 * counted["macs"],
        "counted_ops": counted["counted_ops"],
        "uncounted_ops": counted["uncounted_ops"],
        "not_counted": uncounted_line(counted["uncounted_ops"]),
    }
