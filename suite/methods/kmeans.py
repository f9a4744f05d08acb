"""``kmeans``: weight clustering (weight sharing, as in Deep Compression and TF-MOT's clustering):
each Conv/Gemm weight tensor is replaced by the nearest of k centroids found by scikit-learn's k-means,
so it holds at most k distinct values and can be stored as a k-entry fp32 codebook plus log2(k)-bit
indices.

The ONNX file keeps float weights (every runtime runs it, at fp32 speed: the benefit is size, not
speed), and ``compressed_size_bytes`` is the codebook form's size; the zlib size of the file itself is
in ``details.zlib_size_bytes``. Hence ``deployable``: the file runs anywhere, and its speed is fp32's.
"""

from __future__ import annotations

import math

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.codebook import kmeans_1d, rewrite_weights
from suite.methods.onnx_graph import onnx_artifact


class KmeansParams(Params):
    clusters: int = Field(16, ge=2, le=256, description="centroids per layer (indices of log2(k) bits)")
    seed: int = 0


class Kmeans(Method):
    Params = KmeansParams

    def apply(self, ctx: PrepareContext, params: KmeansParams):  # type: ignore[override, no-untyped-def]
        index_bits = math.ceil(math.log2(params.clusters))

        def encode(name, w):  # type: ignore[no-untyped-def]
            centroids, labels = kmeans_1d(w.ravel(), params.clusters, params.seed)
            return centroids[labels], w.size * index_bits + len(centroids) * 32

        out = ctx.workdir / "model.onnx"
        facts = rewrite_weights(ctx.fp32_onnx(), out, encode)
        return onnx_artifact(
            out,
            simulated=False,
            weight_bits=index_bits,
            activation_bits=32,
            compressed_size_bytes=facts["codebook_form_bytes"],
            details={
                "clusters": params.clusters,
                "index_bits": index_bits,
                "codebook": facts["layers"],
                "compute": "float32 (weights decoded in the file); size benefit only",
            },
        )
