"""ONNX exports of transformers models: causal LMs with a KV cache, encoders with a classification head.

Both use ``torch.onnx.export(dynamo=True)`` (the ``torch.export`` path): under transformers 5 the
TorchScript exporter fails on the SDPA attention mask, the dynamo exporter traces it.

A causal LM is exported as one graph that takes the cache as inputs and returns it, with the names
ONNX Runtime GenAI and Optimum use: inputs ``input_ids [batch, seq]``, ``attention_mask [batch,
past + seq]``, ``position_ids [batch, seq]``, ``past_key_values.<i>.key|value [batch, kv_heads, past,
head_dim]``; outputs ``logits [batch, seq, vocab]`` and ``present.<i>.key|value``. The past length may
be 0, so the same graph runs the prompt (prefill, empty cache) and every decode step (one token, the
growing cache); ``suite/runtimes/lm_feeds.py`` builds those feeds on the run side. The export is
checked against transformers on the task's own tokens (:func:`check_causal_lm`, a prefill and cached decode
steps, by suite.zoo.conversion_check.compare_lm) before any number is recorded from it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 18
EXPORT_VERSION = 2  # bump when the exported graph would change for the same weights (in identities)


def _quiet_export(module: Any, args: tuple, path: Path, **kwargs: Any) -> None:
    import contextlib
    import io
    import logging

    import onnx
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, args, str(tmp), dynamo=True, opset_version=OPSET, external_data=False, verbose=False, **kwargs
        )
    model = onnx.load(str(tmp))
    fold_weight_transposes(model)
    onnx.save(model, str(tmp))
    tmp.replace(path)


def fold_weight_transposes(model: Any) -> int:
    """``Transpose(initializer)`` feeding a MatMul becomes a transposed initializer of its own.

    A tied LM head (``lm_head.weight`` is the embedding table) exports as a Transpose of the shared
    table; weight quantizers (ORT's MatMulNBits and dynamic quantizers, NNCF) only quantize a MatMul
    whose weight is an initializer, so without this the head, the largest MatMul of a small LM, stays
    float. The cost is a second copy of the table in the fp32 file, which ONNX Runtime would make
    anyway when it folds the Transpose at load. Returns how many were folded."""
    from onnx import numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    folded = 0
    keep = []
    for node in model.graph.node:
        if node.op_type == "Transpose" and node.input[0] in inits:
            perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
            w = numpy_helper.to_array(inits[node.input[0]])
            model.graph.initializer.append(
                numpy_helper.from_array(np.ascontiguousarray(w.transpose(perm)), node.output[0])
            )
            folded += 1
            continue
        keep.append(node)
    if folded:
        del model.graph.node[:]
        model.graph.node.extend(keep)
        names = {t.name for t in model.graph.initializer}
        kept = [v for v in model.graph.value_info if v.name not in names]
        del model.graph.value_info[:]
        model.graph.value_info.extend(kept)
    return folded


class _CachedLM:
    """Builds the wrapper module lazily (torch and transformers are imported only when exporting)."""

    @staticmethod
    def wrap(model: Any) -> Any:
        import torch
        from transformers.cache_utils import DynamicCache

        layers = int(model.config.num_hidden_layers)

        class CachedLM(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, position_ids, *past):  # type: ignore[no-untyped-def]
                cache = DynamicCache(config=self.model.config)
                for i in range(layers):
                    cache.update(past[2 * i], past[2 * i + 1], i)
                out = self.model(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    position_ids=position_ids,
                    past_key_values=cache,
                    use_cache=True,
                )
                present = []
                for layer in out.past_key_values.layers:
                    present += [layer.keys, layer.values]
                return (out.logits, *present)

        return CachedLM().eval()


def cache_shape(config: Any) -> tuple[int, int, int]:
    """(layers, kv heads, head dim) of a decoder config."""
    heads = int(config.num_attention_heads)
    kv = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    return int(config.num_hidden_layers), kv, head_dim


def export_causal_lm(model: Any, path: Path) -> Path:
    """``model`` (a transformers causal LM, fp32, eval) as an ONNX graph with a KV cache at ``path``."""
    import torch

    layers, kv, head_dim = cache_shape(model.config)
    wrapper = _CachedLM.wrap(model)
    vocab = int(model.config.vocab_size)
    b, s, p = 2, 5, 3
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, vocab, (b, s), generator=gen)
    mask = torch.ones(b, p + s, dtype=torch.int64)
    pos = torch.arange(p, p + s).expand(b, s).contiguous()
    past = [torch.randn(b, kv, p, head_dim, generator=gen) for _ in range(2 * layers)]
    limit = int(getattr(model.config, "max_position_embeddings", 4096))
    batch = torch.export.Dim("batch", min=1, max=1024)
    seq = torch.export.Dim("seq", min=1, max=limit)
    past_len = torch.export.Dim("past", min=0, max=limit)
    total = torch.export.Dim("total", min=1, max=2 * limit)
    shapes = {
        "input_ids": {0: batch, 1: seq},
        "attention_mask": {0: batch, 1: total},
        "position_ids": {0: batch, 1: seq},
        "past": tuple({0: batch, 2: past_len} for _ in range(2 * layers)),
    }
    names = ["input_ids", "attention_mask", "position_ids"] + [
        f"past_key_values.{i}.{k}" for i in range(layers) for k in ("key", "value")
    ]
    outputs = ["logits"] + [f"present.{i}.{k}" for i in range(layers) for k in ("key", "value")]
    with torch.no_grad():
        _quiet_export(
            wrapper, (ids, mask, pos, *past), path, dynamic_shapes=shapes, input_names=names, output_names=outputs
        )
    return path


def check_causal_lm(model: Any, path: Path, ids: np.ndarray) -> dict[str, Any]:
    """The export against transformers on the task's tokens ``ids`` (a prefill and cached decode steps through
    the graph's KV cache, suite.zoo.conversion_check.lm_logits): the comparison, to be recorded and enforced."""
    from suite.zoo.conversion_check import compare_lm, lm_positions, ort_lm_logits, transformers_lm_logits

    return compare_lm(
        "transformers fp32",
        "onnx (torch.onnx dynamo, KV cache)",
        transformers_lm_logits(model, ids),
        ort_lm_logits(path, ids),
        positions=lm_positions(ids),
    )


def export_encoder(module: Any, seq_len: int, path: Path) -> Path:
    """An encoder + head module taking (input_ids, attention_mask) -> (logits, sentence_embedding), at ``path``."""
    import torch

    batch = torch.export.Dim("batch", min=1, max=1024)
    ids = torch.ones(2, seq_len, dtype=torch.int64)
    mask = torch.ones(2, seq_len, dtype=torch.int64)
    with torch.no_grad():
        _quiet_export(
            module,
            (ids, mask),
            path,
            dynamic_shapes={"input_ids": {0: batch}, "attention_mask": {0: batch}},
            input_names=["input_ids", "attention_mask"],
            output_names=["logits", "sentence_embedding"],
        )
    return path
