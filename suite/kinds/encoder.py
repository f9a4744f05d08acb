"""Text encoders with a classification head: top-1 as a classifier, and in the same pass the cosine of
the method's sentence embeddings to the fp32 export's (the prepared ``reference_embedding``). Timed as
a classifier."""

from __future__ import annotations

from typing import Any

from suite.config.schemas import TaskConfig
from suite.kinds.base import KindRun
from suite.kinds.classifier import Classifier
from suite.records.fields import ENCODER

#: The prepared eval data that makes a classification task an encoder's: fp32's sentence embeddings.
REFERENCE = "reference_embedding"


class TextEncoder(Classifier):
    name = ENCODER
    fallback = False

    def claims(self, task: TaskConfig, extras: dict[str, Any]) -> bool:
        return task.metric == self.metric and REFERENCE in extras

    def predict(self, run: KindRun) -> Any:
        from suite.measure.embedding import EmbeddingTap

        self._tap = EmbeddingTap(run.session)  # top-1 and the embeddings in one pass
        return self._tap.predict

    def more_accuracy(self, run: KindRun) -> dict[str, Any]:
        return self._tap.cosine(run.extras[REFERENCE])
