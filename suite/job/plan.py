"""Expand tasks x methods x runtimes into Jobs and fingerprint them (the prepare side's first step).

A job's fingerprint hashes everything that changes its result (docs/design.md): the task file, the
dataset and model identity, the method and its resolved parameters, the target's profile file, runtime
and providers, the versions of the packages that change numerics, and the quick/limit flags. It is
computed without importing torch or training anything, so a rerun knows at once which jobs it can reuse.
"""

from __future__ import annotations

from typing import Any

from suite.config import Loaded
from suite.job.checks import check_target_methods, checked_identity, load_checked_task
from suite.config.schemas import RuntimeSpec, TargetConfig, TaskConfig
from suite.job.spec import Job
from suite.machine.envinfo import NUMERIC_PACKAGES, package_versions
from suite.errors import BadInput
from suite.records.store import fingerprint, job_id_of
from suite.registry import methods, runtimes

FINGERPRINT_VERSION = 2  # bump when the meaning of a measurement changes (2: builtin training on one thread)


def resolve_params(
    method: str, task: TaskConfig, profile: TargetConfig, where: str, overrides: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Method defaults < the profile's (what decides speed there) < the task's (what it needs) < ``--set``."""
    merged = {
        **profile.method_defaults.get(method, {}),
        **task.method_params.get(method, {}),
        **(overrides or {}).get(method, {}),
    }
    return methods.get(method).parse_params(merged, where, method).model_dump(mode="json")


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
    prof: TargetConfig = check_target_methods(profile).config
    from suite.machine.target import check_target

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
    planned: set[str] = set()
    for task_name in task_list:
        task = load_checked_task(task_name)
        cfg: TaskConfig = task.config
        wanted = cfg.methods if not method_names else (methods.names() if "all" in method_names else method_names)
        identity, skip = checked_identity(task)
        if not method_names:
            wanted = [*wanted, *(m for m in prof.extra_methods if m not in wanted)]
        planned.update(wanted)
        for method in wanted:
            params = resolve_params(method, cfg, prof, f"{task.path}", overrides)
            plugin = _plugin_version(method)  # a plugin method's own version decides its artifact
            decides = {"task": task.sha256, "method": method, "params": params, "packages": packages, "identity": identity}
            key = fingerprint({**decides, "plugin": plugin} if plugin else decides)[:16]
            for spec in specs:
                if artifact_format_of(method) not in runtimes.meta(spec.name).get("formats", ()):
                    continue
                job = Job(
                    task_name=cfg.name,
                    task_path=str(task.path),
                    task_sha256=task.sha256,
                    target_name=prof.name,
                    target_path=str(profile.path),
                    target_sha256=profile.sha256,
                    method=method,
                    family=str(methods.meta(method).get("family") or ""),
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
                    "identity": identity,  # model weights and dataset file hashes (suite.job.checks.task_identity)
                }
                if plugin:  # built-ins have none: their version is the suite's, and their ids stay as they were
                    job.inputs["plugin"] = plugin
                job.skip = skip
                job.fingerprint = fingerprint(job.inputs)
                job.job_id = job_id_of(job.fingerprint)
                jobs.append(job)
    check_overrides_used(overrides, planned)
    return jobs


def parse_overrides(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["ptq-static.activation_type=int8", ...]`` -> ``{"ptq-static": {"activation_type": "int8"}}``.

    Values are read as YAML scalars, so ``true``, ``8`` and ``0.5`` get their types.
    """
    import yaml

    from suite.config.safe_yaml import parse_yaml

    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        method, dot, param = key.partition(".")
        if not sep or not dot or not method or not param:
            raise BadInput(f"--set: got {item!r}, expected METHOD.PARAM=VALUE (e.g. ptq-static.activation_type=int8)")
        if method not in methods:
            raise BadInput(f"--set {key}: {methods.unknown_message(method)}")
        try:
            out.setdefault(method, {})[param] = parse_yaml(value, f"--set {key}")
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise BadInput(f"--set {key}: got {value!r}, expected a YAML value ({problem})") from None
    return out


def check_overrides_used(overrides: dict[str, dict[str, Any]] | None, planned: set[str]) -> None:
    """A ``--set`` for a method that no task of the sweep runs would be dropped silently: refuse it."""
    unused = sorted(set(overrides or {}) - planned)
    if unused:
        raise BadInput(
            f"--set: {', '.join(unused)} is not among the methods of this sweep ({', '.join(sorted(planned)) or 'none'}); "
            f"add it with --methods or drop the --set"
        )


def _plugin_version(method: str) -> dict[str, str] | None:
    """``{distribution: version}`` of an entry-point method, None for built-in and EDGEQ_PLUGINS ones."""
    from importlib import metadata

    origin = methods.entry(method).origin
    if origin in ("builtin", "entry point"):
        return None
    try:
        return {origin: metadata.version(origin)}
    except metadata.PackageNotFoundError:
        return {origin: "unknown"}


def artifact_format_of(method: str) -> str:
    """The artifact format a method produces (from its registry metadata; ONNX unless it says)."""
    return str(methods.meta(method).get("format") or "onnx")
