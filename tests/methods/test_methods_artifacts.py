"""Each method's artifact on the real digits-cnn task, checked from the file itself (not from the
method's own report): values per channel, scales, bit widths, sizes, and accuracy through ORT.

Artifacts are built in-process through the suite's own cache (shared across the test session), so
the digits CNN is trained once; the fine-tuning methods take a few seconds each on one thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require

onnx = require("onnx")
torch = require("torch")

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build(method: str, params: dict | None = None, task: str = "digits-cnn"):
    from suite.config import load_task
    from suite.job import build as prepare
    from suite.job.plan import resolve_params  # noqa: F401  (the sweep's own resolution is tested elsewhere)
    from suite.registry import methods

    loaded = load_task(task)
    resolved = methods.get(method).parse_params(params or {}).model_dump(mode="json")
    key = "test-" + "-".join(f"{k}{v}" for k, v in sorted((params or {}).items()))
    artifact, _ = prepare.build_artifact(loaded, method, resolved, key)
    return artifact, prepare.task_state(loaded)


def ort_top1(path: Path, state) -> float:
    from suite.methods.ort_qdq import ort_top1

    return ort_top1(path, state.splits.x_eval, state.splits.y_eval)


def weights_of(path: Path) -> dict[str, np.ndarray]:
    """Conv/Gemm weight initializers by node name (float files)."""
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return {
        n.name: inits[n.input[1]] for n in model.graph.node if n.op_type in ("Conv", "Gemm") and n.input[1] in inits
    }


BITS = {
    onnx.TensorProto.INT4: 4,
    onnx.TensorProto.UINT4: 4,
    onnx.TensorProto.INT8: 8,
    onnx.TensorProto.UINT8: 8,
    onnx.TensorProto.FLOAT16: 16,
    onnx.TensorProto.FLOAT: 32,
}


def weight_tensors(path: Path) -> dict[str, object]:
    """Conv/Gemm weight tensors (TensorProto) by node name, read through a DequantizeLinear where the
    weight is quantized in the file (its stored integer tensor), else the float initializer itself."""
    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    out = {}
    for node in model.graph.node:
        if node.op_type in ("Conv", "Gemm"):
            w = node.input[1]
            out[node.name] = inits[producer[w].input[0]] if w in producer else inits[w]
    return out


def test_binary_layers_hold_two_values_per_channel_and_sign_inputs() -> None:
    artifact, state = build("binary")
    model = onnx.load(str(artifact.path))
    producer = {o: n for n in model.graph.node for o in n.output}
    w = weights_of(artifact.path)
    binarized = [
        n.name
        for n in model.graph.node
        if n.name in w and n.input[0] in producer and producer[n.input[0]].op_type == "Sign"
    ]
    assert len(binarized) == 2  # conv2 and fc1; the first and last layers stay float
    for name in binarized:
        rows = w[name].reshape(w[name].shape[0], -1)
        assert all(len(np.unique(r)) == 2 for r in rows)
        assert all(np.unique(r)[0] == -np.unique(r)[1] for r in rows)
    first, last = [n for n in w if n not in binarized][0], [n for n in w if n not in binarized][-1]
    assert len(np.unique(w[first])) > 16 and len(np.unique(w[last])) > 16
    top1 = ort_top1(artifact.path, state)
    assert top1 > 0.80  # a binarized CNN on digits stays well above 80% after fine-tuning
    assert artifact.simulated and abs(artifact.simulated_top1 - top1) < 0.01
    assert artifact.compressed_size_bytes < artifact.size_bytes / 8  # packed 1-bit form


def test_ternary_three_values_log2_powers_of_two() -> None:
    artifact, state = build("ternary")
    w = weights_of(artifact.path)
    names = list(w)  # graph order: conv1, conv2, fc1, fc2
    assert len(names) == 4
    for name in names[1:-1]:  # per tensor (the default): exactly {-a, 0, +a} with a > 0, read from the file
        values = np.unique(w[name])
        assert len(values) == 3, (name, values)
        assert values[1] == 0 and values[0] == -values[2] and values[2] > 0, (name, values)
    for name in (names[0], names[-1]):  # first and last layers stay float
        assert len(np.unique(w[name])) > 16, name
    assert ort_top1(artifact.path, state) > 0.9

    artifact, state = build("log2")
    w = weights_of(artifact.path)
    pow2 = [
        name for name, v in w.items() if np.allclose(np.log2(np.abs(v[v != 0])), np.round(np.log2(np.abs(v[v != 0]))))
    ]
    assert len(pow2) == 2
    assert all(len(np.unique(np.abs(w[n][w[n] != 0]))) <= 7 for n in pow2)
    assert ort_top1(artifact.path, state) > 0.9


def test_kmeans_at_most_k_values_and_codebook_size() -> None:
    artifact, state = build("kmeans", {"clusters": 8})
    fp32, _ = build("fp32")
    w, ref = weights_of(artifact.path), weights_of(fp32.path)
    assert w and set(w) == set(ref)
    for name, v in w.items():
        centroids = np.unique(v)
        assert len(centroids) == 8, (name, centroids)  # k centroids used, not one: the layer was clustered
        # every weight is the centroid nearest to its fp32 value (what k-means assignment means)
        nearest = centroids[np.abs(ref[name].reshape(-1, 1).astype(np.float64) - centroids[None, :]).argmin(axis=1)]
        assert (v.reshape(-1) == nearest).mean() > 0.999, name  # (float32 rounding may flip a weight on a midpoint)
    n = sum(v.size for v in w.values())
    assert artifact.compressed_size_bytes < n * 4 / 8  # 3-bit indices + codebooks, well under fp32
    assert not artifact.simulated
    assert ort_top1(artifact.path, state) > 0.9


def test_fixed_point_scales_are_powers_of_two() -> None:
    from onnx import numpy_helper

    artifact, state = build("fixed-point")
    model = onnx.load(str(artifact.path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    scales = [inits[n.input[1]] for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert len(scales) >= 8
    for s in scales:
        assert s.size == 1  # per tensor
        e = np.log2(float(s.reshape(-1)[0]))
        assert e == np.round(e)
    assert artifact.precision_map == {"int8": 4}
    assert ort_top1(artifact.path, state) > 0.9


def test_int4_is_mostly_4bit_and_smaller_than_int8() -> None:
    int4, state = build("int4")
    int8, _ = build("ptq-static")
    weight_bytes: dict[int, float] = {}
    for tensor in weight_tensors(int4.path).values():
        b = BITS[tensor.data_type]
        weight_bytes[b] = weight_bytes.get(b, 0) + int(np.prod(tensor.dims)) * b / 8
    assert weight_bytes.get(4, 0) / sum(weight_bytes.values()) >= 0.9
    assert int4.size_bytes < int8.size_bytes
    assert int4.simulated  # no int4 Conv/Gemm kernel in ORT's CPU provider
    assert ort_top1(int4.path, state) > 0.9


def test_qat_scales_equal_learned_fake_quant_and_accuracy_at_least_ptq(tmp_path) -> None:
    from onnx import numpy_helper

    from suite.methods.base import PrepareContext
    from suite.methods.qat import QatParams, train_qat
    from suite.methods.qdq_passes import deployable_qdq
    from suite.methods.torch_common import export

    artifact, state = build("qat")
    ptq, _ = build("ptq-static")
    qat_top1, ptq_top1 = ort_top1(artifact.path, state), ort_top1(ptq.path, state)
    assert qat_top1 >= ptq_top1 - 0.01  # at least as accurate within noise (~5 of 540 samples)
    assert artifact.precision_map == {"int8": 4}

    # The exported scales are the learned ones: train again (deterministic), export, compare by module.
    ctx = PrepareContext(
        task=state.task, splits=state.splits, reference=state.reference, workdir=tmp_path, fp32_onnx=lambda: None
    )
    wrapped = train_qat(ctx, QatParams())
    path = export(wrapped, state.task.input.shape, tmp_path / "qat.onnx")
    deployable_qdq(path)
    model = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    learned = {
        name + ".scale": m.scale.detach().numpy()
        for name, m in wrapped.named_modules()
        if type(m).__name__ == "FakeQuantize"
    }
    used = {n.input[1] for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")}
    assert used and used <= set(learned)
    weight_scales = [k for k in used if "weight_fake_quant" in k]
    assert len(weight_scales) == 4 and all(learned[k].size > 1 for k in weight_scales)  # per channel
    for name in used:
        np.testing.assert_array_equal(inits[name].reshape(-1), learned[name].reshape(-1))
    # and the file the method built carries the same scales (same seed, same data)
    built = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(artifact.path)).graph.initializer}
    for name in used:
        np.testing.assert_allclose(built[name].reshape(-1), learned[name].reshape(-1), rtol=1e-6)
    assert artifact.simulated_top1 is not None


def test_fp16_and_hybrid_store_what_they_say() -> None:
    from onnx import TensorProto

    fp16, state = build("fp16")
    model = onnx.load(str(fp16.path))
    types = {t.data_type for t in model.graph.initializer}
    assert TensorProto.FLOAT16 in types and TensorProto.FLOAT not in types
    assert fp16.precision_map == {"fp16": 4}
    assert fp16.details["ort_cpu"]["float16_compute_nodes"] == 0  # x86 ORT CPU casts back: recorded
    assert ort_top1(fp16.path, state) > 0.95

    hybrid, _ = build("hybrid")
    assert hybrid.precision_map == {"int8-weight-only": 4}
    model = onnx.load(str(hybrid.path))
    ops = [n.op_type for n in model.graph.node]
    assert "QuantizeLinear" not in ops and "DynamicQuantizeLinear" not in ops  # activations stay float
    tensors = weight_tensors(hybrid.path)
    assert len(tensors) == 4 and all(
        t.data_type == TensorProto.INT8 for t in tensors.values()
    )  # every weight int8 in the file
    fp32_size = sum(int(np.prod(t.dims)) for t in weight_tensors(build("fp32")[0].path).values())
    assert sum(int(np.prod(t.dims)) for t in tensors.values()) == fp32_size  # all of them, none left float
    assert ort_top1(hybrid.path, state) > 0.95


def test_product_quantization_and_hawq() -> None:
    pq, state = build("product-quantization")
    fp32, _ = build("fp32")
    w, ref = weights_of(pq.path), weights_of(fp32.path)
    coded = 0
    for name, v in w.items():
        if v.size < 1024:  # min_weights: small layers stay float, bit for bit
            np.testing.assert_array_equal(v, ref[name])
            continue
        coded += 1
        rows = v.reshape(v.shape[0], -1)
        sub = np.pad(rows, ((0, 0), (0, (-rows.shape[1]) % 4))).reshape(-1, 4)  # d = 4 values per sub-vector
        words = np.unique(sub, axis=0)
        assert len(words) <= min(256, max(2, 2 ** int(np.log2(len(sub) // 8)))), name  # k codewords at most
        assert len(words) < len(sub) / 4, name  # far fewer codewords than sub-vectors: the layer was coded
        np.testing.assert_array_equal(v.astype(np.float16).astype(np.float32), v)  # float16 codebook values
    assert coded >= 2
    assert pq.simulated and pq.compressed_size_bytes < pq.size_bytes / 4
    assert ort_top1(pq.path, state) > 0.9

    hawq, _ = build("mixed-hawq")
    sizes = {name: (BITS[t.data_type], int(np.prod(t.dims))) for name, t in weight_tensors(hawq.path).items()}
    assert {b for b, _ in sizes.values()} == {4, 8}  # both precisions stored in the file
    assert sum(b * n for b, n in sizes.values()) / sum(n for _, n in sizes.values()) <= 6.0  # target_avg_bits
    assert hawq.simulated and all(row["hessian_trace"] > 0 for row in hawq.details["allocation"])
    assert ort_top1(hawq.path, state) > 0.9  # the mixed 4/8-bit file still classifies digits
