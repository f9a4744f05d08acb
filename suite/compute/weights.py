"""The true bits per weight of an artifact, read from the file: the ``weights`` block of ``artifact.details``.

A method's label ("int4", "q4_k_m") says what most weights were meant to be; what the file stores can be
more: scales, zero points and block metadata, and the tensors a toolkit left in higher precision (the
embedding a Gather reads, an LM head, a layer whose width the block size does not divide). This module
counts, per format, every weight tensor's storage and divides by the number of logical weights:

    bits_per_weight = (bits of the weight tensors + bits of their scales, zero points and block metadata)
                      / logical weights

**What is a weight**: the parameters of matrix products, convolutions and embeddings (MatMul, Gemm, Conv,
ConvTranspose, Gather of a constant table and their quantized forms); biases, norm scales and other 1-D
parameters are left out: they are a fraction of a percent of a model, every toolkit keeps them in float,
and llama.cpp's label of a type ("q4_0: 4.5 bpw") is about the matrices too. A tied embedding / LM head
stored once is counted once.

**Nominal bits**: the method's ``weight_bits`` (fp32 32, fp16 16, int8 methods 8, int4 4); a GGUF file's
by the block size of its file type's main quant type, as ggml defines it (Q8_0 8.5, Q4_0 4.5, Q4_K 4.5,
IQ4_XS 4.25, F16 16). ``overstated`` is true when the measured figure exceeds the nominal one by more than
:data:`OVERSTATED_BITS`: the label promises more compression than the file holds.

Formats: ONNX (initializers, followed through DequantizeLinear and layout ops; MatMulNBits counted from
its K and N), GGUF (``gguf.GGUFReader``: each tensor's type and bytes), OpenVINO IR (``Constant`` nodes and
the ``Convert``/``Subtract``/``Multiply`` decompression around them), TFLite (the flatbuffer's tensors and
their quantization parameters). A ``.pte`` program is not read (its XNNPACK payload is opaque): its block
says so. Counting never fails a build: an error becomes the block's ``reason``.

Hand-written because no library reports bits per weight across these formats: each format's own reader
gives types and shapes, the rule of what counts and the sums are here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: A nominal label that understates the stored bits by more than this is flagged ``overstated``.
OVERSTATED_BITS = 0.25
#: How many higher-precision tensors the block names (the largest first); the count covers them all.
MAX_LISTED = 12
COUNTED = "weights of matrix products, convolutions and embeddings (biases and norms left out)"


@dataclass
class WeightTensor:
    """One weight tensor as stored: its logical weights, storage bits (with its own metadata) and type."""

    name: str
    weights: int
    bits: int
    label: str
    element_bits: float
    role: str = ""  # embedding, lm head, ... when the file says


@dataclass
class Tally:
    tensors: list[WeightTensor] = field(default_factory=list)
    metadata_bits: int = 0

    def block(self, nominal: float | None, fmt: str, why_higher: Any = None) -> dict[str, Any]:
        weights = sum(t.weights for t in self.tensors)
        if weights == 0:
            return {"format": fmt, "bits_per_weight": None, "reason": "no weight tensor found", "counted": COUNTED}
        storage = sum(t.bits for t in self.tensors) + self.metadata_bits
        bpw = storage / weights
        by_type: Counter[str] = Counter()
        for t in self.tensors:
            by_type[t.label] += t.weights
        higher = [t for t in self.tensors if nominal is not None and t.element_bits > nominal + OVERSTATED_BITS]
        higher.sort(key=lambda t: -t.weights)
        block: dict[str, Any] = {
            "format": fmt,
            "bits_per_weight": round(bpw, 4),
            "nominal_bits": nominal,
            "excess_bits": round(bpw - nominal, 4) if nominal is not None else None,
            "overstated": bool(nominal is not None and bpw - nominal > OVERSTATED_BITS),
            "weights": weights,
            "storage_bits": storage,
            "metadata_bits": self.metadata_bits,
            "by_type": dict(by_type.most_common()),
            "higher_precision_weights": sum(t.weights for t in higher),
            "higher_precision": [
                {
                    "name": t.name,
                    "type": t.label,
                    "weights": t.weights,
                    "why": (why_higher(t) if why_higher else None) or t.role or "kept by the toolkit",
                }
                for t in higher[:MAX_LISTED]
            ],
            "counted": COUNTED,
        }
        return block


def weights_block(artifact_format: str, path: Path, nominal_bits: float | None) -> dict[str, Any]:
    """The ``weights`` block of one artifact file (never raises: an error is the block's ``reason``)."""
    try:
        suffix = path.suffix.lower()
        if artifact_format == "gguf" or suffix == ".gguf":
            return gguf_block(path)
        if artifact_format == "onnx":
            return onnx_tally(path).block(nominal_bits, "onnx", _onnx_why)
        if artifact_format == "tflite":
            return tflite_tally(path).block(nominal_bits, "tflite")
        if artifact_format in ("openvino", "ir") or suffix == ".xml":
            return openvino_tally(path).block(nominal_bits, "openvino-ir")
        return {
            "format": artifact_format,
            "bits_per_weight": None,
            "reason": f"not counted: the {artifact_format} format is not read for weights",
        }
    except Exception as exc:  # noqa: BLE001 - a count that fails says why in the block, the build goes on
        return {
            "format": artifact_format,
            "bits_per_weight": None,
            "reason": f"not counted: {type(exc).__name__}: {exc}"[:300],
        }


# --- ONNX ----------------------------------------------------------------------------------------------

#: Inputs of each op that carry a weight when they come from an initializer.
ONNX_WEIGHT_INPUTS: dict[str, tuple[int, ...]] = {
    "MatMul": (0, 1),
    "Gemm": (0, 1),
    "Conv": (1,),
    "ConvTranspose": (1,),
    "Gather": (0,),
    "MatMulNBits": (1,),
    "MatMulInteger": (1,),
    "MatMulIntegerToFloat": (1,),
    "DynamicQuantizeMatMul": (1,),
    "QLinearMatMul": (3,),
    "QLinearConv": (3,),
    "QGemm": (3,),
    "ConvInteger": (1,),
    "GatherBlockQuantized": (0,),
}
#: Inputs of each op that are the weight's scales, zero points or block metadata.
ONNX_META_INPUTS: dict[str, tuple[int, ...]] = {
    "MatMulNBits": (2, 3, 4),
    "MatMulInteger": (3,),
    "MatMulIntegerToFloat": (3, 5),
    "DynamicQuantizeMatMul": (2, 3),
    "QLinearMatMul": (4, 5),
    "QLinearConv": (4, 5),
    "QGemm": (4, 5),
    "ConvInteger": (3,),
    "GatherBlockQuantized": (2, 3),
}
ONNX_LAYOUT_OPS = {"Transpose", "Reshape", "Cast", "Identity", "Squeeze", "Unsqueeze", "Flatten"}
_ONNX_NAMES = {
    "FLOAT": "f32",
    "FLOAT16": "f16",
    "BFLOAT16": "bf16",
    "DOUBLE": "f64",
    "INT8": "int8",
    "UINT8": "uint8",
    "INT4": "int4",
    "UINT4": "uint4",
    "INT16": "int16",
    "UINT16": "uint16",
    "INT32": "int32",
}


def _onnx_bits(data_type: int) -> int:
    import onnx

    name = onnx.TensorProto.DataType.Name(data_type)
    if name in ("INT4", "UINT4", "FLOAT4E2M1"):
        return 4
    if name.startswith("FLOAT8"):
        return 8
    return int(onnx.helper.tensor_dtype_to_np_dtype(data_type).itemsize * 8)


def _onnx_type(data_type: int) -> str:
    import onnx

    name = onnx.TensorProto.DataType.Name(data_type)
    return str(_ONNX_NAMES.get(name, name.lower()))


def _numel(dims: Any) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def onnx_tally(path: Path) -> Tally:
    """Weights of an ONNX graph (the main graph; external data is not loaded: shapes and types suffice)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    inits = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    outputs = {o.name for o in graph.output}
    consumers: dict[str, list[Any]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)

    def source(name: str) -> tuple[str | None, list[str], str | None]:
        """The initializer a weight input comes from, the metadata initializers met on the way, and the op
        that dequantizes it (None for a plain float weight)."""
        meta: list[str] = []
        via = None
        seen = 0
        while name not in inits and seen < 8:
            node = producer.get(name)
            if node is None:
                return None, [], None
            if node.op_type == "DequantizeLinear":
                meta += [x for x in node.input[1:3] if x in inits]
                via = "DequantizeLinear"
            elif node.op_type not in ONNX_LAYOUT_OPS:
                return None, [], None
            name = node.input[0]
            seen += 1
        return (name if name in inits else None), meta, via

    tally = Tally()
    seen_weights: set[str] = set()
    seen_meta: set[str] = set()
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        for index in ONNX_WEIGHT_INPUTS.get(node.op_type, ()):
            if index >= len(node.input) or not node.input[index]:
                continue
            init_name, meta, via = source(node.input[index])
            if init_name is None or init_name in seen_weights:
                continue
            init = inits[init_name]
            if node.op_type in ("MatMul", "Gemm") and len(init.dims) < 2:
                continue
            meta += [node.input[i] for i in ONNX_META_INPUTS.get(node.op_type, ()) if i < len(node.input)]
            if init_name.endswith("_quantized"):  # ONNX Runtime's naming of a weight's scale and zero point
                base = init_name[: -len("_quantized")]
                meta += [base + "_scale", base + "_zero_point"]
            seen_weights.add(init_name)
            bits = _numel(init.dims) * _onnx_bits(init.data_type)
            weights = _numel(init.dims)
            label = _onnx_type(init.data_type)
            if node.op_type == "MatMulNBits":
                weights = int(attrs["K"]) * int(attrs["N"])
                label = f"int{attrs.get('bits', 4)} (MatMulNBits, block {attrs.get('block_size')})"
            elif via or node.op_type in ONNX_META_INPUTS:
                label = f"{label} ({via or node.op_type})"
            role = ""
            if node.op_type in ("Gather", "GatherBlockQuantized"):
                role = "embedding (Gather)"
            elif any(o in outputs for o in node.output) or any(
                o in outputs for c in (consumers[x] for x in node.output) for n in c for o in n.output
            ):
                role = "output head (feeds the graph's output)"
            tally.tensors.append(WeightTensor(init_name, weights, bits, label, bits / max(weights, 1), role))
            for m in meta:
                if m in inits and m not in seen_meta and m not in seen_weights:
                    seen_meta.add(m)
                    tally.metadata_bits += _numel(inits[m].dims) * _onnx_bits(inits[m].data_type)
    return tally


def _onnx_why(tensor: WeightTensor) -> str:
    return (
        f"{tensor.role}: left in {tensor.label} by the toolkit"
        if tensor.role
        else f"left in {tensor.label} by the toolkit"
    )


# --- GGUF ----------------------------------------------------------------------------------------------

#: A llama.cpp file type's main quant type (the one its label is named by).
_GGUF_MAIN_TYPE = {
    "ALL_F32": "F32",
    "MOSTLY_F16": "F16",
    "MOSTLY_BF16": "BF16",
    "MOSTLY_Q8_0": "Q8_0",
    "MOSTLY_Q4_0": "Q4_0",
    "MOSTLY_Q4_1": "Q4_1",
    "MOSTLY_Q5_0": "Q5_0",
    "MOSTLY_Q5_1": "Q5_1",
    "MOSTLY_Q2_K": "Q2_K",
    "MOSTLY_Q2_K_S": "Q2_K",
    "MOSTLY_Q3_K_S": "Q3_K",
    "MOSTLY_Q3_K_M": "Q3_K",
    "MOSTLY_Q3_K_L": "Q3_K",
    "MOSTLY_Q4_K_S": "Q4_K",
    "MOSTLY_Q4_K_M": "Q4_K",
    "MOSTLY_Q5_K_S": "Q5_K",
    "MOSTLY_Q5_K_M": "Q5_K",
    "MOSTLY_Q6_K": "Q6_K",
    "MOSTLY_IQ4_NL": "IQ4_NL",
    "MOSTLY_IQ4_XS": "IQ4_XS",
    "MOSTLY_IQ3_S": "IQ3_S",
    "MOSTLY_IQ3_M": "IQ3_S",
    "MOSTLY_IQ3_XS": "IQ3_S",
    "MOSTLY_IQ3_XXS": "IQ3_XXS",
    "MOSTLY_IQ2_XXS": "IQ2_XXS",
    "MOSTLY_IQ2_XS": "IQ2_XS",
    "MOSTLY_IQ2_S": "IQ2_S",
    "MOSTLY_IQ2_M": "IQ2_S",
    "MOSTLY_IQ1_S": "IQ1_S",
    "MOSTLY_IQ1_M": "IQ1_M",
}


def ggml_type_bits(type_name: str) -> float:
    """Bits per weight of a ggml type, from its block: bytes per block x 8 / weights per block."""
    import gguf

    block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[type_name]]
    return size * 8 / block


def gguf_block(path: Path) -> dict[str, Any]:
    """Weights of a GGUF file: every tensor of two or more dimensions, with its ggml type and bytes."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    field = reader.get_field("general.file_type")
    file_type = None
    if field is not None:
        value = int(field.parts[field.data[0]][0])
        try:
            file_type = gguf.LlamaFileType(value).name
        except ValueError:
            file_type = str(value)
    main = _GGUF_MAIN_TYPE.get(str(file_type))
    nominal = ggml_type_bits(main) if main else None
    main_block = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[main]][0] if main else 1
    tally = Tally()
    for tensor in reader.tensors:
        if len(tensor.shape) < 2:  # norms and biases
            continue
        kind = gguf.GGMLQuantizationType(tensor.tensor_type).name
        weights = int(tensor.n_elements)
        bits = int(tensor.n_bytes) * 8
        role = ""
        if tensor.name.startswith("token_embd"):
            role = "token embedding"
        elif tensor.name.startswith("output."):
            role = "LM head"
        tally.tensors.append(WeightTensor(tensor.name, weights, bits, kind, bits / max(weights, 1), role))
    row_of = {t.name: int(t.shape[0]) for t in reader.tensors}

    def why(t: WeightTensor) -> str:
        if main and row_of.get(t.name, 0) % main_block:
            return f"shape fallback: rows of {row_of[t.name]} are not a multiple of {main}'s block of {main_block}"
        if t.role:
            return f"{t.role}: kept in {t.label} by the quantizer's recipe"
        return f"kept in {t.label} by the quantizer's mix for {file_type}"

    block = tally.block(nominal, "gguf", why)
    block["file_type"] = file_type
    return block


# --- OpenVINO IR ---------------------------------------------------------------------------------------

_OV_WEIGHT_OPS = {"MatMul", "Convolution", "GroupConvolution", "ConvolutionBackpropData", "Gather"}


def openvino_tally(path: Path) -> Tally:
    """Weights of an OpenVINO IR: the ``Constant`` each weight input reaches through the decompression
    subgraph (Convert, Subtract of a zero point, Multiply by a scale, Reshape), with those constants as
    metadata."""
    import openvino as ov

    model = ov.Core().read_model(str(path))
    tally = Tally()
    seen: set[str] = set()
    seen_meta: set[str] = set()

    def walk(output: Any, meta: list[Any], depth: int = 0) -> Any:
        node = output.get_node()
        kind = node.get_type_name()
        if kind == "Constant":
            return node
        if depth > 8 or kind not in ("Convert", "Subtract", "Multiply", "Reshape", "Transpose", "Unsqueeze"):
            return None
        found = None
        for value in node.input_values():
            src = value.get_node()
            if src.get_type_name() == "Constant" and kind in ("Subtract", "Multiply"):
                if found is None and _ov_elements(src) > 1 and src.get_element_type().bitwidth <= 8:
                    found = src  # the quantized weight itself (a u8/i8/u4/i4 constant)
                else:
                    meta.append(src)
            elif kind in ("Reshape", "Transpose", "Unsqueeze") and value is not node.input_value(0):
                continue
            else:
                inner = walk(value, meta, depth + 1)
                if inner is not None and found is None:
                    found = inner
        return found

    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        if kind not in _OV_WEIGHT_OPS:
            continue
        inputs = [op.input_value(0)] if kind == "Gather" else [op.input_value(i) for i in range(op.get_input_size())]
        for value in inputs:
            meta: list[Any] = []
            const = walk(value, meta)
            if const is None or const.get_friendly_name() in seen or len(const.get_output_partial_shape(0)) < 2:
                continue
            seen.add(const.get_friendly_name())
            n = _ov_elements(const)
            et = const.get_element_type()
            bits = n * et.bitwidth
            label = et.get_type_name() + (" (decompressed)" if meta else "")
            role = "embedding (Gather)" if kind == "Gather" else ""
            tally.tensors.append(WeightTensor(const.get_friendly_name(), n, bits, label, float(et.bitwidth), role))
            for m in meta:
                if m.get_friendly_name() not in seen_meta:
                    seen_meta.add(m.get_friendly_name())
                    tally.metadata_bits += _ov_elements(m) * m.get_element_type().bitwidth
    return tally


def _ov_elements(node: Any) -> int:
    return _numel(node.get_output_shape(0))


# --- TFLite --------------------------------------------------------------------------------------------

#: Builtin operators whose constant inputs are weights (biases and other 1-D constants are left out).
_TFLITE_WEIGHT_OPS = {"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "BATCH_MATMUL", "GATHER"}


def tflite_tally(path: Path) -> Tally:
    """Weights of a TFLite flatbuffer (read with LiteRT's generated schema, no interpreter): the constant
    tensors (a buffer with data, inline or at an offset) of two or more dimensions that a weight operator
    reads, each with its quantization's scales (float32) and zero points (int64, as the schema stores them)."""
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    data = path.read_bytes()
    model = schema.Model.GetRootAs(data, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    bits_of = {"float32": 32, "float16": 16, "int8": 8, "uint8": 8, "int4": 4, "int16": 16, "int32": 32}
    tally = Tally()
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        seen: set[int] = set()
        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            code = model.OperatorCodes(op.OpcodeIndex())
            name = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "")
            if name not in _TFLITE_WEIGHT_OPS:
                continue
            for index in op.InputsAsNumpy() if op.InputsLength() else []:
                if index < 0 or index in seen:
                    continue
                tensor = graph.Tensors(int(index))
                buffer = model.Buffers(tensor.Buffer())
                constant = buffer is not None and (buffer.DataLength() > 0 or buffer.Offset() > 1)
                shape = tensor.ShapeAsNumpy() if tensor.ShapeLength() else np.zeros(0)
                if not constant or len(shape) < 2:
                    continue
                seen.add(int(index))
                kind = types.get(tensor.Type(), str(tensor.Type()))
                element = bits_of.get(kind, 32)
                n = int(np.prod(shape))
                q = tensor.Quantization()
                scales = q.ScaleLength() if q is not None else 0
                zero_points = q.ZeroPointLength() if q is not None else 0
                label = kind + (" (quantized)" if scales else "")
                role = "embedding (GATHER)" if name == "GATHER" else ""
                tally.tensors.append(WeightTensor(tensor.Name().decode(), n, n * element, label, float(element), role))
                tally.metadata_bits += scales * 32 + zero_points * 64
    return tally
