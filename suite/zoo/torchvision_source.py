"""``torchvision``: a torchvision classification model by name, weights from a local file.

The suite never assumes a download works. Weights are ``model.path`` (e.g. ``${RESNET18_WEIGHTS}``)
or, if unset, the one file ``<name>-*.pth`` in torch's hub cache (``$TORCH_HOME/hub/checkpoints``,
default ``~/.cache/torch/hub/checkpoints``), where torchvision itself keeps what it downloaded. The
error says where it looked. Locating the file needs no torchvision import, so a job's fingerprint
(which holds the file's sha256) is known before anything is built.

torchvision is an optional extra: PyPI's torchvision builds do not import beside the pinned CPU torch
2.13.0 (its C++ ops fail to register). Pairs that do: torch 2.9.1 + torchvision 0.24.1, or torch
2.14.1 + torchvision 0.29.1 (CUDA build, ~5.5 GB). Install one pair in its own environment to use
this source; the rest of EdgeQ works either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from suite.data.base import Splits, with_identity
from suite.errors import BadInput
from suite.zoo.base import ReferenceModel, weights_file
from suite.zoo.torch_common import weights_identity, with_weights

INSTALL_HINT = (
    "torchvision does not import beside this torch build; install a matching pair in its own environment "
    "(torch==2.9.1 torchvision==0.24.1, or torch==2.14.1 torchvision==0.29.1)"
)


def hub_checkpoints() -> Path:
    """torch.hub's checkpoint folder, as ``torch.hub.get_dir()`` computes it, without importing torch."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


def find_weights(task: Any, source: str = "torchvision") -> Path:
    if task.model.path:
        return weights_file(task.model.path, task, hint=f"the {task.model.name} weights file")
    folder = hub_checkpoints()
    found = sorted(folder.glob(f"{task.model.name}-*.pth")) if folder.is_dir() else []
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise BadInput(
            f"model.path: several {task.model.name} weights in {folder} ({', '.join(p.name for p in found)}); name one in model.path"
        )
    raise BadInput(
        f"model.path: no weights for {source} {task.model.name}: model.path is unset and {folder}/{task.model.name}-*.pth "
        f"does not exist; copy the weights file there or set model.path (EdgeQ never downloads)"
    )


@with_identity(weights_identity(find_weights))
def load(task: Any, splits: Splits) -> ReferenceModel:
    path = find_weights(task)
    try:
        import torchvision
    except Exception as exc:  # ImportError, or the RuntimeError of a torch/torchvision mismatch
        raise BadInput(
            f"model.source torchvision: {INSTALL_HINT} ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
        ) from None
    try:
        module = torchvision.models.get_model(
            task.model.name, weights=None, num_classes=task.num_classes, **task.model.options
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInput(
            f"model.name: torchvision has no classification model {task.model.name!r} taking these options ({exc})"
        ) from None
    return with_weights(module, path, task, "torchvision", torchvision=torchvision.__version__)
