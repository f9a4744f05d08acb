"""The build half of a job (the prepare side): task data, reference model and artifact, each cached by
its inputs, handed to the run half as ``PreparedInputs``.

Within a process, a task's splits, reference model and fp32 ONNX export are built once and shared by
every method. On disk, artifacts are cached under ``<results>/cache/artifacts/<task>/<method>-<key>/``
keyed by what decides them (task file, method, params, numeric package versions), so a rerun with
``--force`` re-measures without re-quantizing, and a changed parameter re-quantizes just that method.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suite.compute.artifact import artifact_compute
from suite.config import Loaded, load_task
from suite.config.schemas import TaskConfig
from suite.data.base import Splits
from suite.errors import BadInput
from suite.files import file_sha256
from suite.job.inputs import PreparedInputs, load_carried
from suite.job.phase import phase
from suite.job.run import run
from suite.job.spec import Job
from suite.methods.base import Artifact, PrepareContext
from suite.paths import cache_dir
from suite.records.store import atomic_write_json
from suite.registry import datasets, methods, zoo
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
    state = _TASKS.get(loaded.sha256)
    if state is None:
        task: TaskConfig = loaded.config
        from suite.data.base import load_splits

        splits = load_splits(datasets.get(task.dataset.name), task)
        from suite.zoo.checks import check_splits

        check_splits(task, splits)  # shapes and labels fit the task before any model is trained or loaded
        phase("training")  # the reference model: trained, or loaded from the cache
        reference = zoo.get(task.model.source)(task, splits)
        state = TaskState(task=task, splits=splits, reference=reference)
        _TASKS[loaded.sha256] = state
    return state


def fp32_onnx(state: TaskState) -> Path:
    if state.fp32_path is None or not state.fp32_path.is_file():
        from suite.methods.fp32 import export_onnx

        key = state.reference.weights_sha256[:16]
        path = cache_dir("onnx", state.task.name) / f"fp32-{key}.onnx"
        if state.reference.onnx_path is not None:  # onnx / tflite / keras sources: the graph file is the reference
            path = state.reference.onnx_path
        elif not path.is_file():
            export_onnx(state.reference.module, state.task.input.shape, path)
        state.fp32_path = path
    return state.fp32_path


def build_artifact(
    task: Loaded, method: str, params: dict[str, Any], key: str, target_name: str = ""
) -> tuple[Artifact, bool]:
    """The artifact for (task, method, params): from the cache, or built now. Returns (artifact, built)."""
    folder = cache_dir("artifacts", task.config.name) / f"{method}-{key}"
    meta_path = folder / "artifact.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            artifact = Artifact.from_record(meta["artifact"], meta.get("simulated_top1"))
        except (OSError, ValueError, KeyError, TypeError):
            artifact = None  # an unreadable cache entry is rebuilt, never trusted
        # A cached file whose bytes are not the ones recorded (a bad disk, a hand edit) is rebuilt too.
        if artifact is not None and artifact.path.is_file() and file_sha256(artifact.path) == artifact.sha256:
            if "compute" not in artifact.details:  # built before MACs were counted: count now, keep it
                state = task_state(task)
                artifact.details["compute"] = artifact_compute(
                    artifact.format, artifact.path, lambda: fp32_onnx(state), state.task
                )
                atomic_write_json(meta_path, {**meta, "artifact": artifact.to_record()})
            return artifact, False
    state = task_state(task)
    phase("quantizing")
    method_cls = methods.get(method)
    parsed = method_cls.parse_params(params, name=method)
    tmp = folder.with_name(folder.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    ctx = PrepareContext(
        task=state.task,
        splits=state.splits,
        reference=state.reference,
        workdir=tmp,
        fp32_onnx=lambda: fp32_onnx(state),
        target_name=target_name,
    )
    try:
        artifact = method_cls().apply(ctx, parsed)
    except (AttributeError, TypeError) as exc:
        if state.reference.module is None and "'NoneType' object has no attribute" in str(
            exc
        ):  # a torch-side method on an ONNX-only model: say so in one line
            state.reference.torch_module(f"method {method!r}")
        raise exc
    if not artifact.path.is_file():
        raise BadInput(f"method {method!r} reported {artifact.path} but wrote no such file")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.replace(folder)
    artifact.path = folder / artifact.path.relative_to(tmp)
    artifact.details.setdefault("compute", artifact_compute(artifact.format, artifact.path, ctx.fp32_onnx, state.task))
    atomic_write_json(meta_path, {"artifact": artifact.to_record(), "simulated_top1": artifact.simulated_top1})
    return artifact, True


def build_inputs(job: Job) -> PreparedInputs:
    """The build half on this machine: the artifact (cached by its key) and the task's eval split."""
    t0 = time.perf_counter()
    task_loaded = load_task(job.task_path)
    artifact, built = build_artifact(task_loaded, job.method, job.params, job.artifact_key, job.target_name)
    state = task_state(task_loaded)
    splits = state.splits
    x_eval, y_eval = splits.x_eval, splits.y_eval
    extras = dict(state.reference.eval_extras)
    if job.limit:
        x_eval, y_eval = x_eval[: job.limit], y_eval[: job.limit]
        extras = {name: values[: job.limit] for name, values in extras.items()}
    return PreparedInputs(
        artifact_path=Path(artifact.path),
        artifact_record={**artifact.to_record(), "cached": not built},
        simulated_top1=artifact.simulated_top1,
        x_eval=x_eval,
        y_eval=y_eval,
        task_block={
            "dataset": {**splits.identity, "n_eval": len(x_eval)},
            "limit": job.limit,
            "weights_sha256": state.reference.weights_sha256,
            "model": state.reference.origin,
        },
        prepare_s=round(time.perf_counter() - t0, 3),
        extras=extras,
    )


def inputs_for(job: Job) -> PreparedInputs:
    """From the bundle when the job carries one, else built here."""
    return load_carried(job) if job.prepared else build_inputs(job)


def run_job(job: Job) -> dict[str, Any]:
    """One job on a workstation: build (or read the carried) inputs, then measure. What the job
    process of ``edgeq bench`` runs (``suite.job.isolate``)."""
    return run(job, inputs_for)
