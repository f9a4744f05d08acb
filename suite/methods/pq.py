"""``product-quantization``: product quantization of weights (Jegou et al.; for CNNs, Stock et al.,
"And the Bit Goes Down", 2020): each weight row (an output channel) is cut into sub-vectors of ``d``
values, and every sub-vector of a layer is replaced by the nearest of k codewords learned by
scikit-learn's k-means over that layer's sub-vectors. Storage: a k x d float16 codebook (as Stock et
al. store it; the reconstruction uses the float16 values) plus log2(k) bits per sub-vector, i.e.
log2(k)/d bits per weight plus the codebook. A layer gets at most one codeword per 8 of its
sub-vectors (rounded down to a power of two): otherwise the codebook of a small layer outweighs it.

Layers with fewer than ``min_weights`` weights stay float (their codebook would outweigh them). The
ONNX file holds the reconstructed weights; no runtime has a PQ kernel, so the artifact is simulated:
accuracy real, size the codebook form's (``compressed_size_bytes``), speed not claimed.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.codebook import rewrite_weights
from suite.methods.onnx_graph import onnx_artifact


class PqParams(Params):
    subvector_dim: int = Field(4, ge=1, le=64, description="values per sub-vector (d)")
    codebook_size: int = Field(256, ge=2, le=65536, description="codewords per layer (k)")
    min_weights: int = Field(1024, ge=0, description="layers smaller than this stay float")
    codebook_dtype: Literal["float16", "float32"] = "float16"
    seed: int = 0


def product_quantize(
    w: np.ndarray, d: int, k: int, seed: int, codebook_dtype: str = "float32"
) -> tuple[np.ndarray, int, int]:
    """(reconstructed w, codewords used, index bits). Rows are output channels (axis 0)."""
    from sklearn.cluster import KMeans

    rows = w.reshape(w.shape[0], -1).astype(np.float64)
    pad = (-rows.shape[1]) % d
    padded = np.pad(rows, ((0, 0), (0, pad)))
    sub = padded.reshape(-1, d)
    k = min(k, len(np.unique(sub, axis=0)), max(2, 2 ** int(math.log2(max(len(sub) // 8, 2)))))
    km = KMeans(n_clusters=k, n_init=1, max_iter=100, random_state=seed).fit(sub)
    codebook = km.cluster_centers_.astype(codebook_dtype).astype(np.float64)
    recon = codebook[km.labels_].reshape(padded.shape)[:, : rows.shape[1]]
    return recon.reshape(w.shape), k, max(1, math.ceil(math.log2(k)))


class ProductQuantization(Method):
    Params = PqParams

    def apply(self, ctx: PrepareContext, params: PqParams):  # type: ignore[override, no-untyped-def]
        def encode(name, w):  # type: ignore[no-untyped-def]
            if w.size < params.min_weights:
                return None
            recon, k, index_bits = product_quantize(
                w, params.subvector_dim, params.codebook_size, params.seed, params.codebook_dtype
            )
            n_sub = math.ceil(w.size / w.shape[0] / params.subvector_dim) * w.shape[0]
            return recon, n_sub * index_bits + k * params.subvector_dim * (
                16 if params.codebook_dtype == "float16" else 32
            )

        out = ctx.workdir / "model.onnx"
        facts = rewrite_weights(ctx.fp32_onnx(), out, encode)
        coded = [layer for layer in facts["layers"] if not layer.get("kept_float")]
        bits = (
            (sum(c["bits_per_weight"] * np.prod(c["shape"]) for c in coded) / sum(np.prod(c["shape"]) for c in coded))
            if coded
            else None
        )
        return onnx_artifact(
            out,
            simulated=True,
            weight_bits=None,
            activation_bits=32,
            compressed_size_bytes=facts["codebook_form_bytes"],
            details={
                "subvector_dim": params.subvector_dim,
                "codebook_size": params.codebook_size,
                "bits_per_weight_coded_layers": float(bits) if bits is not None else None,
                "codebook": facts["layers"],
            },
        )
