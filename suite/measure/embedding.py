"""How close a method's sentence embeddings stay to fp32's: the mean cosine over the eval split.

The fp32 embeddings come with the eval data (computed on the workstation by ONNX Runtime CPU from the
fp32 ONNX export, ``PreparedInputs.extras["reference_embedding"]``); the method's come from the very
session that is timed, in the batches the accuracy loop uses. numpy and the runtime only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from suite.errors import JobFailed


def embedding_cosine(session: Any, x: np.ndarray, reference: np.ndarray, output: str = "sentence_embedding", batch_size: int = 64) -> dict[str, Any]:
    """``{embedding_cosine, embedding_cosine_min}`` of ``session``'s ``output`` against ``reference``."""
    outputs = getattr(session, "outputs", None)
    if outputs is None:
        raise JobFailed(f"runtime {type(session).__name__} cannot return named outputs (needed for the embedding cosine)")
    cosines = []
    for start in range(0, len(x), batch_size):
        got = outputs(np.ascontiguousarray(x[start : start + batch_size]))
        if output not in got:
            raise JobFailed(f"the model has no output {output!r} (outputs: {', '.join(got)})")
        a = np.asarray(got[output], dtype=np.float64)
        b = np.asarray(reference[start : start + batch_size], dtype=np.float64)
        cosines.append((a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12))
    values = np.concatenate(cosines)
    return {"embedding_cosine": float(values.mean()), "embedding_cosine_min": float(values.min())}
