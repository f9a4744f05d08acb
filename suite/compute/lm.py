"""Work per token of a causal LM exported with its KV cache (``suite/zoo/hf_export.py``'s graph: inputs
``input_ids``, ``attention_mask``, ``position_ids``, ``past_key_values.<i>.key|value [batch, kv_heads,
past, head_dim]``), at the prompt and decode stages the task times (``generation``).

Prompt: one run over ``prompt_tokens`` tokens with an empty cache, divided by the tokens. Decode: one
token against a cache of ``past`` tokens; LoadGen's decode rate is the mean over the ``new_tokens - 1``
cached steps, whose pasts run from ``prompt_tokens`` to ``prompt_tokens + new_tokens - 2``. Both the
attention MACs and the cache read grow linearly with the past, so the mean over those steps is the mean
of the first and the last step, counted exactly from two graphs.

A decoded token reads every weight once and the whole cache once, so the bytes it moves are the weight
bytes plus the cache at the mean past: the memory-bandwidth roofline of decode.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from suite.compute.graph import (
    Shape,
    ShapeUnknown,
    count_model,
    graph_inputs,
    load,
    uncounted_line,
    weight_bytes,
)

PAST_PREFIX = "past_key_values."


def _past_inputs(model: Any) -> list[tuple[str, Shape, int]]:
    """(name, [kv_heads, head_dim] static dims, bytes per element) of every cache input."""
    from onnx import helper

    found = []
    for value in graph_inputs(model):
        if value.name.startswith(PAST_PREFIX):
            dims = value.type.tensor_type.shape.dim
            if len(dims) != 4 or not (dims[1].HasField("dim_value") and dims[3].HasField("dim_value")):
                raise ShapeUnknown(f"cache input {value.name!r}: expected [batch, kv_heads, past, head_dim]")
            itemsize = helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type).itemsize
            found.append((value.name, [int(dims[1].dim_value), int(dims[3].dim_value)], itemsize))
    if not found:
        raise ShapeUnknown(f"no {PAST_PREFIX}* inputs: not a KV-cache LM graph")
    return found


def lm_input_shapes(model: Any, tokens: int, past: int) -> dict[str, Shape]:
    """Batch 1, ``tokens`` new tokens against a cache of ``past`` tokens."""
    shapes: dict[str, Shape] = {
        "input_ids": [1, tokens],
        "position_ids": [1, tokens],
        "attention_mask": [1, past + tokens],
    }
    for name, (kv_heads, head_dim), _ in _past_inputs(model):
        shapes[name] = [1, kv_heads, past, head_dim]
    present = {value.name for value in graph_inputs(model)}
    return {name: shape for name, shape in shapes.items() if name in present}


def kv_cache_bytes_per_token(model: Any) -> int:
    """Bytes the cache holds per past token: keys and values of every layer."""
    return sum(kv_heads * head_dim * itemsize for _, (kv_heads, head_dim), itemsize in _past_inputs(model))


def lm_compute_block(path: Path, prompt_tokens: int, new_tokens: int, *, made_from: bool = False) -> dict[str, Any]:
    """The ``compute`` block of a causal LM: MACs per token at prompt and decode, weight and cache bytes.

    ``macs_per_item`` is the decode figure: an LM record's throughput is its decode tokens/s."""
    source = "onnx the artifact was made from" if made_from else "onnx graph"
    model = load(path)
    weights = weight_bytes(model)
    block: dict[str, Any] = {"source": source, "weight_bytes": weights, "per": "token"}
    pasts: Sequence[int] = (prompt_tokens, prompt_tokens + max(new_tokens - 2, 0))
    try:
        prompt = count_model(model, lm_input_shapes(model, prompt_tokens, 0))
        first, last = (count_model(model, lm_input_shapes(model, 1, past)) for past in pasts)
        kv_per_token = kv_cache_bytes_per_token(model)
    except ShapeUnknown as exc:
        return {**block, "macs_per_item": None, "ops_per_item": None, "reason": str(exc)}
    decode_macs = (first["macs"] + last["macs"]) / 2
    mean_past = (pasts[0] + pasts[1]) / 2
    kv_read = kv_per_token * mean_past
    return {
        **block,
        "macs_per_item": decode_macs,
        "ops_per_item": 2 * decode_macs,
        "prompt": {"tokens": prompt_tokens, "macs_per_token": prompt["macs"] / prompt_tokens},
        "decode": {"past_tokens": list(pasts), "macs_per_token": decode_macs},
        "kv_cache_bytes_per_token": kv_per_token,
        "kv_cache_read_bytes_per_decoded_token": kv_read,
        "bytes_per_decoded_token": weights + kv_read,
        "counted_ops": first["counted_ops"],
        "uncounted_ops": first["uncounted_ops"],
        "not_counted": uncounted_line(first["uncounted_ops"]),
    }
