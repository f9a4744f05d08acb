"""Read what an ONNX artifact really computes in: per-layer precision and weight bits, from the file.

Records must not repeat a method's intentions; they count what the graph holds. A compute layer (Conv,
Gemm, MatMul and their integer forms) is classified by the types feeding it: a weight that comes from
a DequantizeLinear of an int8 initializer and an activation that comes from a DequantizeLinear is an
int8 layer (ONNX Runtime fuses such QDQ groups into integer kernels); ConvInteger / MatMulInteger are
dynamic int8; MatMulNBits carries its bit width; anything else computes in its float type.

``layers`` lists every compute layer with what its weights really hold: for float weights, the number
of distinct values per output channel and whether every non-zero value is a power of two. Simulated
methods (binary, ternary, log2, k-means, product quantization) store their weights as float values,
and this is where the record shows, from the file, that a binarized layer holds two values per channel.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

NORM_OPS = {
    "BatchNormalization",
    "InstanceNormalization",
    "LayerNormalization",
}  # layers, but their scales are not weights
COMPUTE_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "LSTM", "GRU", "RNN"} | NORM_OPS
INTEGER_OPS = {
    "ConvInteger": "dynamic",
    "MatMulInteger": "dynamic",
    "QLinearConv": "static",
    "QLinearMatMul": "static",
    "DynamicQuantizeLSTM": "dynamic",
}

_BITS = {
    "INT8": 8,
    "UINT8": 8,
    "INT4": 4,
    "UINT4": 4,
    "INT16": 16,
    "UINT16": 16,
    "FLOAT16": 16,
    "BFLOAT16": 16,
    "FLOAT": 32,
    "DOUBLE": 64,
    "FLOAT8E4M3FN": 8,
    "INT2": 2,
    "UINT2": 2,
}


def _type_name(elem_type: int) -> str:
    import onnx

    return onnx.TensorProto.DataType.Name(elem_type)


def analyse(path: Path) -> dict[str, Any]:
    """``precision_map`` (layers per precision) and the weight bits histogram of an ONNX model."""
    import numpy as np
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}

    def quantized_source(name: str) -> tuple[int | None, str | None]:
        """If ``name`` is the output of DequantizeLinear, the bits and type of what it dequantizes."""
        node = producer.get(name)
        if node is None or node.op_type != "DequantizeLinear":
            return None, None
        src = node.input[0]
        if src in inits:
            t = _type_name(inits[src].data_type)
            return _BITS.get(t), t
        upstream = producer.get(src)
        if upstream is not None and upstream.op_type == "QuantizeLinear":
            zp = upstream.input[2] if len(upstream.input) > 2 else ""
            if zp in inits:
                t = _type_name(inits[zp].data_type)
                return _BITS.get(t), t
            return 8, "UINT8"  # QuantizeLinear without zero point outputs uint8
        return None, None

    precision: Counter[str] = Counter()
    weight_bits: Counter[int] = Counter()
    layers: list[dict[str, Any]] = []
    for node in graph.node:
        op = node.op_type
        if op in INTEGER_OPS:
            label = "int8-dynamic" if INTEGER_OPS[op] == "dynamic" else "int8"
            precision[label] += 1
            layers.append({"node": node.name, "op": op, "precision": label})
            for name in node.input:
                if (
                    name in inits
                    and _type_name(inits[name].data_type) in ("INT8", "UINT8")
                    and len(inits[name].dims) > 1
                ):
                    weight_bits[8] += int(np.prod(inits[name].dims))
            continue
        if op == "MatMulNBits":
            bits = next((a.i for a in node.attribute if a.name == "bits"), 4)
            precision[f"int{bits}-weight-only"] += 1
            k = next((a.i for a in node.attribute if a.name == "K"), 0)
            n = next((a.i for a in node.attribute if a.name == "N"), 0)
            weight_bits[bits] += int(k * n)
            layers.append({"node": node.name, "op": op, "precision": f"int{bits}-weight-only", "n_weights": int(k * n)})
            continue
        if op not in COMPUTE_OPS or len(node.input) < 2:
            continue
        a_bits, _ = quantized_source(node.input[0])
        w_name = node.input[1]
        w_bits, _ = quantized_source(w_name)
        if w_bits is not None:
            dq = producer[w_name]
            n_weights = int(np.prod(inits[dq.input[0]].dims)) if dq.input[0] in inits else 0
            if op not in NORM_OPS:
                weight_bits[w_bits] += n_weights
            if a_bits is not None:
                label = f"int{w_bits}" if a_bits == w_bits else f"w{w_bits}a{a_bits}"
            else:
                label = f"int{w_bits}-weight-only"
        elif w_name in inits:
            t = _type_name(inits[w_name].data_type)
            bits = _BITS.get(t, 32)
            if op not in NORM_OPS:
                weight_bits[bits] += int(np.prod(inits[w_name].dims))
            label = {"FLOAT": "fp32", "FLOAT16": "fp16", "BFLOAT16": "bf16"}.get(t, t.lower())
        else:
            label = "fp32"
        precision[label] += 1
        layer: dict[str, Any] = {"node": node.name, "op": op, "precision": label}
        if w_bits is not None:
            layer.update(weight_bits=w_bits, n_weights=n_weights)
        source = producer.get(node.input[0])
        if source is not None and source.op_type == "Sign":
            layer["activation_levels"] = 2
        if (
            op not in NORM_OPS
            and w_name in inits
            and _type_name(inits[w_name].data_type) in ("FLOAT", "FLOAT16", "BFLOAT16", "DOUBLE")
        ):
            layer.update(
                float_weight_levels(
                    onnx.numpy_helper.to_array(inits[w_name]), transposed=op == "Gemm" and _attr(node, "transB", 0) == 0
                )
            )
        layers.append(layer)
    total = sum(weight_bits.values())
    mean_bits = sum(b * n for b, n in weight_bits.items()) / total if total else None
    return {
        "precision_map": dict(sorted(precision.items())),
        "weight_bits_hist": {str(b): n for b, n in sorted(weight_bits.items())},
        "mean_weight_bits": mean_bits,
        "n_weights": total,
        "layers": layers,
        "opset": next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None),
    }


def _attr(node: Any, name: str, default: int) -> int:
    return next((a.i for a in node.attribute if a.name == name), default)


def float_weight_levels(w: Any, transposed: bool = False) -> dict[str, Any]:
    """What a float weight tensor really holds: distinct values (per tensor, max per output channel) and
    whether every non-zero value is a power of two. Output channels are axis 0 (Conv, Gemm with transB)."""
    import numpy as np

    w = np.asarray(w, dtype=np.float64)
    rows = (w.T if transposed else w).reshape(w.shape[1] if transposed else w.shape[0], -1)
    nonzero = np.abs(w[w != 0])
    exponents = np.log2(nonzero) if nonzero.size else np.zeros(0)
    return {
        "n_weights": int(w.size),
        "levels_per_tensor": int(np.unique(w).size),
        "max_levels_per_channel": int(max(np.unique(r).size for r in rows)),
        "powers_of_two": bool(nonzero.size and np.allclose(exponents, np.round(exponents), atol=1e-6)),
    }


def onnx_artifact(
    path: Path,
    *,
    simulated: bool,
    weight_bits: int | None,
    activation_bits: int | None,
    details: dict[str, Any] | None = None,
    simulated_top1: float | None = None,
    compressed_size_bytes: int | None = None,
):  # -> Artifact (imported lazily to keep this module import-light)
    """An Artifact for an ONNX file, with its precision map read from the file itself.

    ``compressed_size_bytes`` overrides the zlib size for methods whose deployable form is a codebook
    (k-means, product quantization); the zlib size is then kept in details as ``zlib_size_bytes``."""
    from suite.methods.base import Artifact

    facts = analyse(path)
    return Artifact.for_file(
        "onnx",
        path,
        simulated=simulated,
        weight_bits=weight_bits,
        activation_bits=activation_bits,
        precision_map=facts.pop("precision_map"),
        details={**facts, **(details or {})},
        simulated_top1=simulated_top1,
        compressed_size_bytes=compressed_size_bytes,
    )
