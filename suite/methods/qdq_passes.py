"""Graph passes that make an exported fake-quant ONNX file deploy like ONNX Runtime's own QDQ files.

Exporters of QAT models (torch.ao's TorchScript export, Brevitas' QCDQ export) write correct QDQ
graphs that ONNX Runtime nevertheless leaves partly in float, so they run slower than fp32 where
``ptq-static``'s files run several times faster (measured on mnist5k-resnet: docs/benchmarks.md). Each
pass below fixes one reason, and changes no number the graph computes:

- ``inline_constants``: the TorchScript exporter shares constants through ``Identity`` nodes; ORT's
  QDQ fusions need the scale and zero point as initializers, not as node outputs;
- ``scalar_qparams``: per-tensor scales/zero points exported as shape ``[1]``; ORT fuses a Conv with
  them but not an Add (``QLinearAdd``'s selector wants scalars, as ORT's own quantizer writes them);
- ``fold_weight_quantize``: ``QuantizeLinear`` (or Brevitas' ``Clip``) of a float/integer initializer
  replaced by its integer result, so the DequantizeLinear reads an int8 initializer, as in ORT's files;
- ``requantize_passthrough``: a Q/DQ pair after MaxPool/Flatten/Reshape where the exporter left the
  tensor float, with the incoming scale (exact: these ops do not change a tensor's scale).

Hand-written because no library rewrites another exporter's QDQ for ORT's fusions (ORT's own
``quantize_static`` would re-calibrate and lose the learned scales); each pass is a few lines of
``onnx`` graph editing and ``onnx.checker`` checks the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _rewire(graph: Any, old: str, new: str) -> None:
    for consumer in graph.node:
        for i, name in enumerate(consumer.input):
            if name == old:
                consumer.input[i] = new


def _drop_unused_initializers(graph: Any) -> None:
    used = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
    for t in list(graph.initializer):
        if t.name not in used:
            graph.initializer.remove(t)


def inline_constants(model: Any) -> int:
    """Consumers of ``Identity(initializer)`` read the initializer itself. Returns the nodes removed."""
    graph = model.graph
    inits = {t.name for t in graph.initializer}
    outputs = {o.name for o in graph.output}
    removed = [n for n in graph.node if n.op_type == "Identity" and n.input[0] in inits and n.output[0] not in outputs]
    for node in removed:
        _rewire(graph, node.output[0], node.input[0])
        graph.node.remove(node)
    return len(removed)


def scalar_qparams(model: Any) -> int:
    """One-element scale/zero-point initializers of per-tensor (no ``axis``) Q/DQ nodes become scalars."""
    from onnx import numpy_helper

    graph = model.graph
    names = {
        name
        for n in graph.node
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") and not any(a.name == "axis" for a in n.attribute)
        for name in n.input[1:3]
    }
    changed = 0
    for t in graph.initializer:
        if t.name in names and len(t.dims) == 1 and t.dims[0] == 1:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).reshape(()), t.name))
            changed += 1
    return changed


def fold_weight_quantize(model: Any) -> int:
    """Replace QuantizeLinear(float initializer) by its integer result, and Clip(integer initializer,
    min, max) by the clipped integers: the DequantizeLinear then reads an integer initializer, as in
    ORT's own QDQ files (ONNX QuantizeLinear rounds half-to-even like torch and Brevitas, so the folded
    values are the fake-quant values). Returns the number of weights folded."""
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}

    def constant(name: str) -> Any:
        return numpy_helper.to_array(inits[name]) if name in inits else None

    remove, folded = [], 0
    for node in graph.node:
        if node.input[0] not in inits:
            continue
        if node.op_type == "QuantizeLinear":
            w = constant(node.input[0]).astype(np.float32)
            scale, zp = constant(node.input[1]), constant(node.input[2])
            if scale is None or zp is None:
                continue
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            shape = [1] * w.ndim
            if scale.size > 1:
                shape[axis] = -1
            info = np.iinfo(zp.dtype)
            q = np.clip(
                np.round(w / scale.astype(np.float32).reshape(shape)) + zp.astype(np.int32).reshape(shape),
                info.min,
                info.max,
            ).astype(zp.dtype)
        elif node.op_type == "Clip" and len(node.input) == 3:
            w, lo, hi = (constant(name) for name in node.input)
            if lo is None or hi is None or w.dtype.kind not in "iu":
                continue
            q = np.clip(w, lo, hi).astype(w.dtype)
        else:
            continue
        q_name = node.output[0] + "_folded"
        graph.initializer.append(numpy_helper.from_array(q, q_name))
        _rewire(graph, node.output[0], q_name)
        remove.append(node)
        folded += 1
    for node in remove:
        graph.node.remove(node)
    _drop_unused_initializers(graph)
    return folded


SCALE_PRESERVING = ("MaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze")


def requantize_passthrough(model: Any) -> int:
    """A Q/DQ pair after a scale-preserving op (MaxPool, Flatten, ...) whose consumers read it float,
    with the scale and zero point of the DequantizeLinear that feeds it: the max or reshape of quantized
    values is a quantized value, so the pair is exact, and the consumer (a Linear after Flatten) can be
    fused by ORT. ORT's own quantizer does the same. Returns the pairs inserted."""
    from onnx import helper

    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    nodes, inserted = [], 0
    for node in graph.node:
        nodes.append(node)
        if node.op_type not in SCALE_PRESERVING:
            continue
        source = producer.get(node.input[0])
        while source is not None and source.op_type in SCALE_PRESERVING:
            source = producer.get(source.input[0])
        consumers = [n for n in graph.node if node.output[0] in n.input]
        if (
            source is None
            or source.op_type != "DequantizeLinear"
            or not consumers
            or any(c.op_type == "QuantizeLinear" for c in consumers)
        ):
            continue
        if any(a.name == "axis" for a in source.attribute):
            continue  # per-channel: not an activation
        scale, zp = source.input[1], source.input[2]
        q_out, dq_out = node.output[0] + "_requantized", node.output[0] + "_dequantized"
        dq = helper.make_node("DequantizeLinear", [q_out, scale, zp], [dq_out], name=node.name + "_DequantizeLinear")
        nodes.append(
            helper.make_node("QuantizeLinear", [node.output[0], scale, zp], [q_out], name=node.name + "_QuantizeLinear")
        )
        nodes.append(dq)
        producer[dq_out] = dq  # a chain (MaxPool -> Flatten) requantizes each link
        for consumer in consumers:
            for i, name in enumerate(consumer.input):
                if name == node.output[0]:
                    consumer.input[i] = dq_out
        inserted += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return inserted


def deployable_qdq(path: Path) -> dict[str, int]:
    """Every pass above on the file at ``path`` (rewritten in place); what each one changed."""
    import onnx

    model = onnx.load(str(path))
    facts = {
        "identity_constants_inlined": inline_constants(model),
        "scalar_qparams": scalar_qparams(model),
        "weights_folded": fold_weight_quantize(model),
        "requantized_passthrough": requantize_passthrough(model),
    }
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return facts
