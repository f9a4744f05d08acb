"""What the run half of a job needs (``PreparedInputs``), and reading it from a carried bundle.

A job splits in two (docs/design.md, "two sides"): the *build* half makes the artifact and loads the
eval split (torch, TensorFlow, ONNX tooling: a workstation); the *run* half evaluates and times that
artifact (numpy, pydantic, LoadGen and the runtime: any board). ``PreparedInputs`` is the hand-over:

- ``suite.job.build.build_inputs(job)`` makes it on the workstation, from the task and the artifact cache;
- ``load_carried(job)`` reads it back from a carried bundle (``job.prepared``: an artifact file and an
  ``.npz`` of the eval split written by ``edgeq prepare``), importing nothing of the prepare side.

The run half (``suite.job.measure``) cannot tell which of the two it was given, so a board measures the
very same thing a local ``edgeq bench`` does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from suite.errors import BadInput
from suite.files import file_sha256
from suite.job.spec import Job

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
    # Arrays aligned with x_eval that a method is compared against (encoders: the fp32 embeddings,
    # ``reference_embedding``); carried in the bundle's npz under ``extra_<name>``.
    extras: dict[str, np.ndarray] = field(default_factory=dict)


def load_carried(job: Job) -> PreparedInputs:
    """The prepare half from a bundle: ``job.prepared`` names the artifact and eval-data files.

    Both files are checked against the sha256 the workstation wrote, so a damaged copy fails its job
    with a line that says which file, instead of measuring something else.
    """
    prepared = job.prepared
    if prepared is None:
        raise BadInput(
            f"job {job.job_id}: no prepared files to measure (a carried job names its artifact and eval data)"
        )
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
        extras = {key.removeprefix("extra_"): data[key] for key in data.files if key.startswith("extra_")}
    return PreparedInputs(
        artifact_path=path,
        artifact_record=artifact,
        simulated_top1=prepared.get("simulated_top1"),
        x_eval=x_eval,
        y_eval=y_eval,
        task_block=dict(prepared.get("task_block") or {}),
        prepare_s=round(time.perf_counter() - t0, 3),
        extras=extras,
    )
