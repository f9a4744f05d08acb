"""Training here: a small causal LM from scratch, and a classification head over a frozen encoder.

Both are deterministic (seed before init, fixed batch order, ``recipe.threads`` torch threads: the
thread count changes the summation order, so it is part of the recipe) and short: seconds to a few
minutes on 2 cores. The loops are the plain PyTorch ones (AdamW, cross-entropy); transformers'
``Trainer`` would add accelerate's device logic and logging for no change in the result.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from suite.errors import BadInput

#: ``model.options.config`` keys of a causal LM trained here (a Llama-architecture decoder).
CONFIG_KEYS = {
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "max_position_embeddings",
    "tie_word_embeddings",
    "rope_theta",
}


def lm_config(options: dict[str, Any], vocab_size: int) -> Any:
    """A ``LlamaConfig`` from ``model.options.config`` (unknown keys are one line)."""
    from transformers import LlamaConfig

    raw = options.get("config") or {}
    unknown = sorted(set(raw) - CONFIG_KEYS) if isinstance(raw, dict) else ["(not a mapping)"]
    if unknown:
        raise BadInput(
            f"model.options.config: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(CONFIG_KEYS))})"
        )
    return LlamaConfig(vocab_size=vocab_size, **{"tie_word_embeddings": True, **raw})


def train_lm(config: Any, chunks: np.ndarray, recipe: Any) -> tuple[Any, dict[str, Any]]:
    """A ``LlamaForCausalLM`` trained on token chunks [n, window] (next-token cross-entropy)."""
    import torch
    from transformers import LlamaForCausalLM

    if len(chunks) < 1:
        raise BadInput(
            "dataset: no training text for the model trained here (eval_fraction leaves no training documents)"
        )
    before = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    t0 = time.perf_counter()
    try:
        torch.manual_seed(recipe.seed)
        model = LlamaForCausalLM(config).float()
        gen = torch.Generator().manual_seed(recipe.seed)
        data = torch.from_numpy(np.ascontiguousarray(chunks, dtype=np.int64))
        opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        steps = recipe.epochs * ((len(data) + recipe.batch_size - 1) // recipe.batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=max(steps, 1), pct_start=0.1)
        model.train()
        losses = []
        for _ in range(recipe.epochs):
            order = torch.randperm(len(data), generator=gen)
            for start in range(0, len(data), recipe.batch_size):
                batch = data[order[start : start + recipe.batch_size]]
                loss = model(input_ids=batch, labels=batch).loss
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                losses.append(loss.item())
        model.eval()
    finally:
        torch.set_num_threads(before)
    tail = losses[-max(1, len(losses) // 20) :]
    return model, {
        "steps": len(losses),
        "train_loss_last": float(np.mean(tail)),
        "train_s": round(time.perf_counter() - t0, 1),
        "chunks": int(len(chunks)),
    }


def mean_pool(hidden: Any, mask: Any) -> Any:
    """sentence-transformers' mean pooling over the tokens the mask keeps."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def embed(encoder: Any, x: np.ndarray, batch_size: int = 32, normalize: bool = True) -> Any:
    """Sentence embeddings of packed [n, 2, seq] (ids, mask) samples through a frozen encoder."""
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            chunk = torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size]))
            hidden = encoder(input_ids=chunk[:, 0], attention_mask=chunk[:, 1]).last_hidden_state
            pooled = mean_pool(hidden, chunk[:, 1])
            out.append(torch.nn.functional.normalize(pooled, dim=-1) if normalize else pooled)
    return torch.cat(out)


def train_head(features: Any, labels: np.ndarray, classes: int, recipe: Any) -> tuple[Any, dict[str, Any]]:
    """A linear softmax classifier on fixed features (full-batch AdamW, seeded)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        torch.manual_seed(recipe.seed)
        head = torch.nn.Linear(features.shape[1], classes)
        y = torch.from_numpy(labels.astype(np.int64))
        opt = torch.optim.AdamW(head.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        for _ in range(recipe.epochs):
            loss = torch.nn.functional.cross_entropy(head(features), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            train_acc = float((head(features).argmax(1) == y).float().mean())
    finally:
        torch.set_num_threads(before)
    return head.eval(), {"train_loss": loss.item(), "train_top1": train_acc, "epochs": recipe.epochs}


def classifier(encoder: Any, head: Any, normalize: bool = True) -> Any:
    """(input_ids, attention_mask) -> (logits, embedding): the module that is exported."""
    import torch

    class EncoderClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.head = encoder, head

        def forward(self, input_ids, attention_mask):  # type: ignore[no-untyped-def]
            pooled = mean_pool(
                self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state, attention_mask
            )
            embedding = torch.nn.functional.normalize(pooled, dim=-1) if normalize else pooled
            return self.head(embedding), embedding

    return EncoderClassifier().eval()
