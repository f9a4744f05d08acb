"""Small real models the tests build in milliseconds with onnx.helper (no training)."""

from pathlib import Path


def tiny_onnx(path: Path, flat_input: bool = False, classes: int = 10) -> Path:
    """A real ONNX classifier (Flatten + Gemm, 10 classes unless told) built with onnx.helper: 1x8x8 or
    flat 64 inputs."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    shape = ["N", 64] if flat_input else ["N", 1, 8, 8]
    w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(64, classes)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.zeros(classes, np.float32), "b")
    nodes = [helper.make_node("Flatten", ["input"], ["flat"]), helper.make_node("Gemm", ["flat", "w", "b"], ["logits"])]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
        [w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path
