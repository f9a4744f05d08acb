"""Feeds for a causal-LM graph with a KV cache: the prompt (empty cache), then one token at a time.

The graph convention is the one ONNX Runtime GenAI and Optimum export (suite/zoo/hf_export.py):
``input_ids``, optional ``attention_mask`` and ``position_ids``, ``past_key_values.<i>.key|value``
(``[batch, kv_heads, past, head_dim]``) in, ``logits`` and ``present.<i>.key|value`` out. Any runtime
that can run a dict of named numpy feeds uses this (``Session.lm_graph``); numpy only, so the run side
of a board needs nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from suite.errors import JobFailed

_PAST = re.compile(r"^past_key_values\.(\d+)\.(key|value)$")
_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "float32": np.float32,
    "float16": np.float16,
    "f32": np.float32,
    "f16": np.float16,
}

RunFeeds = Callable[[dict[str, np.ndarray]], Sequence[np.ndarray]]


@dataclass
class LmGraph:
    """What a KV-cache graph takes and returns, by name (read from the loaded session)."""

    inputs: list[str]
    outputs: list[str]
    past: list[str]  # past input names in layer order (key, value per layer)
    kv_heads: int
    head_dim: int
    past_dtype: Any

    @classmethod
    def from_meta(cls, inputs: list[tuple[str, list[Any], str]], outputs: list[str]) -> LmGraph:
        """From (name, shape, element type) of the inputs and the output names, in graph order."""
        names = [n for n, _, _ in inputs]
        matches = [m for m in map(_PAST.match, names) if m]
        past = [m.string for m in sorted(matches, key=lambda m: (int(m.group(1)), m.group(2) != "key"))]
        if "input_ids" not in names or not past or "logits" not in outputs:
            raise JobFailed(
                f"the model is not a causal LM with a KV cache: expected inputs input_ids and past_key_values.<i>.key|value "
                f"and an output logits, got inputs {names[:6]} and outputs {outputs[:4]}"
            )
        missing = [n for n in past if n.replace("past_key_values", "present", 1) not in outputs]
        if missing:
            raise JobFailed(f"the model returns no present.* for {missing[:2]}: it cannot carry its KV cache")
        shape, dtype = next((s, t) for n, s, t in inputs if n == past[0])
        kv, head_dim = shape[1], shape[3]
        if not isinstance(kv, int) or not isinstance(head_dim, int):
            raise JobFailed(f"{past[0]} has shape {shape}: expected fixed kv heads and head size")
        return cls(
            inputs=names,
            outputs=list(outputs),
            past=past,
            kv_heads=kv,
            head_dim=head_dim,
            past_dtype=_DTYPES.get(dtype, np.float32),
        )

    @classmethod
    def of_ort(cls, session: Any) -> LmGraph:
        return cls.from_meta(
            [(i.name, list(i.shape), i.type) for i in session.get_inputs()], [o.name for o in session.get_outputs()]
        )

    def empty_past(self, batch: int) -> list[np.ndarray]:
        return [np.zeros((batch, self.kv_heads, 0, self.head_dim), dtype=self.past_dtype) for _ in self.past]

    def feeds(self, ids: np.ndarray, past: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Feeds for ``ids`` [batch, seq] after ``past`` (the cache of the tokens before them)."""
        batch, seq = ids.shape
        done = past[0].shape[2]
        feeds: dict[str, np.ndarray] = {"input_ids": np.ascontiguousarray(ids, dtype=np.int64)}
        if "attention_mask" in self.inputs:
            feeds["attention_mask"] = np.ones((batch, done + seq), dtype=np.int64)
        if "position_ids" in self.inputs:
            feeds["position_ids"] = np.broadcast_to(np.arange(done, done + seq, dtype=np.int64), (batch, seq)).copy()
        feeds.update(zip(self.past, past))
        return feeds

    def split(self, outputs: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """(logits, the new cache) from the outputs in graph order."""
        index = {n: i for i, n in enumerate(self.outputs)}
        logits = np.asarray(outputs[index["logits"]])
        return logits, [outputs[index[n.replace("past_key_values", "present", 1)]] for n in self.past]

    def prefill(self, run: RunFeeds, ids: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        return self.split(run(self.feeds(ids, self.empty_past(len(ids)))))

    def step(self, run: RunFeeds, ids: np.ndarray, past: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        return self.split(run(self.feeds(ids, past)))


def is_lm(input_names: Sequence[str]) -> bool:
    return any(_PAST.match(n) for n in input_names)


def batch_feeds(
    inputs: list[tuple[str, list[Any], str]], outputs: list[str]
) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """How a batch of samples becomes a model's feeds: one input; several packed along the sample's
    first axis (``input.names``, text encoders); or a causal LM's prompt with an empty KV cache."""
    from suite.runtimes.base import packed_feeds

    names = [n for n, _, _ in inputs]
    if len(names) == 1:
        return lambda x: {names[0]: x}
    if is_lm(names):
        graph = LmGraph.from_meta(inputs, outputs)
        return lambda x: graph.feeds(x, graph.empty_past(len(x)))
    return lambda x: packed_feeds(names, x)
