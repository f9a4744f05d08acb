"""The prepare side of a job: task data, reference model and artifacts, each cached by its inputs.

Within a process, a task's splits, reference model and fp32 ONNX export are built once and shared by
every method. On disk, artifacts are cached under ``<results>/cache/artifacts/<task>/<method>-<key>/``
keyed by what decides them (task file, method, params, numeric package versions), so a rerun with
``--force`` re-measures without re-quantizing, and a changed parameter re-quantizes just that method.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suite.config import Loaded
from suite.config.schemas import TaskConfig
from suite.data.base import Splits
from suite.errors import BadInput
from suite.methods.base import Artifact, PrepareContext
from suite.paths import cache_dir
from suite.records import atomic_write_json
from suite.registry import datasets, load_catalogue, methods, zoo
from suite.zoo.base import ReferenceModel


@dataclass
class TaskState:
    task: TaskConfig
    splits: Splits
    reference: ReferenceModel
    fp32_path: Path | None = None


_TASKS: dict[str, TaskState] = {}


def task_state(loaded: Loaded) -> TaskState:
    """Splits + reference model for a task, built once per process (keyed by the task file's hash)."""
    load_catalogue()
    state = _TASKS.get(loaded.sha256)
    if state is None:
        task: TaskConfig = loaded.config
        splits = datasets.get(task.dataset.name)(task.dataset)
        reference = zoo.get(task.model.source)(task, splits)
        state = TaskState(task=task, splits=splits, reference=reference)
        _TASKS[loaded.sha256] = state
    return state


def fp32_onnx(state: TaskState) -> Path:
    if state.fp32_path is None or not state.fp32_path.is_file():
        from suite.methods.fp32 import export_onnx

        key = state.reference.weights_sha256[:16]
        path = cache_dir("onnx", state.task.name) / f"fp32-{key}.onnx"
        if not path.is_file():
            export_onnx(state.reference.module, state.task.input.shape, path)
        state.fp32_path = path
    return state.fp32_path


def build_artifact(task: Loaded, method: str, params: dict[str, Any], key: str, profile_name: str = "") -> tuple[Artifact, bool]:
    """The artifact for (task, method, params): from the cache, or built now. Returns (artifact, built)."""
    load_catalogue()
    folder = cache_dir("artifacts", task.config.name) / f"{method}-{key}"
    meta_path = folder / "artifact.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        artifact = Artifact.from_record(meta["artifact"], meta.get("simulated_top1"))
        if artifact.path.is_file():
            return artifact, False
    state = task_state(task)
    method_cls = methods.get(method)
    parsed = method_cls.parse_params(params)
    tmp = folder.with_name(folder.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    ctx = PrepareContext(
        task=state.task,
        splits=state.splits,
        reference=state.reference,
        workdir=tmp,
        fp32_onnx=lambda: fp32_onnx(state),
        profile_name=profile_name,
    )
    artifact = method_cls().apply(ctx, parsed)
    if not artifact.path.is_file():
        raise BadInput(f"method {method!r} reported {artifact.path} but wrote no such file")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.replace(folder)
    artifact.path = folder / artifact.path.relative_to(tmp)
    atomic_write_json(meta_path, {"artifact": artifact.to_record(), "simulated_top1": artifact.simulated_top1})
    return artifact, True
