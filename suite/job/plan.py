"""Expand tasks x methods x runtimes into Jobs and fingerprint them (the prepare side's first step).

A job's fingerprint hashes everything that changes its result (docs/design.md): the task file, the
dataset and model identity, the method and its resolved parameters, the target's profile file, runtime
and providers, the versions of the packages that change numerics, and the quick/limit flags. It is
computed without importing torch or training anything, so a rerun knows at once which jobs it can reuse.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from suite.config import Loaded
from suite.config.schemas import RuntimeSpec, TargetConfig, TaskConfig
from suite.errors import BadInput
from suite.job.checks import check_target_methods, checked_identity, load_checked_task
from suite.job.request import SweepRequest
from suite.job.spec import Job
from suite.machine.envinfo import NUMERIC_PACKAGES, package_versions
from suite.records.store import fingerprint, job_id_of
from suite.registry import dist_version, methods, runtimes

FINGERPRINT_VERSION = 2  # bump when the meaning of a measurement changes (2: builtin training on one thread)


def resolve_params(
    method: str,
    task: TaskConfig,
    profile: TargetConfig,
    where: str,
    method_params: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Method defaults < the profile's (what decides speed there) < the task's (what it needs) < ``--param``."""
    merged = {
        **profile.method_defaults.get(method, {}),
        **task.method_params.get(method, {}),
        **(method_params or {}).get(method, {}),
    }
    return methods.get(method).parse_params(merged, where, method).model_dump(mode="json")


@dataclass
class SweepPlan:
    """The jobs of a sweep, and what the entry rule (``entry_runs``) left out, to print before the first job."""

    jobs: list[Job]
    profile_name: str
    left_out: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """``(runtime entry, why) -> methods`` the rule kept off that entry."""

    def lines(self) -> list[str]:
        """One line per task (its jobs per runtime entry), then one per entry and reason left out."""
        out = [f"plan: {len(self.jobs)} job(s) on {self.profile_name}"]
        per_task: dict[str, Counter[str]] = {}
        for job in self.jobs:
            per_task.setdefault(job.task_name, Counter())[job.runtime["name"]] += 1
        for task, counts in per_task.items():
            out.append(f"  {task}: " + ", ".join(f"{name} {n}" for name, n in counts.items()))
        for (entry, why), left in sorted(self.left_out.items()):
            names = f" for {', '.join(sorted(left))}" if left else ""
            out.append(f"  left out {entry}{names}: {why}")
        return out


def plan(profile: Loaded, request: SweepRequest) -> SweepPlan:
    """The jobs of ``request`` on ``profile``, and what it left out. The entry rule is ``entry_runs``."""
    prof: TargetConfig = check_target_methods(profile).config
    from suite.machine.target import check_target

    result = check_target(profile)
    matched = result.matched
    if not matched and not request.override_target:
        raise BadInput(
            f"{result.line(profile.alias or prof.name)}; use --override-target to measure anyway (the record will say so)"
        )
    task_list = list(request.tasks or prof.tasks)
    if not task_list:
        raise BadInput(f"{profile.path}: tasks: the profile lists no default tasks; pass --tasks")
    method_names = list(request.methods) if request.methods else None
    runtime_names = list(request.runtimes) if request.runtimes else None
    specs: list[RuntimeSpec] = list(prof.runtimes)
    left_out: dict[tuple[str, str], set[str]] = {}
    if runtime_names:
        for name in runtime_names:
            if name not in runtimes:
                raise BadInput(runtimes.unknown_message(name))
        for spec in specs:
            if spec.name not in runtime_names:
                left_out[(spec.name, f"--runtimes {','.join(runtime_names)} leaves it out")] = set()
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
    loads_any: set[str] = set()
    for task_name in task_list:
        task = load_checked_task(task_name)
        cfg: TaskConfig = task.config
        wanted = cfg.methods if not method_names else (methods.names() if "all" in method_names else method_names)
        identity, skip = checked_identity(task)
        if not method_names:
            wanted = [*wanted, *(m for m in prof.extra_methods if m not in wanted)]
        planned.update(wanted)
        for method in wanted:
            params = resolve_params(method, cfg, prof, f"{task.path}", request.method_params)
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
            fmt = artifact_format_of(method, cfg.model.source, cfg.model.path)
            loaders = [spec for spec in specs if fmt in runtimes.meta(spec.name).get("formats", ())]
            # no entry that runs every method loads this artifact (an IR, a .pte): the narrowed ones run it
            only_narrowed = all(spec.default_methods is not None for spec in loaders)
            for spec in loaders:
                loads_any.add(spec.name)
                if not entry_runs(spec, method, runtime_names, only_narrowed):
                    left_out.setdefault((spec.name, _why_not(spec)), set()).add(method)
                    continue
                job = _job(profile, prof, task, spec, method, params, key, toolkit, request, matched)
                runtime_meta = runtimes.meta(spec.name)
                runtime_pkg = runtime_meta.get("package")
                extra = {
                    **method_extra,
                    **_unlisted(
                        {"name": runtime_pkg, "version": dist_version(runtime_pkg)} if runtime_pkg else None, packages
                    ),
                }
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
                    "quick": request.quick,
                    "limit": request.limit,
                    "identity": identity,  # model weights and dataset file hashes (suite.job.checks.task_identity)
                }
                if plugin:  # built-ins have none: their version is the suite's, and their ids stay as they were
                    job.inputs["plugin"] = plugin
                if not request.mlperf:  # fixed-count (--mlperf) jobs keep the ids they had before the precision mode
                    job.inputs["timing"] = "precision"
                if extra:  # only jobs of the toolkits/runtimes outside `packages`: other ids stay as they were
                    job.inputs["toolkits"] = extra
                job.skip = skip
                job.fingerprint = fingerprint(job.inputs)
                job.job_id = job_id_of(job.fingerprint)
                jobs.append(job)
    for spec in specs:
        if spec.name not in loads_any:
            formats = "/".join(runtimes.meta(spec.name).get("formats", ())) or "no"
            left_out[(spec.name, f"no method of this sweep makes a {formats} artifact")] = set()
    check_method_params_used(request.method_params, planned)
    return SweepPlan(jobs, prof.name, left_out)


def _job(
    profile: Loaded,
    prof: TargetConfig,
    task: Loaded,
    spec: RuntimeSpec,
    method: str,
    params: dict[str, Any],
    key: str,
    toolkit: dict[str, Any] | None,
    request: SweepRequest,
    matched: bool,
) -> Job:
    """The job's identity fields (its ``inputs``, fingerprint and id are filled by ``plan``)."""
    return Job(
        task_name=task.config.name,
        task_path=str(task.path),
        task_sha256=task.sha256,
        target_name=prof.name,
        target_path=str(profile.path),
        target_sha256=profile.sha256,
        method=method,
        family=family_of(method, task),
        params=params,
        runtime=spec.model_dump(mode="json"),
        quick=request.quick,
        limit=request.limit,
        target_matched=matched,
        target_override=request.override_target and not matched,
        artifact_key=key,
        toolkit=toolkit,
    )


def parse_method_params(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``--param``: ``["ptq-static.activation_type=int8", ...]`` -> ``{"ptq-static": {"activation_type": "int8"}}``.

    Values are read as YAML scalars, so ``true``, ``8`` and ``0.5`` get their types.
    """
    import yaml

    from suite.config.safe_yaml import parse_yaml

    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        method, dot, param = key.partition(".")
        if not sep or not dot or not method or not param:
            raise BadInput(f"--param: got {item!r}, expected METHOD.PARAM=VALUE (e.g. ptq-static.activation_type=int8)")
        if method not in methods:
            raise BadInput(f"--param {key}: {methods.unknown_message(method)}")
        try:
            out.setdefault(method, {})[param] = parse_yaml(value, f"--param {key}")
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise BadInput(f"--param {key}: got {value!r}, expected a YAML value ({problem})") from None
    return out


def check_method_params_used(method_params: dict[str, dict[str, Any]] | None, planned: set[str]) -> None:
    """A ``--param`` for a method that no task of the sweep runs would be dropped silently: refuse it."""
    unused = sorted(set(method_params or {}) - planned)
    if unused:
        raise BadInput(
            f"--param: {', '.join(unused)} is not among the methods of this sweep "
            f"({', '.join(sorted(planned)) or 'none'}); add it with --methods or drop the --param"
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


def entry_runs(spec: RuntimeSpec, method: str, runtime_names: list[str] | None, only_narrowed: bool = False) -> bool:
    """Whether a profile entry that loads ``method``'s artifact runs it in this sweep (``ENTRY_RULE``).

    The rule is the same whether or not ``--methods`` was given, so a user can tell from the profile
    alone what a command will run: an entry without ``default_methods`` runs every method it loads; one
    with them (local-cpu's openvino: a second runtime on the same ONNX files, so running every method
    there would double the sweep) runs only those, until ``--runtimes`` names it, or unless no entry
    without ``default_methods`` loads the artifact (``only_narrowed``: an OpenVINO IR measured ``as-is``
    has no first runtime for the narrowed entry to double)."""
    if spec.default_methods is None or only_narrowed or (runtime_names and spec.name in runtime_names):
        return True
    return method in spec.default_methods


def _why_not(spec: RuntimeSpec) -> str:
    return (
        f"the entry runs only its default_methods ({', '.join(spec.default_methods or [])}); "
        f"--runtimes {spec.name} runs any method it loads there"
    )


def family_of(method: str, task: Loaded) -> str:
    """The method's family (registry metadata), except for ``as-is`` of a quantized ``.gguf`` that transformers
    reads (smollm2-135m-wiki's Q4_1 file): that task has a float reference, the file dequantized (``fp32``, and
    ``gguf-f32`` on llama.cpp's entry), so the file's own row is compared with it as llama.cpp's quant types are
    (``weight-only``), instead of standing as a second baseline on its runtime entry."""
    family = str(methods.meta(method).get("family") or "")
    model = task.config.model
    if method == "as-is" and model.source == "transformers" and str(model.path or "").lower().endswith(".gguf"):
        from suite.data.locate import resolve
        from suite.zoo.source_precision import gguf_precision

        if not gguf_precision(resolve(model.path, "model.path", task.config, kind="file"))["is_float"]:
            return "weight-only"
    return family


def artifact_format_of(method: str, source: str | None = None, path: str | None = None) -> str:
    """The artifact format a method produces (from its registry metadata; ONNX unless it says).

    ``format: source`` (``as-is``) is the format of the task's own model file: a ``.gguf`` file (``path``)
    runs on llama.cpp, a ``tflite`` source's file on LiteRT, an ``openvino`` source's IR on OpenVINO, an
    ``executorch`` source's ``.pte`` on ExecuTorch, every other source's graph on the ONNX runtimes."""
    fmt = str(methods.meta(method).get("format") or "onnx")
    if fmt == "source":
        if str(path or "").lower().endswith(".gguf"):
            return "gguf"
        return SOURCE_FORMATS.get(source or "", "onnx")
    return fmt


# model.source -> the format of its file, for the sources whose file is not an ONNX graph
SOURCE_FORMATS = {"tflite": "tflite", "openvino": "openvino", "executorch": "pte"}
