"""What a model file already is, read from the file: float, dynamic-range, full-integer or QDQ.

A model that a vendor or a model zoo quantized must be recorded as what it is (``int8 full-integer,
uint8 I/O``), never as the ``fp32`` it is not, and the methods that assume a float source (``fp32``,
the float conversions) must refuse it. The facts come from the file's own declarations: a TFLite
flatbuffer's tensor types and quantization parameters through LiteRT's interpreter
(``get_tensor_details``, ``get_input_details``, the op list), an ONNX graph's initializer types and
its QuantizeLinear / DequantizeLinear / QLinear* / MatMulNBits nodes through ``onnx``, a GGUF file's
tensor types and bytes through the ``gguf`` package (suite.compute.weights.gguf_block). No library
names a model's quantization scheme, so the labels are made here from those facts.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

_BITS = {"int8": 8, "uint8": 8, "int16": 16, "float16": 16, "float32": 32, "int4": 4, "uint4": 4}
TFLITE_COMPUTE_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL", "CONV_3D"}


def _io(detail: dict[str, Any]) -> dict[str, Any]:
    """A TFLite input/output: its type and, for an integer one, the scale and zero point it declares."""
    dtype = np.dtype(detail["dtype"]).name
    scale, zero_point = detail.get("quantization") or (0.0, 0)
    entry: dict[str, Any] = {"name": detail["name"], "dtype": dtype, "shape": [int(d) for d in detail["shape"]]}
    if dtype in ("uint8", "int8", "int16") and scale:
        entry.update(scale=float(scale), zero_point=int(zero_point))
    return entry


def tflite_precision(path: Path) -> dict[str, Any]:
    """Family, bits and I/O types of a ``.tflite`` file, from the tensors LiteRT reads from it."""
    from ai_edge_litert import interpreter as lrt

    it = lrt.Interpreter(
        model_path=str(path), experimental_op_resolver_type=lrt.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    tensors = {int(t["index"]): t for t in it.get_tensor_details()}
    ops = it._get_ops_details()  # the only reader of the node list LiteRT exposes to Python
    producer = {int(t): op for op in ops for t in op["outputs"]}

    def dtype(index: int) -> str:
        return np.dtype(tensors[index]["dtype"]).name

    acts: Counter[str] = Counter()
    weights: Counter[str] = Counter()
    for op in ops:
        if op["op_name"] not in TFLITE_COMPUTE_OPS or len(op["inputs"]) < 2:
            continue
        act, weight = int(op["inputs"][0]), int(op["inputs"][1])
        stored = dtype(weight)
        src = producer.get(weight)
        if src is not None and src["op_name"] == "DEQUANTIZE":
            stored = dtype(int(src["inputs"][0]))
        acts[dtype(act)] += 1
        weights[stored] += 1
    per_channel = any(len((t.get("quantization_parameters") or {}).get("scales", [])) > 1 for t in tensors.values())
    inp, out = _io(it.get_input_details()[0]), _io(it.get_output_details()[0])
    act = acts.most_common(1)[0][0] if acts else inp["dtype"]
    weight = weights.most_common(1)[0][0] if weights else "float32"
    io = f"{inp['dtype']} I/O" if inp["dtype"] == out["dtype"] else f"{inp['dtype']} in, {out['dtype']} out"
    if act in ("int8", "uint8") and weight in ("int8", "uint8"):
        family = f"int8 full-integer, {io}"
    elif act == "int16":
        family = f"int16x8 full-integer, {io}"
    elif weight in ("int8", "uint8", "int4"):
        family = f"{weight} dynamic-range (float activations), {io}"
    elif weight == "float16":
        family = f"float16 weights, {io}"
    else:
        family = f"float32, {io}"
    return {
        "format": "tflite",
        "family": family,
        "is_float": family.startswith("float32") and inp["dtype"] == "float32" and out["dtype"] == "float32",
        "weight_bits": _BITS.get(weight, 32),
        "activation_bits": _BITS.get(act, 32),
        "per_channel": per_channel,
        "input": inp,
        "output": out,
        "compute_types": {"activations": dict(acts), "weights": dict(weights)},
        "tensor_types": dict(sorted(Counter(dtype(i) for i in tensors).items())),
    }


_QLINEAR = ("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "QGemm")


def onnx_precision(path: Path) -> dict[str, Any]:
    """Family, bits and I/O types of an ONNX file, from its initializer types and quantization nodes."""
    import onnx

    from suite.zoo.checks import load_onnx
    from suite.zoo.onnx_io import describe

    model = load_onnx(path, load_external_data=False)
    graph = model.graph
    ops = Counter(node.op_type for node in graph.node)
    inits = {t.name: t for t in graph.initializer}
    init_types = Counter(onnx.helper.tensor_dtype_to_np_dtype(t.data_type).name for t in graph.initializer)
    dq_types: Counter[str] = Counter()
    per_channel = False
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in inits:
            dq_types[onnx.helper.tensor_dtype_to_np_dtype(inits[node.input[0]].data_type).name] += 1
            scale = inits.get(node.input[1])
            per_channel = per_channel or (scale is not None and int(np.prod(scale.dims or [1])) > 1)
    info = describe(model)
    inp = {"name": info["input"]["name"], "dtype": info["input"]["dtype"]}
    out = {"name": info["output"]["name"]}
    stored = dq_types.most_common(1)[0][0] if dq_types else None
    if ops["MatMulNBits"]:
        family, w_bits, a_bits = "int4 weight-only (MatMulNBits)", 4, 32
    elif any(ops[q] for q in _QLINEAR):
        family, w_bits, a_bits = "int8 QOperator (QLinear/Integer ops)", 8, 8
    elif ops["DynamicQuantizeLinear"]:
        family, w_bits, a_bits = "int8 dynamic (activations quantized at run time)", 8, 8
    elif ops["QuantizeLinear"] and ops["DequantizeLinear"]:
        w_bits = _BITS.get(stored or "int8", 8)
        family, a_bits = f"{stored or 'int8'} QDQ", 8
    elif ops["DequantizeLinear"]:
        w_bits = _BITS.get(stored or "int8", 8)
        family, a_bits = f"{stored or 'int8'} weight-only (DequantizeLinear)", 32
    elif init_types.get("float16", 0) > init_types.get("float32", 0):
        family, w_bits, a_bits = "float16", 16, 16
    else:
        family, w_bits, a_bits = "float32", 32, 32
    if inp["dtype"] != "float32":
        family += f", {inp['dtype']} input"
    return {
        "format": "onnx",
        "family": family,
        "is_float": family == "float32",
        "weight_bits": w_bits,
        "activation_bits": a_bits,
        "per_channel": per_channel,
        "input": inp,
        "output": out,
        "quantization_nodes": {
            k: v
            for k, v in sorted(ops.items())
            if k in {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulNBits", *_QLINEAR}
        },
        "tensor_types": dict(sorted(init_types.items())),
    }


_GGUF_FLOAT = {"F32": 32, "F16": 16, "BF16": 16}


def gguf_precision(path: Path) -> dict[str, Any]:
    """Family and bits of a GGUF file from its tensors' ggml types: the type holding most of the weights names
    the family (``Q4_1 (llama.cpp), 5.06 bits per weight``: bits as stored, block scales included), its digits the
    nominal weight bits. llama.cpp's CPU kernels multiply a block-quantized weight with activations quantized to
    8-bit blocks, so a quantized file's activations are 8 bits (16 for F16, 32 for F32)."""
    import re

    from suite.compute.weights import gguf_block

    block = gguf_block(path)
    if not block.get("by_type"):
        raise ValueError(f"{path}: no weight tensor in this GGUF file ({block.get('reason')})")
    main = next(iter(block["by_type"]))  # by weights, most first
    bpw = block["bits_per_weight"]
    is_float = set(block["by_type"]) <= set(_GGUF_FLOAT)
    if main in _GGUF_FLOAT:
        w_bits = a_bits = _GGUF_FLOAT[main]
    else:
        digits = re.search(r"\d+", main)
        w_bits, a_bits = (int(digits[0]) if digits else round(bpw)), 8
    return {
        "format": "gguf",
        "family": f"{main} (llama.cpp), {bpw:.2f} bits per weight",
        "is_float": is_float,
        "weight_bits": w_bits,
        "activation_bits": a_bits,
        "bits_per_weight": bpw,
        "file_type": block.get("file_type"),
        "weights_by_type": block["by_type"],
        "tensor_types": dict(Counter(t["type"] for t in _gguf_tensors(path))),
    }


def _gguf_tensors(path: Path) -> list[dict[str, Any]]:
    """Every tensor of a GGUF file (norms included) with its ggml type name."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    return [{"name": t.name, "type": gguf.GGMLQuantizationType(t.tensor_type).name} for t in reader.tensors]


def source_precision(source: str, path: Path) -> dict[str, Any] | None:
    """The precision of a task's model file for the sources that are one file in a runnable format (a ``.gguf``
    file whatever its source names: transformers reads one too)."""
    if path.suffix.lower() == ".gguf":
        return gguf_precision(path)
    if source == "tflite":
        return tflite_precision(path)
    if source == "onnx":
        return onnx_precision(path)
    if source == "openvino":
        from suite.zoo.openvino_source import openvino_precision

        return openvino_precision(path)
    if source == "executorch":
        from suite.zoo.executorch_source import pte_precision

        return pte_precision(path)
    return None
