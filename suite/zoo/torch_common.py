"""What the torch-based sources share: loading a weights file safely and checking the model's interface."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from suite.errors import BadInput


def load_state_dict(path: Path) -> dict[str, Any]:
    """A state dict from ``.pth``/``.pt``/``.bin`` (``torch.load(weights_only=True)``: never unpickles
    code) or ``.safetensors``; a checkpoint wrapping it under ``state_dict``/``model`` is unwrapped."""
    import torch

    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise BadInput(
                f"{path}: reading .safetensors needs the safetensors package (pip install safetensors)"
            ) from None
        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BadInput(f"{path}: not a weights-only torch checkpoint ({str(exc).splitlines()[0][:160]})") from None
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise BadInput(f"{path}: expected a state dict (name -> tensor), got {type(state).__name__}")
    return {k.removeprefix("module."): v for k, v in state.items()}


def apply_state_dict(module: Any, state: dict[str, Any], path: Path, what: str) -> None:
    """``load_state_dict(strict=True)`` with a one-line error naming the first missing/unexpected keys."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = [line.strip() for line in str(exc).splitlines() if line.strip()][:2]
        raise BadInput(f"{path}: these weights do not fit {what}: {' '.join(first)[:300]}") from None


def check_module(module: Any, task: Any, what: str) -> None:
    """Run zeros of ``input.shape`` through the module: a wrong shape or class count is one line here."""
    import torch

    try:
        with torch.no_grad():
            out = module(torch.zeros(1, *task.input.shape))
    except Exception as exc:
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(
            f"{what} does not accept input.shape {list(task.input.shape)} ({task.input.layout}): {line[:200]}"
        ) from None
    if out.ndim != 2 or out.shape[1] != task.num_classes:
        raise BadInput(f"{what} returns shape {list(out.shape)}, expected [batch, {task.num_classes}] (num_classes)")


def state_sha256(state: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def weights_identity(find_weights: Any) -> Any:
    """``identity(task)`` for a source whose weights are one file: that file's sha256."""
    from suite.data.hashing import file_sha256

    def identity(task: Any) -> dict[str, Any]:
        return {"weights_sha256": file_sha256(find_weights(task))}

    return identity


def with_weights(module: Any, path: Path, task: Any, source: str, **origin: Any) -> Any:
    """A ``ReferenceModel`` of ``module`` with the weights file at ``path`` loaded (strict), in eval mode,
    checked against the task's input shape and class count, its sha256 recorded."""
    from suite.data.hashing import file_sha256
    from suite.zoo.base import ReferenceModel

    what = f"{source} {task.model.name}"
    apply_state_dict(module, load_state_dict(path), path, what)
    module.eval()
    check_module(module, task, what)
    sha = file_sha256(path)
    return ReferenceModel(
        module=module,
        weights_sha256=sha,
        origin={"source": source, "name": task.model.name, "weights": str(path), "weights_sha256": sha, **origin},
    )
