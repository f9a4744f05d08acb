"""True bits per weight read from the artifact file (``suite.compute.weights``): an fp32 ONNX graph is 32.0,
ONNX Runtime's dynamic int8 is 8 plus its scales and zero points, ORT's int4 MatMulNBits (block 32, float
scales, symmetric) is 4 + 32/32, an embedding left in float is named and flagged, a GGUF written with the
gguf package is 8.5 (Q8_0) and 4.5 (Q4_0) bits exactly, and a tensor whose rows the block does not divide is
a shape fallback; OpenVINO IR (an NNCF int8 weight compression) reads its u8 constants and scales."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from suite.compute.weights import OVERSTATED_BITS, weights_block

IN, HIDDEN, OUT, VOCAB = 64, 128, 32, 96


def mlp_onnx(path: Path, embedding: bool = False) -> Path:
    """input [N, 64] -> MatMul 64x128 + bias -> MatMul 128x32 (+ a Gather of a 96x64 table for ids)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(size=(IN, HIDDEN)).astype(np.float32), "w1"),
        numpy_helper.from_array(np.zeros(HIDDEN, np.float32), "b1"),
        numpy_helper.from_array(rng.normal(size=(HIDDEN, OUT)).astype(np.float32), "w2"),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", IN])]
    nodes = []
    first = "x"
    if embedding:
        inits.append(numpy_helper.from_array(rng.normal(size=(VOCAB, IN)).astype(np.float32), "table"))
        inputs = [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N"])]
        nodes.append(helper.make_node("Gather", ["table", "ids"], ["x"]))
    nodes += [
        helper.make_node("MatMul", [first, "w1"], ["h"]),
        helper.make_node("Add", ["h", "b1"], ["hb"]),
        helper.make_node("MatMul", ["hb", "w2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "mlp", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", OUT])], inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


MATRIX = IN * HIDDEN + HIDDEN * OUT


def test_fp32_onnx_is_32_bits_and_biases_are_not_weights(tmp_path: Path) -> None:
    block = weights_block("onnx", mlp_onnx(tmp_path / "m.onnx"), 32)
    assert block["bits_per_weight"] == 32.0 and block["weights"] == MATRIX
    assert block["by_type"] == {"f32": MATRIX} and block["overstated"] is False and block["higher_precision"] == []


def test_ort_dynamic_int8_is_8_bits_plus_its_scales_and_zero_points(tmp_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = tmp_path / "dyn.onnx"
    quantize_dynamic(str(mlp_onnx(tmp_path / "m.onnx")), str(out), weight_type=QuantType.QInt8)
    block = weights_block("onnx", out, 8)
    # per tensor: one float scale (32 bits) and one int8 zero point (8 bits) for each of the two matrices
    assert block["storage_bits"] == MATRIX * 8 + 2 * (32 + 8)
    assert block["bits_per_weight"] == pytest.approx(8 + 80 / MATRIX, abs=1e-4)
    assert block["overstated"] is False and set(block["by_type"]) == {"int8 (MatMulInteger)"}


def test_ort_int4_matmulnbits_block_32_counts_its_scales_and_names_the_float_embedding(tmp_path: Path) -> None:
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quant = MatMulNBitsQuantizer(
        onnx.load(mlp_onnx(tmp_path / "m.onnx", embedding=True)), block_size=32, is_symmetric=True
    )
    quant.process()
    out = tmp_path / "int4.onnx"
    quant.model.save_model_to_file(str(out))
    block = weights_block("onnx", out, 4)
    # int4 payload plus one float32 scale per block of 32 (symmetric: no zero points): 4 + 32/32 bits
    assert block["by_type"]["int4 (MatMulNBits, block 32)"] == MATRIX
    assert block["metadata_bits"] == MATRIX // 32 * 32
    table = VOCAB * IN
    assert block["by_type"]["f32"] == table
    assert block["bits_per_weight"] == pytest.approx((MATRIX * 5 + table * 32) / (MATRIX + table), abs=1e-4)
    assert block["overstated"] is True and block["excess_bits"] > OVERSTATED_BITS
    assert block["higher_precision"][0]["name"] == "table"
    assert "embedding" in block["higher_precision"][0]["why"]


def write_gguf(path: Path, qtype: str, odd: bool = False) -> Path:
    import gguf

    q = gguf.GGMLQuantizationType[qtype]
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_file_type(gguf.LlamaFileType[f"MOSTLY_{qtype}"])
    rng = np.random.default_rng(0)
    for name in ("blk.0.attn_q.weight", "blk.0.ffn_up.weight"):
        data = rng.normal(size=(64, 256)).astype(np.float32)
        writer.add_tensor(name, gguf.quants.quantize(data, q), raw_dtype=q)
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(256, np.float32))  # 1-D: not a weight
    if odd:  # rows of 100: no block of 32 divides them, so the tensor stays in F16
        writer.add_tensor("blk.0.odd.weight", rng.normal(size=(64, 100)).astype(np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.mark.parametrize("qtype,bits", [("Q8_0", 8.5), ("Q4_0", 4.5)])
def test_gguf_block_types_are_their_exact_bits(tmp_path: Path, qtype: str, bits: float) -> None:
    block = weights_block("gguf", write_gguf(tmp_path / "m.gguf", qtype), None)
    assert block["bits_per_weight"] == bits and block["nominal_bits"] == bits
    assert block["weights"] == 2 * 64 * 256 and block["by_type"] == {qtype: 2 * 64 * 256}
    assert block["file_type"] == f"MOSTLY_{qtype}" and block["overstated"] is False


def test_gguf_shape_fallback_is_named_and_flagged(tmp_path: Path) -> None:
    block = weights_block("gguf", write_gguf(tmp_path / "m.gguf", "Q4_0", odd=True), None)
    quantized, odd = 2 * 64 * 256, 64 * 100
    assert block["by_type"] == {"Q4_0": quantized, "F16": odd}
    assert block["bits_per_weight"] == pytest.approx((quantized * 4.5 + odd * 16) / (quantized + odd), abs=1e-4)
    assert block["overstated"] is True
    (fallback,) = block["higher_precision"]
    assert fallback["name"] == "blk.0.odd.weight" and fallback["why"].startswith("shape fallback")


def test_unreadable_file_and_unread_format_say_why(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    assert weights_block("onnx", bad, 8)["reason"].startswith("not counted")
    assert "not read" in weights_block("pte", bad, 4)["reason"]


def test_openvino_ir_int8_weight_compression(tmp_path: Path) -> None:
    ov = pytest.importorskip("openvino")
    nncf = pytest.importorskip("nncf")
    model = ov.Core().read_model(str(mlp_onnx(tmp_path / "m.onnx")))
    compressed = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    ov.save_model(compressed, str(tmp_path / "m.xml"), compress_to_fp16=False)
    block = weights_block("openvino", tmp_path / "m.xml", 8)
    assert block["weights"] == MATRIX
    # u8 weights, a float scale and a u8 zero point per output channel (NNCF's int8 is per channel)
    assert 8.0 < block["bits_per_weight"] < 8.5 and block["overstated"] is False
    assert all(label.startswith("u8") for label in block["by_type"])


def test_tflite_float_and_dynamic_range_int8(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    weights = tf.constant(np.random.default_rng(0).normal(size=(64, 32)).astype(np.float32))
    bias = tf.constant(np.zeros(32, np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 64], tf.float32)])
    def model(x):  # type: ignore[no-untyped-def]
        return tf.matmul(x, weights) + bias

    paths = {}
    for name, optimize in (("f32", False), ("int8", True)):
        converter = tf.lite.TFLiteConverter.from_concrete_functions([model.get_concrete_function()], model)
        if optimize:  # dynamic-range quantization: int8 weights with their scales
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        paths[name] = tmp_path / f"{name}.tflite"
        paths[name].write_bytes(converter.convert())
    fp32 = weights_block("tflite", paths["f32"], 32)
    assert fp32["bits_per_weight"] == 32.0 and fp32["weights"] == 64 * 32 and fp32["by_type"] == {"float32": 64 * 32}
    int8 = weights_block("tflite", paths["int8"], 8)
    assert int8["weights"] == 64 * 32 and set(int8["by_type"]) == {"int8 (quantized)"}
    # per output channel (32): a float32 scale and an int64 zero point, as the flatbuffer stores them
    assert int8["metadata_bits"] == 32 * (32 + 64) and int8["bits_per_weight"] == 8 + 32 * 96 / 2048
    assert int8["overstated"] is True  # on a layer this small the per-channel metadata is 1.5 bits a weight
