"""The build half of a job (the prepare side): task data, reference model and artifact, each cached by
its inputs, handed to the run half as ``PreparedInputs``.

Within a process, a task's splits, reference model and fp32 ONNX export are built once and shared by
every method. On disk, artifacts are cached under ``<results>/cache/artifacts/<task>/<method>-<key>/``
keyed by what decides them (task file, method, params, numeric package versions), so a rerun with
``--force`` re-measures without re-quantizing, and a changed parameter re-quantizes just that method.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suite.compute.artifact import artifact_compute
from suite.compute.weights import weights_block
from suite.config import Loaded, load_task
from suite.config.schemas import TaskConfig
from suite.data.base import Splits
from suite.errors import BadInput
from suite.files import file_sha256
from suite.job.inputs import PreparedInputs, load_carried
from suite.job.isolate import enter_measurement
from suite.job.phase import phase
from suite.job.run import run
from suite.job.spec import Job
from suite.methods.base import Artifact, PrepareContext
from suite.paths import cache_dir
from suite.records.lease import Lease, wait_free
from suite.records.store import atomic_write_json
from suite.registry import datasets, methods, zoo
from suite.zoo.base import ReferenceModel
from suite.zoo.conversion_check import check_torch_export


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
    """The task's float ONNX graph; a torch export is checked against the module first (one line if not)."""
    if state.reference.onnx_refused:  # e.g. a full-integer TFLite file: no float graph of it exists
        raise BadInput(state.reference.onnx_refused)
    if state.fp32_path is None or not state.fp32_path.is_file():
        from suite.methods.fp32 import export_onnx

        key = state.reference.weights_sha256[:16]
        path = cache_dir("onnx", state.task.name) / f"fp32-{key}.onnx"
        if state.reference.onnx_path is not None:  # onnx / tflite / keras sources: the graph file is the reference
            path = state.reference.onnx_path
        elif not path.is_file():  # exported under a name of its own, then renamed: sweeps may export at once
            private = path.with_name(f"{path.stem}.{os.getpid()}-{secrets.token_hex(4)}.onnx")
            export_onnx(state.reference.module, state.task.input.shape, private)
            os.replace(private, path)
        if state.reference.onnx_path is None:  # a torch export: checked against the module before any use
            check_torch_export(state.reference, path, state.splits.x_eval)
        state.fp32_path = path
    return state.fp32_path


def _cached_artifact(folder: Path) -> Artifact | None:
    """The published artifact in ``folder``, if its description reads and its file's bytes are the ones
    recorded (a bad disk, a hand edit: rebuilt, never trusted)."""
    meta_path = folder / "artifact.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        artifact = Artifact.from_record(meta["artifact"], meta.get("simulated_top1"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (artifact.path.is_file() and file_sha256(artifact.path) == artifact.sha256):
        return None
    weights = artifact.details.get("bin_sha256")  # an OpenVINO IR: its weights are in the .bin beside it
    if weights and not (
        artifact.path.with_suffix(".bin").is_file() and file_sha256(artifact.path.with_suffix(".bin")) == weights
    ):
        return None
    return artifact


def _with_compute(task: Loaded, folder: Path, artifact: Artifact) -> Artifact:
    """A cached artifact built before MACs or its weights were counted: counted once now and its
    description rewritten."""
    if "work" in artifact.details and "weights" in artifact.details:
        return artifact
    if "work" not in artifact.details:
        state = task_state(task)
        artifact.details["work"] = artifact_compute(
            artifact.format, artifact.path, lambda: fp32_onnx(state), state.task
        )
    if "weights" not in artifact.details:
        artifact.details["weights"] = weights_block(artifact.format, artifact.path, artifact.weight_bits)
    meta = json.loads((folder / "artifact.json").read_text())
    atomic_write_json(folder / "artifact.json", {**meta, "artifact": artifact.to_record()})
    return artifact


def build_artifact(
    task: Loaded, method: str, params: dict[str, Any], key: str, target_name: str = ""
) -> tuple[Artifact, bool]:
    """The artifact for (task, method, params): from the cache, or built now. Returns (artifact, built).

    One builder per artifact across processes sharing the cache: the build holds the artifact's lease
    (``<folder>.lease``, ``suite.records.lease``); another process that needs it meanwhile waits and
    uses what was published. The build writes into a folder of its own and publishes it, description
    included, with one rename onto the missing name, so a reader sees the whole entry or none.
    """
    folder = cache_dir("artifacts", task.config.name) / f"{method}-{key}"
    cached = _cached_artifact(folder)
    if cached is not None:
        return _with_compute(task, folder, cached), False
    lease_path = folder.with_name(folder.name + ".lease")
    lease = Lease.acquire(lease_path)
    while lease is None:  # another process is building it: wait for it and use its artifact
        wait_free(lease_path)
        cached = _cached_artifact(folder)
        if cached is not None:
            return cached, False
        lease = Lease.acquire(lease_path)
    with lease:
        cached = _cached_artifact(folder)  # published just before the lease was free
        if cached is not None:
            return cached, False
        return _build(task, method, params, folder, target_name), True


def _build(task: Loaded, method: str, params: dict[str, Any], folder: Path, target_name: str) -> Artifact:
    state = task_state(task)
    phase("quantizing")
    method_cls = methods.get(method)
    parsed = method_cls.parse_params(params, name=method)
    _remove_dead_builds(folder)
    tmp = folder.with_name(f"{folder.name}.building-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}")
    tmp.mkdir(parents=True)
    try:
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
        built_path = artifact.path
        if (
            artifact.format == "onnx"
            and state.reference.conversion_check
            and "conversion_check" not in artifact.details
        ):
            artifact.details["conversion_check"] = state.reference.conversion_check  # the graph it started from
        # MACs and weight bytes from the built file (or the ONNX it was made from); never fails the build
        artifact.details.setdefault("work", artifact_compute(artifact.format, built_path, ctx.fp32_onnx, state.task))
        # bits per weight as stored: types, scales and zero points read from the built file (suite.compute.weights)
        artifact.details.setdefault("weights", weights_block(artifact.format, built_path, artifact.weight_bits))
        artifact.path = folder / built_path.relative_to(tmp)  # where it will be once published
        atomic_write_json(
            tmp / "artifact.json", {"artifact": artifact.to_record(), "simulated_top1": artifact.simulated_top1}
        )
        _publish(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone after a publish; a failed build's leftovers
    return artifact


def _publish(tmp: Path, folder: Path) -> None:
    """Rename the built folder onto ``folder``; an unusable entry already there is moved aside first."""
    if folder.exists():  # unreadable or with changed bytes (checked by the caller): replaced, atomically
        aside = folder.with_name(f".{folder.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            os.rename(folder, aside)
        except FileNotFoundError:
            pass
        else:
            shutil.rmtree(aside, ignore_errors=True)
    os.rename(tmp, folder)


def _remove_dead_builds(folder: Path) -> None:
    """Build folders of this host's builders that died (SIGKILL, out of memory) mid-build."""
    host = socket.gethostname()
    for old in folder.parent.glob(f"{folder.name}.building-{host}-*"):
        try:
            pid = int(old.name.rsplit("-", 2)[1])
        except (IndexError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue


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
    enter_measurement()  # the job process's bound switches from the build's to the measurement's
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
