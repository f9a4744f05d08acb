"""Expand tasks x methods x runtimes into Jobs, fingerprint them, skip what is already measured.

A Job is plain data (JSON-serialisable) so it can be handed to a worker process or another machine.
Its fingerprint hashes everything that changes its result (DESIGN.md): the task file, the dataset and
model identity, the method and its resolved parameters, the profile file, runtime and providers, the
versions of the packages that change numerics, and the quick/limit flags. It is computed without
importing torch or training anything, so a rerun knows at once which jobs it can reuse.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from suite.config import Loaded, load_task
from suite.config.schemas import ProfileConfig, RuntimeSpec, TaskConfig
from suite.machine.envinfo import NUMERIC_PACKAGES, package_versions
from suite.errors import BadInput
from suite.records.store import RecordStore, fingerprint, job_id_of
from suite.registry import load_catalogue, methods, runtimes

FINGERPRINT_VERSION = 2  # bump when the meaning of a measurement changes (2: builtin training on one thread)


@dataclass
class Job:
    task_name: str
    task_path: str
    task_sha256: str
    profile_name: str
    profile_path: str
    profile_sha256: str
    method: str
    family: str
    params: dict[str, Any]
    runtime: dict[str, Any]
    quick: bool
    limit: int | None
    target_matched: bool
    target_override: bool
    artifact_key: str
    fingerprint: str = ""
    job_id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    skip: str | None = None  # one line: why this job is recorded as skipped (e.g. an unset env var)
    # Set on a device running a carried bundle (suite.bundle.carry): its artifact and eval-data files, so the
    # job is measured without the prepare side. Not part of the fingerprint (job.inputs is).
    prepared: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Job":
        return cls(**data)

    @property
    def runtime_spec(self) -> RuntimeSpec:
        return RuntimeSpec.model_validate(self.runtime)

    @property
    def label(self) -> str:
        return f"{self.task_name} / {self.method} / {self.runtime['name']}"


def detect(profile: ProfileConfig) -> tuple[bool, str]:
    """Does this machine match the profile's detection rules? (matched, what was expected and found)."""
    from suite.machine.detect import match

    result = match(profile.detect)
    return result.matched, "; ".join([*(f"expected {e}" for e in result.expected), f"found {result.found}"])


def resolve_params(
    method: str, task: TaskConfig, profile: ProfileConfig, where: str, overrides: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Method defaults < the profile's (what decides speed there) < the task's (what it needs) < ``--set``."""
    merged = {
        **profile.method_defaults.get(method, {}),
        **task.method_params.get(method, {}),
        **(overrides or {}).get(method, {}),
    }
    return methods.get(method).parse_params(merged, where).model_dump(mode="json")


def plan(
    profile: Loaded,
    tasks: list[str] | None = None,
    method_names: list[str] | None = None,
    runtime_names: list[str] | None = None,
    quick: bool = False,
    limit: int | None = None,
    override: bool = False,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> list[Job]:
    load_catalogue()
    prof: ProfileConfig = profile.config
    from suite.machine.detect import check_target

    result = check_target(profile)
    matched = result.matched
    if not matched and not override:
        raise BadInput(f"{result.line(profile.alias or prof.name)}; use --override-target to measure anyway (the record will say so)")
    task_list = tasks or prof.tasks
    if not task_list:
        raise BadInput(f"{profile.path}: tasks: the profile lists no default tasks; pass --tasks")
    specs: list[RuntimeSpec] = list(prof.runtimes)
    if runtime_names:
        for name in runtime_names:
            if name not in runtimes:
                raise BadInput(runtimes.unknown_message(name))
        specs = [s for s in specs if s.name in runtime_names]
        if not specs:
            raise BadInput(f"{profile.path}: runtimes: none of {runtime_names} is configured for target {prof.name!r}")
    if method_names:
        for name in method_names:
            if name != "all" and name not in methods:
                raise BadInput(methods.unknown_message(name))
    packages = package_versions(NUMERIC_PACKAGES)
    jobs: list[Job] = []
    for task_name in task_list:
        task = load_task(task_name)
        cfg: TaskConfig = task.config
        wanted = cfg.methods if not method_names else (methods.names() if "all" in method_names else method_names)
        identity, skip = _task_identity(cfg)
        if not method_names:
            wanted = [*wanted, *(m for m in prof.extra_methods if m not in wanted)]
        for method in wanted:
            params = resolve_params(method, cfg, prof, f"{task.path}", overrides)
            key = fingerprint({"task": task.sha256, "method": method, "params": params, "packages": packages, "identity": identity})[:16]
            for spec in specs:
                runtime_cls = runtimes.get(spec.name)
                if not runtime_cls().supports(artifact_format_of(method)):
                    continue
                job = Job(
                    task_name=cfg.name,
                    task_path=str(task.path),
                    task_sha256=task.sha256,
                    profile_name=prof.name,
                    profile_path=str(profile.path),
                    profile_sha256=profile.sha256,
                    method=method,
                    family=methods.meta(method).get("family") or methods.get(method).family,
                    params=params,
                    runtime=spec.model_dump(mode="json"),
                    quick=quick,
                    limit=limit,
                    target_matched=matched,
                    target_override=override and not matched,
                    artifact_key=key,
                )
                job.inputs = {
                    "v": FINGERPRINT_VERSION,
                    "task_sha256": task.sha256,
                    "dataset": cfg.dataset.model_dump(),
                    "model": cfg.model.model_dump(),
                    "method": method,
                    "params": params,
                    "profile_sha256": profile.sha256,
                    "runtime": job.runtime,
                    "packages": packages,
                    "quick": quick,
                    "limit": limit,
                    "identity": identity,  # model weights and dataset file hashes (suite.zoo.base.task_identity)
                }
                job.skip = skip
                job.fingerprint = fingerprint(job.inputs)
                job.job_id = job_id_of(job.fingerprint)
                jobs.append(job)
    return jobs


def parse_overrides(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["ptq-static.activation_type=int8", ...]`` -> ``{"ptq-static": {"activation_type": "int8"}}``.

    Values are read as YAML scalars, so ``true``, ``8`` and ``0.5`` get their types.
    """
    import yaml

    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        method, dot, param = key.partition(".")
        if not sep or not dot or not method or not param:
            raise BadInput(f"--set: got {item!r}, expected METHOD.PARAM=VALUE (e.g. ptq-static.activation_type=int8)")
        out.setdefault(method, {})[param] = yaml.safe_load(value)
    return out


def _task_identity(task: TaskConfig) -> tuple[dict[str, Any], str | None]:
    """The task's model/dataset identity, or ({missing_env: ...}, skip line) when an env var is unset."""
    from suite.errors import MissingEnv
    from suite.zoo.base import task_identity

    try:
        return task_identity(task), None
    except MissingEnv as exc:
        return {"missing_env": str(exc)}, str(exc)


def artifact_format_of(method: str) -> str:
    """The artifact format a method produces (from its registry metadata; ONNX unless it says)."""
    return methods.meta(method).get("format") or getattr(methods.get(method), "artifact_format", "onnx")


def existing(store: RecordStore, job: Job) -> dict[str, Any] | None:
    """The stored record of this exact job, if any (same fingerprint)."""
    try:
        record = store.read(job.profile_name, job.task_name, job.job_id)
    except BadInput:
        return None  # an unreadable record is redone, never trusted
    if record is not None and record.get("fingerprint") == job.fingerprint:
        return record
    return None

