"""``timm``: a timm model by name (``resnet50.a1_in1k``, ``mobilenetv3_small_100``), weights from a local file.

Weights: ``model.path`` (``.safetensors``, ``.pth`` or ``.bin``), or else the ``model.safetensors`` /
``pytorch_model.bin`` that the Hugging Face hub cache holds for ``timm/<name>`` (``$HF_HOME/hub``,
default ``~/.cache/huggingface/hub``), which is where timm keeps what it downloaded. Nothing is
downloaded; the error says where it looked. The model's own preprocessing config (timm's
``pretrained_cfg``: input size, interpolation, crop, mean/std) is recorded beside the task's, so a
mismatch is visible in the record.

timm needs torchvision, so it is an optional extra like torchvision (see ``suite.zoo.torchvision_source``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from suite.data.base import Splits, with_identity
from suite.errors import BadInput
from suite.zoo.base import ReferenceModel, weights_file
from suite.zoo.torch_common import weights_identity, with_weights
from suite.zoo.torchvision_source import INSTALL_HINT


def hf_hub_dir() -> Path:
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface"
    )
    return Path(os.environ.get("HF_HUB_CACHE") or os.path.join(hf_home, "hub"))


def find_weights(task: Any) -> Path:
    if task.model.path:
        return weights_file(task.model.path, task, hint=f"the timm {task.model.name} weights file")
    repo = hf_hub_dir() / f"models--timm--{task.model.name}" / "snapshots"
    found = (
        sorted(p for name in ("model.safetensors", "pytorch_model.bin") for p in repo.glob(f"*/{name}"))
        if repo.is_dir()
        else []
    )
    if found:
        return found[0]
    raise BadInput(
        f"model.path: no weights for timm {task.model.name}: model.path is unset and {repo}/*/model.safetensors "
        f"does not exist; set model.path to the weights file (EdgeQ never downloads)"
    )


@with_identity(weights_identity(find_weights))
def load(task: Any, splits: Splits) -> ReferenceModel:
    try:
        import timm
    except Exception as exc:
        raise BadInput(
            f"model.source timm needs timm and torchvision: {INSTALL_HINT}, then pip install timm ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
        ) from None
    path = find_weights(task)
    try:
        module = timm.create_model(
            task.model.name, pretrained=False, num_classes=task.num_classes, **task.model.options
        )
    except RuntimeError as exc:
        raise BadInput(
            f"model.name: timm has no model {task.model.name!r} ({str(exc).splitlines()[0][:160]})"
        ) from None
    cfg = getattr(module, "pretrained_cfg", {}) or {}
    expected = {
        k: cfg.get(k) for k in ("input_size", "interpolation", "crop_pct", "crop_mode", "mean", "std") if k in cfg
    }
    return with_weights(module, path, task, "timm", timm=timm.__version__, pretrained_cfg=expected)
