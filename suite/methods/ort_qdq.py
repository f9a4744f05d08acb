"""QDQ building blocks shared by the ONNX methods: ORT ``quantize_static`` with per-node and per-tensor
control, an ORT top-1 evaluator for accuracy-driven choices, and a probe of which kernels ORT really runs.

``quantize_static`` does the quantizing (calibration, QDQ insertion, bias quantization); the methods
only decide which nodes to leave in float (mixed precision), which weights get 4 bits (HAWQ), or which
scales to force (fixed-point), through ORT's own ``nodes_to_exclude`` and ``TensorQuantOverrides``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from suite.methods.ort_common import calibration_reader


def qdq_quantize(
    src: Path,
    out: Path,
    x_cal: np.ndarray,
    *,
    per_channel: bool = True,
    activation_type: str = "uint8",
    weight_type: str = "int8",
    calibration: str = "minmax",
    symmetric_activations: bool = False,
    nodes_to_exclude: list[str] | None = None,
    nodes_to_quantize: list[str] | None = None,
    overrides: dict[str, list[dict[str, Any]]] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """ORT ``quantize_static`` in QDQ format; ``weight_type`` may be int8, uint8, int4 or uint4."""
    import logging

    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    qtype = {
        "int8": QuantType.QInt8,
        "uint8": QuantType.QUInt8,
        "int4": QuantType.QInt4,
        "uint4": QuantType.QUInt4,
        "int16": QuantType.QInt16,
    }
    calib = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }
    options: dict[str, Any] = {
        "ActivationSymmetric": symmetric_activations,
        "WeightSymmetric": weight_type in ("int8", "int4"),
        **(extra or {}),
    }
    if overrides:
        options["TensorQuantOverrides"] = overrides
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # ORT's "please pre-process" / "opset bumped" warnings are expected here
    try:
        quantize_static(
            str(src),
            str(out),
            calibration_reader(src, x_cal),
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            activation_type=qtype[activation_type],
            weight_type=qtype[weight_type],
            calibrate_method=calib[calibration],
            nodes_to_exclude=nodes_to_exclude or [],
            nodes_to_quantize=nodes_to_quantize or [],
            extra_options=options,
        )
    finally:
        root.setLevel(level)
    return out


def quantizable_nodes(path: Path) -> list[tuple[str, str]]:
    """(name, op_type) of the nodes ORT's QDQ quantizer would quantize, in graph order."""
    import onnx
    from onnxruntime.quantization.registry import QDQRegistry

    model = onnx.load(str(path), load_external_data=False)
    return [(n.name, n.op_type) for n in model.graph.node if n.op_type in QDQRegistry]


def compute_nodes(path: Path) -> list[tuple[str, str, str]]:
    """(node name, op_type, weight initializer name) of the Conv/Gemm/MatMul nodes with constant weights."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    return [
        (n.name, n.op_type, n.input[1])
        for n in model.graph.node
        if n.op_type in ("Conv", "Gemm", "MatMul", "ConvTranspose") and len(n.input) > 1 and n.input[1] in inits
    ]


def ort_predict(path: Path, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits of an ONNX file through ORT's CPU provider (one thread: the choice must not race the sweep)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outs = [
        session.run(None, {name: np.ascontiguousarray(x[i : i + batch_size])})[0] for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(outs)


def ort_top1(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    return float((ort_predict(path, x).argmax(1) == y).mean())


def ort_kernels(path: Path) -> dict[str, Any]:
    """What ORT's CPU provider really runs for this file: the op types of its optimized graph, and the
    element types of the compute nodes' weights after optimization (ORT inserts casts around float16
    nodes that have no CPU kernel and folds them into float32 weights)."""
    import tempfile

    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        # EXTENDED, not ALL: the NCHWc layout rewrite of ALL is hardware-specific and hides nothing
        # about precision, and ORT warns when it is serialized.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        model = onnx.load(options.optimized_model_filepath)
    inits = {t.name: t for t in model.graph.initializer}
    ops = Counter(n.op_type for n in model.graph.node)
    float16_compute = 0
    for node in model.graph.node:
        if node.op_type in ("Conv", "Gemm", "MatMul", "FusedConv", "FusedGemm") and len(node.input) > 1:
            w = inits.get(node.input[1])
            if w is not None and w.data_type == onnx.TensorProto.FLOAT16:
                float16_compute += 1
    integer_kernels = sum(
        ops[k]
        for k in (
            "QLinearConv",
            "QGemm",
            "QLinearMatMul",
            "MatMulIntegerToFloat",
            "ConvInteger",
            "MatMulInteger",
            "DynamicQuantizeMatMul",
            "MatMulNBits",
        )
    )
    return {
        "ops": dict(sorted(ops.items())),
        "float16_compute_nodes": float16_compute,
        "integer_kernel_nodes": integer_kernels,
    }


def pow2_ceil(value: float) -> float:
    """The smallest power of two >= value (value > 0)."""
    return float(2.0 ** np.ceil(np.log2(value)))
