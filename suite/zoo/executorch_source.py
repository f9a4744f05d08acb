"""``executorch``: an ExecuTorch ``.pte`` program (``model.path``), measured as it is on ExecuTorch.

A ``.pte`` is the end of ExecuTorch's export (``to_executorch``): the graph is lowered, often quantized
(PT2E with the XNNPACK quantizer), and nothing turns it back into a float model, so the task has no
float ONNX graph: every ONNX-side method fails with one line that says to measure it ``as-is``, and
``as-is`` runs the program on the target's ``executorch`` entries (artifact format ``pte``).

What the program is comes from the file itself, read with ExecuTorch's own deserializer
(``deserialize_pte_binary``): the forward plan's input and output tensors (sizes, scalar type), its
delegate and kernel calls (``suite.runtimes.executorch_rt.program_delegation``, the reader the runtime
records), and, inside each XNNPACK delegate, the XNNPACK graph decoded with the flatbuffer schema that
ships with ExecuTorch's XNNPACK backend and the ``flatc`` ExecuTorch bundles: the datatype of every
convolution's and fully-connected layer's input and filter (``qint8`` static activations, ``qdint8``
activations quantized at run time, ``qcint8``/``qcint4``/``qbint4`` weights, ``fp32``/``fp16``). The
XNNPACK payload has no Python reader of its own, so that decoding is done here; the labels are made
here from those datatypes, as for the other formats. A truncated or corrupt program, or one whose
input or number of scores disagrees with the task, stops the plan with one line before any job.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from suite.data.base import Splits, with_identity
from suite.data.hashing import file_sha256
from suite.errors import BadInput
from suite.zoo.base import ReferenceModel, file_only_reference, require_path, weights_file

# XNNPACK datatypes -> (label, bits) for the record
_XNN = {
    "xnn_datatype_fp32": ("fp32", 32),
    "xnn_datatype_fp16": ("fp16", 16),
    "xnn_datatype_bf16": ("bf16", 16),
    "xnn_datatype_qint8": ("int8", 8),
    "xnn_datatype_quint8": ("uint8", 8),
    "xnn_datatype_qcint8": ("int8 per-channel", 8),
    "xnn_datatype_qdint8": ("int8 dynamic", 8),
    "xnn_datatype_qpint8": ("int8 dynamic", 8),
    "xnn_datatype_qcint4": ("int4 per-channel", 4),
    "xnn_datatype_qbint4": ("int4 blockwise", 4),
    "xnn_datatype_qint32": ("int32", 32),
    "xnn_datatype_qcint32": ("int32", 32),
    "xnn_datatype_int32": ("int32", 32),
}
_SCALARS = {"float": "float32", "byte": "uint8", "char": "int8", "long": "int64", "int": "int32", "half": "float16"}
_COMPUTE = ("XNNConv2d", "XNNDepthwiseConv2d", "XNNFullyConnected", "XNNConvTranspose2d", "XNNBatchMatrixMultiply")


def _quiet_import() -> Any:
    """ExecuTorch's deserializer, imported without torchao's import-time warnings: they would be lines
    beside the plan's one line."""
    from suite.runtimes.executorch_rt import torchao_quiet

    with torchao_quiet():
        from executorch.exir._serialize._program import deserialize_pte_binary
    return deserialize_pte_binary


def _program(path: Path) -> Any:
    """The deserialized program; a file ExecuTorch cannot read is one line (BadInput)."""
    try:
        deserialize_pte_binary = _quiet_import()
    except ImportError:
        raise BadInput(
            f"{path}: model.source executorch needs ExecuTorch (pip install -e '.[toolkits]'; make setup does)"
        ) from None
    data = path.read_bytes()
    if len(data) < 8 or data[4:6] != b"ET":
        raise BadInput(
            f"{path}: not an ExecuTorch program (no 'ET' flatbuffer identifier: truncated or another format)"
        )
    try:
        return deserialize_pte_binary(data), data
    except Exception as exc:  # flatbuffer errors of any type: the file is not a whole program
        cause = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise BadInput(f"{path}: not a valid ExecuTorch program, truncated or corrupt ({cause})") from None


def xnnpack_graph(payload: bytes) -> dict[str, Any]:
    """One XNNPACK delegate payload as JSON: its header points at the flatbuffer, which ``flatc``
    decodes with the XNNPACK backend's own schema (non-finite clamp bounds quoted for ``json``)."""
    from executorch.backends.xnnpack.serialization import xnnpack_graph_serialize as serialize
    from executorch.backends.xnnpack.serialization.xnnpack_graph_serialize import XNNHeader
    from executorch.exir._serialize._flatbuffer import _flatc_decompile

    header = XNNHeader.from_bytes(payload[: XNNHeader.EXPECTED_LENGTH])
    flatbuffer = payload[header.flatbuffer_offset : header.flatbuffer_offset + header.flatbuffer_size]
    schema = Path(serialize.__file__).with_name("schema.fbs")
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "graph.bin").write_bytes(flatbuffer)
        _flatc_decompile(folder, str(schema), str(Path(folder) / "graph.bin"))
        text = (Path(folder) / "graph.json").read_text()
    graph: dict[str, Any] = json.loads(re.sub(r":\s*(-?inf|nan)\b", r': "\1"', text))
    return graph


def _datatypes(graph: dict[str, Any]) -> dict[int, str]:
    """XNNPACK value id -> datatype name."""
    types: dict[int, str] = {}
    for value in graph.get("xvalues", []):
        body = value.get("xvalue_union", {})
        tensor = body.get("tensor_value", body)
        if "id_out" in tensor:
            types[int(tensor["id_out"])] = str(tensor.get("datatype", "xnn_datatype_invalid"))
    return types


def compute_types(program: Any) -> tuple[Counter[str], Counter[str], int]:
    """(activation types, weight types, XNNPACK compute nodes) over every XNNPACK delegate of forward."""
    plan = next((p for p in program.execution_plan if p.name == "forward"), program.execution_plan[0])
    acts: Counter[str] = Counter()
    weights: Counter[str] = Counter()
    nodes = 0
    for delegate in plan.delegates:
        if delegate.id != "XnnpackBackend" or delegate.processed.location != 0:  # 0: inline in the program
            continue
        graph = xnnpack_graph(program.backend_delegate_data[delegate.processed.index].data)
        types = _datatypes(graph)
        for node in graph.get("xnodes", []):
            if node.get("xnode_union_type") not in _COMPUTE:
                continue
            body = node["xnode_union"]
            nodes += 1
            act = types.get(int(body.get("input1_id", -1)), "xnn_datatype_invalid")
            weight = types.get(int(body.get("filter_id", body.get("input2_id", -1))), "xnn_datatype_invalid")
            acts[_XNN.get(act, (act, 32))[0]] += 1
            weights[_XNN.get(weight, (weight, 32))[0]] += 1
    return acts, weights, nodes


def _family(acts: Counter[str], weights: Counter[str]) -> tuple[str, int, int]:
    act = acts.most_common(1)[0][0] if acts else "fp32"
    weight = weights.most_common(1)[0][0] if weights else "fp32"
    w_bits = next((bits for label, bits in _XNN.values() if label == weight), 32)
    if act == "int8 dynamic":
        return f"int8 dynamic activations, {weight} weights (XNNPACK)", w_bits, 8
    if act in ("int8", "uint8"):
        return f"int8 static, {weight} weights (XNNPACK)", w_bits, 8
    if weight.startswith("int"):
        return f"{weight} weight-only (XNNPACK)", w_bits, 32
    if weight in ("fp16", "bf16"):
        return weight.replace("fp", "float"), 16, 16
    return "float32", 32, 32


def pte_precision(path: Path) -> dict[str, Any]:
    """Family, bits, I/O and delegation of a ``.pte`` program, read from the program."""
    pte, data = _program(path)  # first: it imports ExecuTorch quietly
    from executorch.exir.scalar_type import ScalarType

    from suite.runtimes.executorch_rt import program_delegation

    program = pte.program
    plan = next((p for p in program.execution_plan if p.name == "forward"), program.execution_plan[0])

    def tensor(index: int) -> dict[str, Any]:
        value = plan.values[index].val
        sizes = [int(s) for s in getattr(value, "sizes", [])]
        kind = getattr(value, "scalar_type", None)
        dtype = ScalarType(kind).name.lower() if kind is not None else type(value).__name__
        return {"shape": sizes, "dtype": _SCALARS.get(dtype, dtype)}

    acts, weights, nodes = compute_types(program)
    family, w_bits, a_bits = _family(acts, weights)
    inputs = [tensor(i) for i in plan.inputs]
    delegation = program_delegation(data)
    precision = acts if nodes else Counter({"fp32": delegation["kernel_calls"]})
    order = sorted(precision.items(), key=lambda kv: (-kv[1], kv[0]))
    short = {"fp32": "f32", "fp16": "f16", "int8 dynamic": "int8", "uint8": "int8"}
    return {
        "format": "pte",
        "family": family,
        "is_float": family == "float32",
        "weight_bits": w_bits,
        "activation_bits": a_bits,
        "input": inputs[0] if inputs else {},
        "inputs": len(inputs),
        "output": tensor(plan.outputs[0]) if plan.outputs else {},
        "compute_types": {"activations": dict(acts), "weights": dict(weights), "xnnpack_compute_nodes": nodes},
        "tensor_types": dict(sorted((weights + acts).items())),
        "delegation": delegation,
        "inference_precision": "+".join(dict.fromkeys(short.get(p, p) for p, _ in order)) or None,
    }


def check_interface(facts: dict[str, Any], path: Path, task: Any) -> None:
    """The program's input (a batch of 1, the sample shape, the type) and scores against the task."""
    shape, dtype = facts["input"].get("shape", []), facts["input"].get("dtype")
    if facts["inputs"] != 1:
        raise BadInput(
            f"{path}: the program's forward takes {facts['inputs']} inputs; as-is on a .pte takes one-input classifiers"
        )
    if shape[1:] != list(task.input.shape):
        raise BadInput(
            f"{path}: the program's input is {shape[1:]} per sample, but the task declares input.shape "
            f"{list(task.input.shape)} (layout {task.input.layout}); set input.shape: {shape[1:]}"
        )
    if shape[:1] != [1]:
        raise BadInput(f"{path}: the program's input has batch {shape[:1]}; the executorch runtime runs a batch of 1")
    if dtype != task.input.dtype:
        raise BadInput(
            f"{path}: the program takes {dtype} input but the task feeds input.dtype {task.input.dtype}; set input.dtype: {dtype}"
        )
    scores = facts["output"].get("shape", [None])[-1]
    if task.num_classes and scores != task.num_classes:
        raise BadInput(
            f"{path}: the program gives {scores} scores per sample, but the task declares num_classes {task.num_classes}"
        )


def identity(task: Any) -> dict[str, Any]:
    """The program's hash; on the way it is read and checked against the task (one line)."""
    from suite.registry import dist_version

    path = weights_file(task.model.path, task, hint="the ExecuTorch .pte file")
    check_interface(pte_precision(path), path, task)
    return {"file_sha256": file_sha256(path), "executorch": dist_version("executorch")}


@with_identity(identity, check=require_path)
def load(task: Any, splits: Splits) -> ReferenceModel:
    path = weights_file(task.model.path, task, hint="the ExecuTorch .pte file")
    return file_only_reference(task, path, pte_precision(path)["family"], "ExecuTorch program")
