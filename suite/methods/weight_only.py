"""Weight-only quantization of Conv/Gemm: each weight becomes an integer initializer plus a
DequantizeLinear, activations stay float. Shared by ``hybrid`` (int8) and ``int4`` (4-bit).

Written here because ONNX Runtime's tools cover weight-only quantization only for MatMul and Gather
(``MatMulNBitsQuantizer``); ``quantize_static`` always quantizes activations too. The rewrite is small:
symmetric per-channel (or per-tensor) round-to-nearest, the integer tensor stored in its real type
(INT8, or INT4 packed two to a byte), and a DequantizeLinear with the channel axis. INT4 needs opset 21
or ORT's ``com.microsoft`` DequantizeLinear; like ORT's own quantizer we use the latter and keep the
model's opset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def quantize_symmetric(w: np.ndarray, bits: int, per_channel: bool, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Round-to-nearest symmetric quantization: (integer values, scales). Scales per ``axis`` or one."""
    qmax = 2 ** (bits - 1) - 1
    if per_channel:
        moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
        scale = np.abs(moved).max(axis=1) / qmax
    else:
        scale = np.array(np.abs(w).max() / qmax)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    shape = [1] * w.ndim
    if per_channel:
        shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -qmax - 1, qmax).astype(np.int8)
    return q, scale


def insert_weight_dequantize(
    src: Path, out: Path, bits: int, per_channel: bool = True, op_types: tuple[str, ...] = ("Conv", "Gemm")
) -> dict[str, Any]:
    """Rewrite ``src`` so every constant Conv/Gemm weight is stored in ``bits`` bits; returns a summary."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8, got {bits}")
    model = onnx.load(str(src))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    new_nodes = []
    done: list[dict[str, Any]] = []
    rewritten: dict[str, str] = {}  # a weight shared by several nodes is dequantized once
    for node in graph.node:
        if node.op_type in op_types and len(node.input) > 1 and node.input[1] in rewritten:
            node.input[1] = rewritten[node.input[1]]
        elif node.op_type in op_types and len(node.input) > 1 and node.input[1] in inits:
            w_name = node.input[1]
            w = numpy_helper.to_array(inits[w_name])
            # Gemm computes A x B (transB=0: B is K x N, channels on axis 1) or A x B^T (channels on axis 0)
            axis = 1 if node.op_type == "Gemm" and not any(a.name == "transB" and a.i for a in node.attribute) else 0
            q, scale = quantize_symmetric(w, bits, per_channel, axis)
            q_name, s_name, dq_out = f"{w_name}_q{bits}", f"{w_name}_scale", f"{w_name}_dequantized"
            if bits == 8:
                q_tensor = numpy_helper.from_array(q, q_name)
                domain = ""
            else:
                q_tensor = helper.make_tensor(q_name, TensorProto.INT4, q.shape, q.flatten().tolist())
                domain = "com.microsoft"
            graph.initializer.remove(inits[w_name])
            graph.initializer.extend([q_tensor, numpy_helper.from_array(scale, s_name)])
            attrs = {"axis": axis} if per_channel else {}
            new_nodes.append(
                helper.make_node(
                    "DequantizeLinear",
                    [q_name, s_name],
                    [dq_out],
                    name=f"{w_name}_DequantizeLinear",
                    domain=domain,
                    **attrs,
                )
            )
            node.input[1] = rewritten[w_name] = dq_out
            done.append({"node": node.name, "weight": w_name, "shape": list(w.shape), "bits": bits})
        new_nodes.append(node)
    del graph.node[:]
    graph.node.extend(new_nodes)
    if bits == 4 and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_operatorsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    return {"quantized_weights": done, "per_channel": per_channel, "bits": bits}
