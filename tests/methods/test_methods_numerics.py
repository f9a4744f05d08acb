"""The quantizers' numerics on random tensors and small ONNX files (no training, seconds)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import require

torch = require("torch")


@pytest.fixture()
def weights() -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).normal(0, 0.1, size=(8, 4, 3, 3)).astype(np.float32))


def test_binarize_two_values_per_channel_with_mean_abs_scale(weights) -> None:
    from suite.methods.binary import binarize

    q = binarize(weights)
    for c in range(q.shape[0]):
        values = torch.unique(q[c])
        alpha = weights[c].abs().mean()
        assert len(values) == 2
        assert torch.allclose(values.abs(), alpha.expand(2))
        assert torch.equal(q[c] > 0, weights[c] >= 0)


def test_ternarize_three_values_per_tensor_and_per_channel(weights) -> None:
    from suite.methods.ternary import ternarize

    q = ternarize(weights)
    values = torch.unique(q)
    assert len(values) == 3 and values[1] == 0 and values[0] == -values[2]
    delta = 0.7 * weights.abs().mean()
    assert torch.equal(q != 0, weights.abs() > delta)
    # alpha is the mean magnitude of the weights above the threshold (TWN)
    assert torch.isclose(values[2], weights.abs()[weights.abs() > delta].mean())
    per_channel = ternarize(weights, per_channel=True)
    assert all(len(torch.unique(per_channel[c])) <= 3 for c in range(8))
    assert len(torch.unique(per_channel)) > 3


def test_log2_only_powers_of_two_within_the_exponent_window(weights) -> None:
    from suite.methods.log2 import log2_quantize

    q = log2_quantize(weights, bits=4).numpy()
    nonzero = np.abs(q[q != 0])
    exponents = np.log2(nonzero)
    assert np.allclose(exponents, np.round(exponents))
    assert len(np.unique(exponents)) <= 7  # 2^(4-1) - 1 exponents, one code for zero
    assert np.array_equal(np.sign(q[q != 0]), np.sign(weights.numpy()[q != 0]))


def test_straight_through_estimator_passes_gradients() -> None:
    from suite.methods.binary import binarize
    from suite.methods.lowbit import ste

    w = torch.randn(4, 3, requires_grad=True)
    ste(w, binarize).sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))


def test_kmeans_at_most_k_values_and_pq_codebook() -> None:
    from suite.methods.codebook import kmeans_1d
    from suite.methods.pq import product_quantize

    w = np.random.default_rng(1).normal(size=(64, 72)).astype(np.float32)
    centroids, labels = kmeans_1d(w.ravel(), 16, seed=0)
    assert len(np.unique(centroids[labels])) <= 16
    recon, k, bits = product_quantize(w, d=4, k=32, seed=0)  # 1152 sub-vectors: 32 <= 1152 / 8
    subvectors = recon.reshape(64, -1, 4).reshape(-1, 4)
    assert k == 32 and bits == 5
    assert len(np.unique(subvectors, axis=0)) <= 32
    assert np.abs(recon - w).mean() < np.abs(w).mean()  # a codebook, not noise


def test_fixed_point_formats() -> None:
    from suite.methods.fixed_point import qformat
    from suite.methods.ort_qdq import pow2_ceil

    assert pow2_ceil(0.3) == 0.5 and pow2_ceil(0.25) == 0.25 and pow2_ceil(3.0) == 4.0
    assert qformat(2.0**-5, 8, True) == "Q2.5"
    assert qformat(2.0**-8, 8, False) == "UQ0.8"


def test_ilp_allocation_meets_the_bit_budget() -> None:
    from suite.methods.hawq import allocate

    sizes = np.array([100.0, 1000.0, 5000.0, 200.0])
    omega = np.array([5.0, 1.0, 2.0, 0.1])
    x = allocate(omega, sizes, target_avg_bits=6.0)
    avg = float((sizes * np.where(x == 1, 4, 8)).sum() / sizes.sum())
    assert avg <= 6.0
    assert x[0] == 0  # the most sensitive small layer stays at 8 bits


def test_int4_weight_only_rewrite_packs_weights(tmp_path) -> None:
    import onnx
    import onnxruntime as ort
    from torch import nn

    from suite.methods.fp32 import export_onnx
    from suite.methods.onnx_graph import analyse
    from suite.methods.weight_only import insert_weight_dequantize

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10)).eval()
    src = export_onnx(model, [1, 8, 8], tmp_path / "fp32.onnx")
    out = tmp_path / "int4.onnx"
    insert_weight_dequantize(src, out, bits=4)
    m = onnx.load(str(out))
    types = {t.name: onnx.TensorProto.DataType.Name(t.data_type) for t in m.graph.initializer}
    assert sorted(v for k, v in types.items() if k.endswith("_q4")) == ["INT4", "INT4"]
    facts = analyse(out)
    assert facts["precision_map"] == {"int4-weight-only": 2}
    assert facts["weight_bits_hist"] == {"4": 8 * 9 + 10 * 288}
    x = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    want = model(torch.from_numpy(x)).detach().numpy()
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert np.abs(got - want).max() < 0.1 * np.abs(want).max()  # 4-bit error, not garbage
    for t in m.graph.initializer:  # packed two to a byte
        if t.name.endswith("_q4"):
            n = int(np.prod(t.dims))
            assert len(t.raw_data) == (n + 1) // 2 or len(t.int32_data) == (n + 1) // 2
    assert out.stat().st_size < src.stat().st_size / 3


def test_litert_delegation_walks_partitions() -> None:
    from suite.runtimes.litert import delegation

    ops = [
        {"index": 0, "op_name": "QUANTIZE", "inputs": [0], "outputs": [1]},
        {"index": 1, "op_name": "CONV_2D", "inputs": [1, 10, 11], "outputs": [2]},
        {"index": 2, "op_name": "CUSTOM_OP", "inputs": [2], "outputs": [3]},
        {"index": 3, "op_name": "FULLY_CONNECTED", "inputs": [3, 12, -1], "outputs": [4]},
        {"index": 4, "op_name": "DELEGATE", "inputs": [0, 10, 11], "outputs": [2]},
        {"index": 5, "op_name": "DELEGATE", "inputs": [3, 12], "outputs": [4]},
    ]
    facts = delegation(ops)
    assert facts["total_nodes"] == 4 and facts["delegated_nodes"] == 3 and facts["partitions"] == 2
    assert facts["not_delegated_ops"] == ["CUSTOM_OP"]
    assert math.isclose(facts["delegated_fraction"], 0.75)


def test_int4_matmul_goes_to_matmulnbits_and_is_deployable(tmp_path) -> None:
    """A MatMul-heavy model: ORT's 4-bit MatMul kernel exists, so the int4 artifact is not simulated."""
    import onnx
    import onnxruntime as ort
    from torch import nn

    from suite.methods.base import PrepareContext
    from suite.methods.fp32 import export_onnx
    from suite.methods.int4 import Int4, Int4Params

    class Mlp(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w1 = nn.Parameter(torch.randn(64, 128) * 0.1)
            self.w2 = nn.Parameter(torch.randn(128, 10) * 0.1)

        def forward(self, x):  # type: ignore[no-untyped-def]
            return torch.relu(x @ self.w1) @ self.w2

    torch.manual_seed(0)
    model = Mlp().eval()
    src = export_onnx(model, [64], tmp_path / "fp32.onnx")
    assert [n.op_type for n in onnx.load(str(src)).graph.node].count("MatMul") == 2
    ctx = PrepareContext(task=None, splits=None, reference=None, workdir=tmp_path, fp32_onnx=lambda: src)  # type: ignore[arg-type]
    artifact = Int4().apply(ctx, Int4Params())
    assert artifact.precision_map == {"int4-weight-only": 2}
    assert artifact.details["weight_bits_hist"] == {"4": 64 * 128 + 128 * 10}
    assert artifact.simulated is False
    x = np.random.default_rng(0).normal(size=(3, 64)).astype(np.float32)
    got = ort.InferenceSession(str(artifact.path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    want = model(torch.from_numpy(x)).detach().numpy()
    assert np.linalg.norm(got - want) < 0.2 * np.linalg.norm(want)  # 4-bit blockwise error, not garbage
