"""``edgeq doctor [--target T]``: what this machine is and what a sweep on it would do, before it runs.

For a newcomer the first command: which profiles match the machine (and why the others do not),
which runtimes and execution providers load (and what would fall back to the CPU), which power
sensors can measure (and why not, with the fix), and what pre-flight would change. The same checks,
in brief, open ``edgeq bench`` (``bench_preamble``) so a fallback or a missing sensor is said before
the first job rather than discovered in the records. Reads files and imports runtime libraries only;
never changes the machine. Everything under ``/sys``, ``/proc`` and ``/etc`` is read through
``EDGEQ_SYSROOT``, so ``doctor`` on a fixture tree describes that board.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Iterator

from suite.config import Loaded, load_profile
from suite.errors import BadInput
from suite.paths import HARDWARE_DIR, sysroot


@dataclass
class RuntimeStatus:
    name: str
    ok: bool
    summary: str
    fallback: str | None = None  # what will run instead of what the profile asked for
    notes: list[str] = field(default_factory=list)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _ort_status(spec: Any) -> RuntimeStatus:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        return RuntimeStatus("ort", False, f"onnxruntime does not import ({exc})")
    available = ort.get_available_providers()
    requested = list(spec.providers) or ["CPUExecutionProvider"]
    missing = [p for p in requested if p not in available]
    usable = [p for p in requested if p in available] or ["CPUExecutionProvider"]
    dist = next((d for d in ("onnxruntime-gpu", "onnxruntime") if _version(d)), "onnxruntime")
    summary = f"onnxruntime {ort.__version__} ({dist}); providers in this build: {', '.join(available)}"
    fallback = None
    if missing:
        fallback = (
            f"{', '.join(missing)} not in this onnxruntime build: {usable[0]} will run these jobs "
            f"(recorded as a fallback)" if usable[0] != requested[0] else f"{', '.join(missing)} not in this build"
        )
    return RuntimeStatus("ort", True, summary, fallback)


def _torch_status(spec: Any) -> RuntimeStatus:
    if importlib.util.find_spec("torch") is None:
        return RuntimeStatus("torch", False, "torch is not installed")
    from suite.runtimes.torch_rt import parse_options

    opts = parse_options(spec.options)
    import torch

    summary = f"torch {torch.__version__}, {opts['device']} {opts['dtype']}" + (" with CUDA graphs" if opts["cuda_graphs"] else "")
    if opts["device"].startswith("cuda"):
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda} build, no usable GPU/driver" if torch.version.cuda else "a CPU-only build"
            return RuntimeStatus("torch", False, f"{summary}: CUDA is not available (torch is {build}); these jobs will fail")
        summary += f" on {torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"
        if opts["dtype"] == "bfloat16" and not torch.cuda.is_bf16_supported():
            return RuntimeStatus("torch", True, summary, notes=["this GPU has no native bfloat16: bf16 is emulated and slow"])
    return RuntimeStatus("torch", True, summary)


def _litert_status(spec: Any) -> RuntimeStatus:
    version = _version("ai-edge-litert")
    if version is None:
        return RuntimeStatus("litert", False, "ai-edge-litert is not installed (pip install ai-edge-litert)")
    summary = f"ai-edge-litert {version}"
    delegate = (spec.options or {}).get("delegate")
    if delegate == "edgetpu":
        lib = ctypes.util.find_library("edgetpu")
        if lib is None:
            return RuntimeStatus("litert", False, f"{summary}; the Edge TPU delegate needs libedgetpu (apt-get install libedgetpu1-std), not found")
        summary += f"; Edge TPU delegate {lib}"
    return RuntimeStatus("litert", True, summary)


def runtime_status(spec: Any) -> RuntimeStatus:
    """Does this runtime entry of a profile load here, and what will really run it?"""
    try:
        if spec.name == "ort":
            return _ort_status(spec)
        if spec.name == "torch":
            return _torch_status(spec)
        if spec.name == "litert":
            return _litert_status(spec)
        from suite.registry import runtimes

        runtimes.get(spec.name)
        return RuntimeStatus(spec.name, True, "plugin loads")
    except BadInput as exc:
        return RuntimeStatus(spec.name, False, str(exc))
    except Exception as exc:
        return RuntimeStatus(spec.name, False, f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")


def sensor_lines(profile: Any) -> tuple[list[str], str]:
    """One line per sensor of the profile, and which one a sweep would use."""
    from suite.registry import load_catalogue, power

    load_catalogue()
    lines, chosen = [], "none: this target will record no power"
    for spec in profile.power_specs():
        if spec.name == "none":
            continue
        try:
            sensor = power.get(spec.name).from_spec(spec.options, spec.boundary)
            probe = sensor.probe()
        except BadInput as exc:
            lines.append(f"  {spec.name:<11} bad configuration: {exc}")
            continue
        if probe.ok:
            lines.append(f"  {spec.name:<11} available (boundary {sensor.boundary}, {sensor.method or power.meta(spec.name).get('method', '')})")
            if chosen.startswith("none"):
                chosen = f"{spec.name} ({sensor.boundary})"
        else:
            hint = f" -> fix: {probe.hint}" if probe.hint else ""
            lines.append(f"  {spec.name:<11} {probe.status.replace('_', ' ')}: {probe.reason}{hint}")
    return lines, chosen


def profile_paths() -> list[str]:
    return sorted(p.stem for p in HARDWARE_DIR.glob("*.yaml"))


def matching_profiles(here: Any = None) -> list[tuple[str, Any]]:
    """Profiles (not aliases) whose detection matches this machine, most specific first."""
    from suite.config import read_yaml
    from suite.machine.detect import machine, match

    here = here or machine()
    found = []
    for name in profile_paths():
        if "alias_of" in read_yaml(HARDWARE_DIR / f"{name}.yaml"):
            continue
        try:
            loaded = load_profile(name)
        except BadInput:
            continue
        result = match(loaded.config.detect, here)
        if result.matched:
            found.append((name, result))
    found.sort(key=lambda item: (-item[1].rules, item[0] != "local-cpu", item[0]))
    return found


def report(target: str | None = None) -> Iterator[str]:
    """The lines ``edgeq doctor`` prints."""
    from suite.machine import preflight
    from suite.machine.detect import check_target, machine, target_line

    here = machine()
    root = str(sysroot())
    yield f"machine: {here.summary()}" + (f" (EDGEQ_SYSROOT={root})" if root != "/" else "")
    if here.l4t:
        from suite.machine.detect import JETPACK

        jp = JETPACK.get(here.l4t["version"])
        yield f"  L4T {here.l4t['version']}" + (f" (JetPack {jp})" if jp else "")
    matches = matching_profiles(here)
    yield "profiles matching this machine: " + (", ".join(n for n, _ in matches) or "none")
    name = target or (matches[0][0] if matches else "local-cpu")
    loaded: Loaded = load_profile(name)
    prof = loaded.config
    result = check_target(loaded, here)
    yield ""
    yield f"target {name}" + (f" -> {prof.name}" if loaded.alias else "") + f" ({loaded.path})"
    yield "  " + target_line(loaded, result) + ("" if result.matched else "; bench needs --override-target")
    yield "runtimes (in profile order):"
    for spec in prof.runtimes:
        status = runtime_status(spec)
        yield f"  {'ok  ' if status.ok else 'FAIL'} {spec.name}: {status.summary}"
        if status.fallback:
            yield f"       fallback: {status.fallback}"
        for note in status.notes:
            yield f"       note: {note}"
    lines, chosen = sensor_lines(prof)
    yield "power sensors (in profile order):"
    yield from lines
    yield f"  -> power from: {chosen}"
    checks = preflight.check(prof.preflight, wait=False)
    yield "pre-flight:" + ("" if checks else " nothing required by this profile")
    for c in checks:
        yield "  " + c.line()
    if prof.throttle:
        snap = preflight.snapshot(list(prof.throttle))
        reasons = preflight.compare(snap, snap)
        yield f"throttle checks: {', '.join(prof.throttle)}: " + ("; ".join(reasons) if reasons else "not throttled now")
    if prof.setup:
        yield "setup notes:"
        for note in prof.setup:
            yield f"  - {note}"


def bench_preamble(profile: Loaded, console: Any) -> None:
    """What ``edgeq bench`` says before its first job: the resolved target, fallbacks, pre-flight.

    Pre-flight with ``on_fail: stop`` stops the sweep here (exit 2) when a check fails.
    """
    from suite.machine import preflight

    prof = profile.config
    if profile.alias:
        console.print(f"target {profile.alias!r} is {prof.name!r} on this machine")
    for spec in prof.runtimes:
        status = runtime_status(spec)
        if not status.ok:
            console.print(f"[yellow]warning:[/] runtime {spec.name}: {status.summary}")
        elif status.fallback:
            console.print(f"[yellow]warning:[/] runtime {spec.name}: {status.fallback}")
    checks = [c for c in preflight.check(prof.preflight, wait=False) if not c.ok]
    for c in checks:
        console.print(f"[yellow]pre-flight:[/] {c.line()}")
    if checks and prof.preflight.on_fail == "stop":
        raise BadInput(f"{profile.path}: preflight: {checks[0].name}: expected {checks[0].expected}, found {checks[0].found}" + (f"; fix: {checks[0].fix}" if checks[0].fix else ""))


def runtime_label(runtime: dict[str, Any]) -> str:
    """A runtime entry as a short label that tells a profile's entries apart (``torch float16``,
    ``ort DLA0``, ``litert edgetpu``, ``ort 4t``)."""
    opts = runtime.get("options") or {}
    parts = [runtime["name"]]
    if opts.get("dtype"):
        parts.append(str(opts["dtype"]))
    if opts.get("delegate"):
        parts.append(str(opts["delegate"]))
    trt = (opts.get("provider_options") or {}).get("TensorrtExecutionProvider") or {}
    if trt.get("trt_dla_enable"):
        parts.append(f"DLA{trt.get('trt_dla_core', 0)}")
    threads = runtime.get("threads")
    if threads is not None and threads != 1 and runtime["name"] in ("ort", "litert"):
        parts.append("all cores" if threads == 0 else f"{threads}t")
    return " ".join(parts)


def bench_notes(console: Any, results: list[tuple[Any, dict[str, Any], str]]) -> None:
    """After the table: fallbacks, invalid (throttled) runs and why quantized artifacts were not faster."""
    for job, record, _ in results:
        rt = record.get("runtime") or {}
        label = f"{job.task_name} / {job.method} / {runtime_label(job.runtime)}"
        if rt.get("fallback"):
            console.print(f"[yellow]fallback[/] {label}: asked for {(rt.get('providers_requested') or ['?'])[0]}, {rt.get('provider')} ran it")
        lat = record.get("latency") or {}
        if lat.get("invalid_reason"):
            console.print(f"[red]invalid[/] {label}: {lat['invalid_reason']}")
        line = (record.get("diagnosis") or {}).get("line")
        if line:
            console.print(f"[yellow]why[/] {label}: {line}")
