"""What the run half of a job needs, and the two places it comes from.

A job splits in two (DESIGN.md, "two sides"): the *prepare* half builds the artifact and loads the eval
split (torch, TensorFlow, ONNX tooling: a workstation); the *run* half evaluates and times that artifact
(numpy, pydantic, LoadGen and the runtime: any device). ``PreparedInputs`` is the hand-over between them:

- ``prepare_inputs(job)`` makes it on the workstation, from the task's dataset and the artifact cache;
- ``load_prepared(job)`` reads it back from a carried bundle (``job.prepared``: an artifact file and an
  ``.npz`` of the eval split written by ``edgeq prepare``), importing nothing of the prepare side.

The run half (``suite.job.measure``) cannot tell which of the two it was given, so a device measures the
very same thing a local ``edgeq bench`` does.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from suite.errors import BadInput

DATA_KEYS = ("x_eval", "y_eval")


@dataclass
class PreparedInputs:
    """An artifact ready to load, the eval samples to score it on, and what the record says of both."""

    artifact_path: Path
    artifact_record: dict[str, Any]  # Artifact.to_record() plus "cached"
    simulated_top1: float | None
    x_eval: np.ndarray
    y_eval: np.ndarray
    task_block: dict[str, Any] = field(default_factory=dict)  # dataset, limit, weights_sha256, model
    prepare_s: float | None = None


def prepare_inputs(job: Any) -> PreparedInputs:
    """The prepare half on this machine: the artifact (cached by its key) and the task's eval split."""
    from suite.job import build as prepare
    from suite.config import load_task

    t0 = time.perf_counter()
    task_loaded = load_task(job.task_path)
    artifact, built = prepare.build_artifact(task_loaded, job.method, job.params, job.artifact_key, job.profile_name)
    state = prepare.task_state(task_loaded)
    splits = state.splits
    x_eval, y_eval = splits.x_eval, splits.y_eval
    if job.limit:
        x_eval, y_eval = x_eval[: job.limit], y_eval[: job.limit]
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
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_prepared(job: Any) -> PreparedInputs:
    """The prepare half from a bundle: ``job.prepared`` names the artifact and eval-data files.

    Both files are checked against the sha256 the workstation wrote, so a damaged copy fails its job
    with a line that says which file, instead of measuring something else.
    """
    prepared = job.prepared
    t0 = time.perf_counter()
    artifact = dict(prepared["artifact"])
    path = Path(artifact["path"])
    if not path.is_file():
        raise BadInput(f"bundle: artifact {path} is missing")
    if file_sha256(path) != artifact["sha256"]:
        raise BadInput(f"bundle: artifact {path} does not match its sha256 in the bundle (damaged copy)")
    data_path = Path(prepared["data"])
    if not data_path.is_file():
        raise BadInput(f"bundle: eval data {data_path} is missing")
    if prepared.get("data_sha256") and file_sha256(data_path) != prepared["data_sha256"]:
        raise BadInput(f"bundle: eval data {data_path} does not match its sha256 in the bundle (damaged copy)")
    with np.load(data_path, allow_pickle=False) as data:  # plain arrays only: no pickle from a file
        missing = [key for key in DATA_KEYS if key not in data.files]
        if missing:
            raise BadInput(f"bundle: eval data {data_path} has no {', '.join(missing)}")
        x_eval, y_eval = data["x_eval"], data["y_eval"]
    return PreparedInputs(
        artifact_path=path,
        artifact_record=artifact,
        simulated_top1=prepared.get("simulated_top1"),
        x_eval=x_eval,
        y_eval=y_eval,
        task_block=dict(prepared.get("task_block") or {}),
        prepare_s=round(time.perf_counter() - t0, 3),
    )


def inputs_for(job: Any) -> PreparedInputs:
    """From the bundle when the job carries one, else prepared here."""
    return load_prepared(job) if getattr(job, "prepared", None) else prepare_inputs(job)
