"""Torch-side plumbing for the methods that fine-tune the float model (QAT, binary, ternary, log2):
a private copy of the reference model, a seeded fine-tuning loop, top-1 in torch, and the ONNX export.

Fine-tuning uses the task's training split only (never eval or calibration-only samples), Adam and
cross-entropy, a fixed seed and batch order, so an artifact is the same on every run here.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from suite.data.base import Splits
from suite.errors import BadInput


def clone_sequential(reference: Any) -> Any:
    """A deep copy of the reference torch model (the cached reference stays untouched)."""
    from torch import nn

    if not isinstance(reference, nn.Module):
        raise BadInput(f"this method fine-tunes a torch model; the task's model is a {type(reference).__name__}")
    return copy.deepcopy(reference).eval()


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread: these models are tiny, and on a shared 2-core machine torch's thread
    pool spins against other processes (the timings: docs/benchmarks.md)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def finetune(
    module: Any,
    splits: Splits,
    epochs: int,
    lr: float,
    seed: int = 0,
    batch_size: int = 64,
    after_epoch: Callable[[int], None] | None = None,
) -> None:
    """Adam + cross-entropy on the training split, fixed seed and batch order."""
    import torch

    if epochs <= 0:
        return
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(splits.x_train)
    y = torch.from_numpy(splits.y_train)
    optimiser = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    module.train()
    with single_thread():
        _epochs(module, x, y, epochs, batch_size, generator, optimiser, loss_fn, after_epoch)
    module.eval()


def _epochs(module, x, y, epochs, batch_size, generator, optimiser, loss_fn, after_epoch) -> None:  # type: ignore[no-untyped-def]
    import torch

    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            if len(idx) < 2:
                continue  # BatchNorm cannot train on a single sample
            optimiser.zero_grad()
            loss_fn(module(x[idx]), y[idx]).backward()
            optimiser.step()
        if after_epoch is not None:
            after_epoch(epoch)


def torch_top1(module: Any, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    import torch

    module.eval()
    correct = 0
    with torch.no_grad(), single_thread():
        for start in range(0, len(x), batch_size):
            logits = module(torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size])))
            correct += int((logits.argmax(1).numpy() == y[start : start + batch_size]).sum())
    return correct / len(x)


def export(module: Any, input_shape: list[int], path: Path) -> Path:
    """The suite's standard export (TorchScript exporter, opset 17, dynamic batch)."""
    from suite.methods.fp32 import export_onnx

    return export_onnx(module.eval(), input_shape, path)


def weight_layers(module: Any) -> list[tuple[str, Any]]:
    """(name, module) of the Conv2d/Linear layers in forward order of registration."""
    from torch import nn

    return [(name, m) for name, m in module.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
