"""Expand tasks x methods x runtimes into Jobs and fingerprint them (the prepare side's first step).

A job's fingerprint hashes everything that changes its result (docs/design.md): the task file, the
dataset and model identity, the method and its resolved parameters, the target's profile file, runtime
and providers, the versions of the packages that change numerics, and the quick/limit flags. It is
computed without importing torch or training anything, so a rerun knows at once which jobs it can reuse.
"""

from __future__ import annotations

from typing import Any

from suite.config import Loaded
from suite.config.schemas import RuntimeSpec, TargetConfig, TaskConfig
from suite.errors import BadInput
from suite.job.checks import check_target_methods, checked_identity, load_checked_task
from suite.job.spec import Job
from suite.machine.envinfo import NUMERIC_PACKAGES, package_versions
from suite.records.store import fingerprint, job_id_of
from suite.registry import dist_version, methods, runtimes

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
    mlperf: bool = False,
) -> list[Job]:
    """The jobs of a sweep. ``mlperf``: time with the profile's fixed counts (``--mlperf``) instead of
    the default precision-driven timing."""
    prof: TargetConfig = check_target_methods(profile).config
    from suite.machine.target import check_target

    result = check_target(profile)
    matched = result.matched
    if not matched and not override:
        raise BadInput(
            f"{result.line(profile.alias or prof.name)}; use --override-target to measure anyway (the record will say so)"
        )
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
            toolkit = toolkit_of(method)
            # A toolkit outside the fingerprinted packages (nncf, aimet-onnx, ...) decides its artifacts too;
            # built-in methods' toolkits (onnxruntime, torch, tensorflow) are in `packages` already.
            method_extra = _unlisted(toolkit, packages)
            decides = {
                "task": task.sha256,
                "method": method,
                "params": params,
                "packages": packages,
                "identity": identity,
            }
            if plugin:
                decides["plugin"] = plugin
            if method_extra:
                decides["toolkits"] = method_extra
            key = fingerprint(decides)[:16]
            for spec in specs:
                if artifact_format_of(method) not in runtimes.meta(spec.name).get("formats", ()):
                    continue
                if not _entry_runs(spec, method, method_names, runtime_names):
                    continue
                runtime_meta = runtimes.meta(spec.name)
                runtime_pkg = runtime_meta.get("package")
                extra = {
                    **method_extra,
                    **_unlisted(
                        {"name": runtime_pkg, "version": dist_version(runtime_pkg)} if runtime_pkg else None, packages
                    ),
                }
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
                    toolkit=toolkit,
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
                if not mlperf:  # fixed-count (--mlperf) jobs keep the ids they had before the precision mode
                    job.inputs["timing"] = "precision"
                if extra:  # only jobs of the toolkits/runtimes outside `packages`: other ids stay as they were
                    job.inputs["toolkits"] = extra
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


def toolkit_of(method: str) -> dict[str, Any] | None:
    """``{name, version}`` of the library a method quantizes with (its ``toolkit`` metadata), the version
    as installed here (``None`` when it is not installed: the job then fails saying which extra it needs)."""
    name = methods.meta(method).get("toolkit")
    return {"name": str(name), "version": dist_version(str(name))} if name else None


def _unlisted(toolkit: dict[str, Any] | None, packages: dict[str, str]) -> dict[str, Any]:
    """``{dist: version}`` for a toolkit that is not among the fingerprinted ``packages``, else ``{}``."""
    if not toolkit or toolkit["name"] in NUMERIC_PACKAGES:
        return {}
    return {toolkit["name"]: toolkit["version"]}


def _entry_runs(
    spec: RuntimeSpec, method: str, method_names: list[str] | None, runtime_names: list[str] | None
) -> bool:
    """Whether a profile entry runs ``method`` in this sweep. An entry without ``default_methods`` runs
    every method whose artifact it loads. One with them (e.g. local-cpu's openvino) is part of the
    default sweep for those methods only, and of a sweep that names methods (``--methods``) only when
    ``--runtimes`` names its runtime: then it runs every named method, so existing ``--methods`` sweeps
    keep their jobs and their count."""
    if spec.default_methods is None or (runtime_names and spec.name in runtime_names):
        return True
    return not method_names and method in spec.default_methods


def artifact_format_of(method: str) -> str:
    """The artifact format a method produces (from its registry metadata; ONNX unless it says)."""
    return str(methods.meta(method).get("format") or "onnx")
