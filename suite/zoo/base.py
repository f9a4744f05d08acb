"""The reference model a zoo source hands to the methods, and what every source shares.

A source is a function ``load(task, splits) -> ReferenceModel`` registered in ``suite.registry.zoo``.
It may carry an ``identity(task) -> dict`` attribute (see :func:`with_identity`): the cheap facts that
decide its weights (a file's sha256, a package version), which ``edgeq bench`` puts in every job's
fingerprint *before* anything is trained, exported or quantized.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from suite.errors import BadInput


@dataclass
class ReferenceModel:
    """A float model, its weights' sha256 (recorded), and how it was obtained.

    ``module`` is a torch.nn.Module in eval mode for torch sources (builtin, torchvision, timm,
    efficientnet-lite0). For sources that give a graph file (onnx, tflite, keras) ``module`` is None
    and ``onnx_path`` is the float ONNX model every ONNX-side method starts from; torch-side methods
    call :meth:`torch_module`, which says in one line why there is none.
    """

    module: Any  # torch.nn.Module in eval mode, or None for ONNX-only sources
    weights_sha256: str
    origin: dict[str, Any] = field(default_factory=dict)
    onnx_path: Path | None = None

    def torch_module(self, needed_by: str) -> Any:
        """The torch module, or a one-line BadInput for ONNX-only sources."""
        if self.module is None:
            source = self.origin.get("source", "file")
            raise BadInput(
                f"{needed_by} needs a torch model, but this task's model (source {source}) is an ONNX graph "
                f"only; run ONNX-side methods on it (fp32, ptq-static, dynamic) or give a torch source"
            )
        return self.module


def with_identity(
    identity: Callable[[Any], dict[str, Any]], check: Callable[[Any], None] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach ``identity(task) -> dict`` (and optionally ``check(task)``, the file-free checks that
    ``edgeq validate`` runs: options, required keys) to a source or dataset function."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.identity = identity  # type: ignore[attr-defined]
        if check is not None:
            fn.check = check  # type: ignore[attr-defined]
        return fn

    return decorator


def plugin_check(plugin: Any, task: Any) -> None:
    """Run a plugin's file-free checks of a task, if it has any (BadInput on a problem)."""
    check = getattr(plugin, "check", None)
    if check is not None:
        check(task)


def require_path(task: Any) -> None:
    """``check`` for sources that read a file: ``model.path`` must be given."""
    if not task.model.path:
        raise BadInput(f"model.path: missing; model.source {task.model.source} needs the path of the model file")


def plugin_identity(plugin: Any, task: Any) -> dict[str, Any]:
    """The plugin's identity for this task, or {} if it declares none (its spec in the task decides it)."""
    identity = getattr(plugin, "identity", None)
    return identity(task) if identity is not None else {}


def weights_file(spec_path: str | None, task: Any, key: str = "model.path", hint: str = "") -> Path:
    """The model file a task names (``model.path``), resolved and checked to exist."""
    from suite.data.locate import resolve

    if not spec_path:
        raise BadInput(f"{key}: missing; model.source {task.model.source} needs the path of the model file")
    return resolve(spec_path, key, task, kind="file", hint=hint)


def task_identity(task: Any) -> dict[str, Any]:
    """{model: ..., dataset: ...}: what decides the task's weights and data, for job fingerprints.

    Cheap and torch-free: file hashes (cached by stat), package versions. Raises
    :class:`suite.errors.MissingEnv` when the task names an environment variable that is unset.
    """
    from suite.registry import datasets, zoo

    missing_env(task)
    return {
        "model": plugin_identity(zoo.get(task.model.source), task),
        "dataset": plugin_identity(datasets.get(task.dataset.name), task),
    }


def missing_env(task: Any) -> None:
    """Raise :class:`MissingEnv` naming every unset variable the task's paths use (all at once)."""
    import os

    from suite.data.locate import env_vars
    from suite.errors import MissingEnv

    places = {"model.path": task.model.path, "dataset.path": task.dataset.path, "dataset.calibration.path": task.dataset.calibration.path}
    places.update({f"model.options.{k}": v for k, v in task.model.options.items()})
    places.update({f"dataset.options.{k}": v for k, v in task.dataset.options.items()})
    unset = [(name, key) for key, value in places.items() if isinstance(value, str) for name in env_vars(value) if not os.environ.get(name)]
    if unset:
        wanted = " and ".join(f"{name} ({key})" for name, key in unset)
        raise MissingEnv(f"task {task.name} needs the environment variable(s) {wanted}: set them to run it; skipped")
