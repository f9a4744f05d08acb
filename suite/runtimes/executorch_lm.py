"""Prefill and decode for an ExecuTorch causal-LM program whose KV cache lives inside the program.

ExecuTorch's LLM programs (``executorch-fp32`` and ``executorch-8da4w`` on a causal-LM task,
``suite/methods/executorch_lm.py``) follow the convention of ExecuTorch's own LLM runner: ``forward``
takes ``input_ids [1, seq]`` and ``cache_position [seq]`` (the positions of those tokens) and returns
``logits [1, seq, vocab]``; the key and value cache of every layer is a mutable buffer of the program
(a static cache of ``get_max_seq_len`` positions), written at ``cache_position`` and kept between
calls; constant methods (``use_kv_cache``, ``get_max_seq_len``, ``get_vocab_size``) say so.

So the cache is never handed in and out as the ONNX graphs' ``past_key_values`` are
(``suite/runtimes/lm_feeds.py``). :class:`ProgramCacheGraph` gives the same ``prefill``/``step``
semantics that ``suite/measure/lm_eval.py`` and ``lm_timing.py`` use:

- ``prefill(run, ids [B, L])``: each row from position 0, one call per row (the program has a batch of
  one), logits ``[B, L, vocab]``. Starting at position 0 *is* the empty cache: the program's attention
  mask covers positions ``<= cache_position`` only, and every position up to ``L - 1`` is overwritten
  by this call, so what an earlier, longer window left in the buffers beyond ``L`` is never read (the
  tests check a window's logits against a freshly loaded program's after a longer one).
- ``step(run, ids [1, 1], past)``: one token at the next position. ``past`` is a :class:`CacheState`
  (the next position and which prefill it continues); a step after another prefill overwrote the
  cache, a batch above one, or a position past the static cache fails with one line instead of
  decoding from someone else's cache.

numpy only here; the session (``executorch_rt.py``) turns the feeds into torch tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from suite.errors import JobFailed

RunFeeds = Callable[[dict[str, np.ndarray]], Sequence[np.ndarray]]

# The constant methods ExecuTorch's LLM export writes beside ``forward`` (its runner reads them).
USE_KV_CACHE, MAX_SEQ_LEN, VOCAB_SIZE = "use_kv_cache", "get_max_seq_len", "get_vocab_size"


@dataclass(frozen=True)
class CacheState:
    """Where a sequence stands in the program's cache: its next position, and which prefill began it."""

    next_position: int
    sequence: int
    rows: int = 1  # a prefill of several rows leaves only the last one's cache: no step may follow it


class ProgramCacheGraph:
    """``prefill``/``step`` over a program that keeps its KV cache (see the module docstring)."""

    def __init__(self, max_positions: int, vocab: int | None = None) -> None:
        self.max_positions = max_positions
        self.vocab = vocab
        self._sequence = 0  # the prefill whose tokens the program's cache holds now

    def _call(self, run: RunFeeds, ids: np.ndarray, start: int) -> np.ndarray:
        length = ids.shape[1]
        if start + length > self.max_positions:
            raise JobFailed(
                f"ExecuTorch program: positions {start}..{start + length - 1} do not fit its static KV cache of "
                f"{self.max_positions} positions (get_max_seq_len); re-export it for a longer window or generation"
            )
        feeds = {
            "input_ids": np.ascontiguousarray(ids, dtype=np.int64),
            "cache_position": np.arange(start, start + length, dtype=np.int64),
        }
        logits = np.asarray(run(feeds)[0])
        if logits.ndim == 2:  # a program that returns [seq, vocab] for its batch of one
            logits = logits[None]
        return logits

    def prefill(self, run: RunFeeds, ids: np.ndarray) -> tuple[np.ndarray, CacheState]:
        """Logits ``[B, L, vocab]`` of each row from an empty cache; the cache then holds the last row."""
        if ids.ndim != 2 or ids.shape[1] == 0:
            raise JobFailed(
                f"ExecuTorch program: prefill ids have shape {list(ids.shape)}, expected [batch, length > 0]"
            )
        rows = [self._call(run, ids[i : i + 1], 0) for i in range(ids.shape[0])]
        self._sequence += 1
        return np.concatenate(rows), CacheState(ids.shape[1], self._sequence, len(rows))

    def step(self, run: RunFeeds, ids: np.ndarray, past: CacheState) -> tuple[np.ndarray, CacheState]:
        """Logits ``[1, 1, vocab]`` of one token after the sequence ``past`` stands for."""
        if ids.shape != (1, 1):
            raise JobFailed(
                f"ExecuTorch program: a decode step takes ids [1, 1], got {list(ids.shape)} "
                "(the program's cache holds one sequence)"
            )
        if not isinstance(past, CacheState) or past.sequence != self._sequence or past.rows != 1:
            raise JobFailed(
                "ExecuTorch program: this decode step continues a sequence whose cache is gone "
                "(a later prefill overwrote it, or it was a prefill of several rows)"
            )
        logits = self._call(run, ids, past.next_position)
        return logits, CacheState(past.next_position + 1, past.sequence)
