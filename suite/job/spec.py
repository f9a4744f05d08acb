"""A Job: one (task, method + parameters, target, runtime) cell of a sweep, as plain data.

A Job is JSON-serialisable so that it can be handed to the job process, packed into a bundle for a
board or sent through the fleet's broker. ``inputs`` is what its fingerprint hashes (see
``suite.job.plan``); ``prepared`` is set only on a board running a carried bundle.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from suite.config.schemas import RuntimeSpec


@dataclass
class Job:
    task_name: str
    task_path: str
    task_sha256: str
    target_name: str
    target_path: str
    target_sha256: str
    method: str
    family: str
    params: dict[str, Any]
    runtime: dict[str, Any]  # the target's RuntimeSpec entry, as a dict
    quick: bool
    limit: int | None
    target_matched: bool
    target_override: bool
    artifact_key: str
    fingerprint: str = ""
    job_id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    skip: str | None = None  # one line: why this job is recorded as skipped (e.g. an unset env var)
    # Set on a board running a carried bundle (suite.bundle): its artifact and eval-data files, so the
    # job is measured without the prepare side. Not part of the fingerprint (job.inputs is).
    prepared: dict[str, Any] | None = None
    # {name, version} of the library that quantizes (the method's ``toolkit``), read at planning time on
    # the machine that builds the artifact; the record's ``method.toolkit``. Not part of the fingerprint.
    toolkit: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        return cls(**data)

    @property
    def runtime_spec(self) -> RuntimeSpec:
        return RuntimeSpec.model_validate(self.runtime)

    @property
    def is_baseline(self) -> bool:
        """An fp32 reference (fp32, tflite-fp32, fp32-torch): the others' deltas and speed-ups are against it."""
        return self.family == "baseline"

    @property
    def timing_mode(self) -> str:
        """``precision`` (the default) or ``mlperf`` (``--mlperf``: fixed counts), from the fingerprinted
        inputs: jobs planned before the precision mode existed have no ``timing`` key and ran fixed counts."""
        return str(self.inputs.get("timing", "mlperf"))

    @property
    def label(self) -> str:
        return f"{self.task_name} / {self.method} / {self.runtime['name']}"
