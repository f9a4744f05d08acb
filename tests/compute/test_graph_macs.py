"""The MAC counter against independent counts: formulas on hand-built graphs, torch's own FLOP counter on
the built-in networks, and the integer / QDQ / int4 forms ONNX Runtime writes counting what their float
graph counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from suite.compute.graph import compute_block, count_model, uncounted_line


def _init(name: str, shape: list[int], dtype: type = np.float32) -> onnx.TensorProto:
    return numpy_helper.from_array(np.random.default_rng(0).normal(size=shape).astype(dtype), name)


def _model(nodes: list, inputs: list, outputs: list, inits: list, domains: tuple = ()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    opsets = [helper.make_opsetid("", 17), *(helper.make_opsetid(d, 1) for d in domains)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model


def test_conv_groups_dilations_convtranspose_gemm_matmul_by_formula() -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8, 20, 20])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        # 8 -> 16 channels, 3x3, groups 2, dilation 2, pad 2: output 16x20x20, each a dot of (8/2)*3*3
        helper.make_node("Conv", ["x", "w1"], ["c1"], group=2, dilations=[2, 2], pads=[2, 2, 2, 2]),
        # transpose conv 16 -> 4 channels, 2x2 stride 2: every one of 16*20*20 inputs scatters to 4*2*2 outputs
        helper.make_node("ConvTranspose", ["c1", "w2"], ["c2"], strides=[2, 2]),
        helper.make_node("Flatten", ["c2"], ["f"]),  # 4*40*40 = 6400
        helper.make_node("Gemm", ["f", "w3"], ["g"], transB=1),  # 6400 -> 10
        helper.make_node("Reshape", ["g", "shape"], ["r"]),  # [1, 2, 5]
        helper.make_node("MatMul", ["r", "w4"], ["y"]),  # [1,2,5] x [5,7]
    ]
    inits = [
        _init("w1", [16, 4, 3, 3]),
        _init("w2", [16, 4, 2, 2]),
        _init("w3", [10, 6400]),
        numpy_helper.from_array(np.array([-1, 2, 5], np.int64), "shape"),
        _init("w4", [5, 7]),
    ]
    counted = count_model(_model(nodes, [x], [y], inits), {"x": [1, 8, 20, 20]})
    expected = 16 * 20 * 20 * 4 * 3 * 3 + 16 * 20 * 20 * 4 * 2 * 2 + 6400 * 10 + 2 * 5 * 7
    assert counted["macs"] == expected
    assert counted["counted_ops"] == {"Conv": 1, "ConvTranspose": 1, "Gemm": 1, "MatMul": 1}
    assert counted["uncounted_ops"] == {"Flatten": 1, "Reshape": 1}
    assert uncounted_line(counted["uncounted_ops"]) == "not counted: Flatten x1, Reshape x1"


def test_batched_matmul_broadcasts_and_matmul_nbits_counts_k_times_n() -> None:
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, "S", 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node(
            "MatMulNBits", ["a", "bq", "scales"], ["h"], domain="com.microsoft", K=64, N=32, bits=4, block_size=32
        ),
        helper.make_node("Reshape", ["h", "heads"], ["hh"]),  # [1, S, 32] -> [1, 4, S, 8] via reshape+transpose
        helper.make_node("Transpose", ["hh"], ["q"], perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["hh"], ["kt"], perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["y"]),  # [1,4,S,8] x [1,4,8,S]
    ]
    inits = [
        numpy_helper.from_array(np.zeros((32, 2, 16), np.uint8), "bq"),
        numpy_helper.from_array(np.ones(64, np.float32), "scales"),
        numpy_helper.from_array(np.array([1, -1, 4, 8], np.int64), "heads"),
    ]
    model = _model(nodes, [a], [y], inits, domains=("com.microsoft",))
    for s in (5, 9):
        counted = count_model(model, {"a": [1, s, 64]})
        assert counted["macs"] == s * 64 * 32 + 4 * s * s * 8, s
        assert counted["counted_ops"] == {"MatMul": 1, "MatMulNBits": 1}


def test_dynamic_input_without_a_shape_says_why(tmp_path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = _model([helper.make_node("MatMul", ["x", "z"], ["y"])], [x, z], [y], [])
    onnx.save(model, tmp_path / "two.onnx")
    block = compute_block(tmp_path / "two.onnx", [4])
    assert block["macs_per_item"] is None and "2 graph inputs" in block["reason"]


def _torch_macs(module, sample_shape: list[int]) -> int:  # type: ignore[no-untyped-def]
    """torch's own count (FlopCounterMode: 2 FLOPs per multiply-accumulate of conv/mm/addmm)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(torch.zeros(1, *sample_shape))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize(("net", "shape"), [("digits_cnn", [1, 8, 8]), ("resnet_mnist", [1, 28, 28])])
def test_builtin_networks_match_torch_flop_counter_in_every_quantized_form(
    tmp_path: Path, net: str, shape: list[int]
) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.calibrate import CalibrationDataReader

    from suite.methods.fp32 import export_onnx
    from suite.zoo import builtin_nets

    module = getattr(builtin_nets, net)(10).eval()
    expected = _torch_macs(module, shape)
    fp32 = export_onnx(module, shape, tmp_path / "fp32.onnx")
    block = compute_block(fp32, shape)
    assert block["macs_per_item"] == expected and block["ops_per_item"] == 2 * expected
    params = sum(p.numel() for p in module.parameters())
    assert block["weight_bytes"] >= 4 * params - 4 * sum(b.numel() for b in module.buffers())

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"input": np.random.default_rng(i).random((1, *shape), np.float32)} for i in range(4)])

        def get_next(self):  # type: ignore[no-untyped-def]
            return next(self.batches, None)

    qdq, qop, dyn = tmp_path / "qdq.onnx", tmp_path / "qop.onnx", tmp_path / "dyn.onnx"
    quantize_static(fp32, qdq, Reader(), quant_format=QuantFormat.QDQ, weight_type=QuantType.QInt8)
    quantize_dynamic(fp32, dyn, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv", "MatMul", "Gemm"])
    forms = [(qdq, {"Conv", "Gemm"}), (dyn, {"ConvInteger"})]
    if net == "digits_cnn":  # ORT's QOperator quantizer fails on the ResNet's folded batch-norm biases
        quantize_static(fp32, qop, Reader(), quant_format=QuantFormat.QOperator, weight_type=QuantType.QInt8)
        forms.append((qop, {"QLinearConv", "QGemm"}))
    for path, ops in forms:
        quantized = compute_block(path, shape)
        assert quantized["macs_per_item"] == expected, (path.name, quantized)
        assert ops <= set(quantized["counted_ops"]), (path.name, quantized["counted_ops"])
        assert quantized["weight_bytes"] < block["weight_bytes"], path.name  # int8 weights are a quarter
