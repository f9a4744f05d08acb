"""How close a method's sentence embeddings stay to fp32's: the mean cosine over the eval split.

The fp32 embeddings come with the eval data (computed on the workstation by ONNX Runtime CPU from the
fp32 ONNX export, ``PreparedInputs.extras["reference_embedding"]``); the method's come from the very
session that is timed, in the batches the accuracy loop uses. numpy and the runtime only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from suite.errors import JobFailed


class EmbeddingTap:
    """``predict`` for the accuracy loop that also keeps each batch's embeddings, so top-1 and the
    embedding cosine come from one pass over the eval split through the timed session."""

    def __init__(self, session: Any, output: str = "sentence_embedding", logits: str = "logits") -> None:
        if getattr(session, "outputs", None) is None:
            raise JobFailed(
                f"runtime {type(session).__name__} cannot return named outputs (needed for the embedding cosine)"
            )
        self.session, self.output, self.logits = session, output, logits
        self.embeddings: list[np.ndarray] = []

    def predict(self, batch: np.ndarray) -> np.ndarray:
        got = self.session.outputs(batch)
        missing = [name for name in (self.logits, self.output) if name not in got]
        if missing:
            raise JobFailed(f"the model has no output {missing[0]!r} (outputs: {', '.join(got)})")
        self.embeddings.append(np.asarray(got[self.output]))
        return np.asarray(got[self.logits])

    def cosine(self, reference: np.ndarray) -> dict[str, Any]:
        """``{embedding_cosine, embedding_cosine_min}`` of the collected embeddings against ``reference``."""
        a = np.concatenate(self.embeddings).astype(np.float64)
        b = np.asarray(reference[: len(a)], dtype=np.float64)
        values = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
        return {"embedding_cosine": float(values.mean()), "embedding_cosine_min": float(values.min())}
