"""Shared by the codebook methods (k-means clustering, product quantization): which ONNX weights to
rewrite, and what the codebook form of the model would weigh.

Both rewrite the float ONNX file's Conv/Gemm weight initializers in place with their reconstructed
values (so any runtime runs the model unchanged, and the accuracy is that of the codebook model), and
report the size of the deployable codebook form: per layer the codebook in fp32 plus the packed
indices, other tensors in fp32.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def rewrite_weights(
    src: Path,
    out: Path,
    encode: Callable[[str, np.ndarray], tuple[np.ndarray, int] | None],
) -> dict[str, Any]:
    """For each Conv/Gemm weight: ``encode(name, w)`` -> (reconstructed w, codebook-form bits) or None
    (keep it float). Writes ``out``; returns per-layer facts and the codebook-form size in bytes."""
    import onnx
    from onnx import numpy_helper

    from suite.methods.ort_qdq import compute_nodes

    model = onnx.load(str(src))
    by_name = {t.name: t for t in model.graph.initializer}
    weights = {w for _, _, w in compute_nodes(src)}
    layers: list[dict[str, Any]] = []
    total_bits = 0
    for t in model.graph.initializer:
        arr = numpy_helper.to_array(t)
        encoded = encode(t.name, arr) if t.name in weights else None
        if encoded is None:
            total_bits += arr.size * 32
            if t.name in weights:
                layers.append({"weight": t.name, "shape": list(arr.shape), "kept_float": True})
            continue
        recon, bits = encoded
        by_name[t.name].CopyFrom(numpy_helper.from_array(recon.astype(np.float32).reshape(arr.shape), t.name))
        total_bits += bits
        layers.append(
            {
                "weight": t.name,
                "shape": list(arr.shape),
                "codebook_form_bytes": math.ceil(bits / 8),
                "bits_per_weight": bits / arr.size,
                "max_abs_error": float(np.abs(recon.reshape(arr.shape) - arr).max()),
            }
        )
    onnx.save(model, str(out))
    return {"layers": layers, "codebook_form_bytes": math.ceil(total_bits / 8)}


def kmeans_1d(values: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(centroids, labels) of scikit-learn's k-means on scalars, centroids initialised linearly
    between min and max (TF-MOT's default ``LINEAR`` init: keeps the rare large weights)."""
    from sklearn.cluster import KMeans

    k = min(k, len(np.unique(values)))
    init = np.linspace(values.min(), values.max(), k).reshape(-1, 1)
    km = KMeans(n_clusters=k, init=init, n_init=1, random_state=seed).fit(values.reshape(-1, 1).astype(np.float64))
    return km.cluster_centers_.ravel(), km.labels_
