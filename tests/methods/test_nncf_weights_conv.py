"""nncf-weights on a network with convolutions: NNCF's int8 backup of a Conv weight gets per-axis scales
of the weight's rank, which ONNX Runtime refuses; the method reshapes them to 1-D (values unchanged), so
the artifact loads and computes what the float model does (the issue: `--methods all` on digits-cnn
failed on this)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.methods.base import PrepareContext
from tests.conftest import require


def _conv_gemm(path: Path) -> Path:
    """Conv(1->16, 3x3) + Relu + Flatten + Gemm(1024->10): real onnx.helper graph, random weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(size=(16, 1, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(np.zeros(16, np.float32), "conv_b"),
        numpy_helper.from_array(rng.normal(size=(10, 1024)).astype(np.float32) / 30, "fc_w"),
        numpy_helper.from_array(np.zeros(10, np.float32), "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "conv-gemm",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_nncf_weights_artifact_of_a_conv_network_runs_in_onnx_runtime(tmp_path: Path) -> None:
    require("nncf")
    import onnx
    import onnxruntime as ort

    from suite.methods.nncf_weights import NncfWeights

    src = _conv_gemm(tmp_path / "float.onnx")
    work = tmp_path / "work"
    work.mkdir()
    ctx = PrepareContext(task=None, splits=None, reference=None, workdir=work, fp32_onnx=lambda: src)  # type: ignore[arg-type]
    artifact = NncfWeights().apply(ctx, NncfWeights.Params())
    assert artifact.details["per_axis_scales_flattened"] >= 1
    model = onnx.load(str(artifact.path))
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and node.input[1] in inits:
            weight_rank = len(inits[node.input[0]].dims)
            assert len(inits[node.input[1]].dims) <= 1 or weight_rank == 2, node.name
    x = np.random.default_rng(1).random((64, 1, 8, 8), dtype=np.float32)
    want = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    got = ort.InferenceSession(str(artifact.path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert (want.argmax(1) == got.argmax(1)).mean() > 0.8  # compressed, not garbled
