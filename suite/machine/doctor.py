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

from collections.abc import Iterator
from typing import Any

from suite.config import Loaded
from suite.errors import BadInput
from suite.machine.target import load_target
from suite.paths import HARDWARE_DIR, sysroot
from suite.runtimes.base import status_of


def sensor_lines(profile: Any) -> tuple[list[str], str]:
    """One line per sensor of the profile, and which one a sweep would use."""
    from suite.registry import power

    lines, chosen = [], "none: this target will record no power"
    for spec in profile.power_specs():
        if spec.name == "none":
            continue
        try:
            sensor = power.get(spec.name).from_spec(spec.options, spec.boundary)
            probe = sensor.probe()
        except BadInput as exc:
            lines.append(f"  {spec.name:<18} bad configuration: {exc}")
            continue
        if probe.ok:
            lines.append(
                f"  {spec.name:<18} available (boundary {sensor.boundary}, {sensor.method or power.meta(spec.name).get('method', '')})"
            )
            if chosen.startswith("none"):
                chosen = f"{spec.name} ({sensor.boundary})"
        else:
            hint = f" -> fix: {probe.hint}" if probe.hint else ""
            lines.append(f"  {spec.name:<18} {probe.status.replace('_', ' ')}: {probe.reason}{hint}")
    return lines, chosen


def profile_paths() -> list[str]:
    return sorted(p.stem for p in HARDWARE_DIR.glob("*.yaml"))


def matching_profiles(here: Any = None) -> list[tuple[str, Any]]:
    """Profiles (not aliases) whose detection matches this machine, most specific first."""
    from suite.config import is_alias
    from suite.machine.detect import machine, match

    here = here or machine()
    found = []
    for name in profile_paths():
        if is_alias(HARDWARE_DIR / f"{name}.yaml"):
            continue
        try:
            loaded = load_target(name)
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
    from suite.machine.detect import machine
    from suite.machine.target import check_target, target_line

    here = machine()
    root = str(sysroot())
    yield f"machine: {here.summary()}" + (f" (EDGEQ_SYSROOT={root})" if root != "/" else "")
    if here.l4t:
        from suite.machine.detect import JETPACK

        jp = JETPACK.get(here.l4t["version"])
        yield f"  L4T {here.l4t['version']}" + (f" (JetPack {jp})" if jp else "")
    from suite.machine.emulation import emulation

    emulated = emulation()
    if emulated:
        yield (
            f"  emulated: {emulated['emulator']} (CPU {emulated['cpu']}, on a {emulated['host_arch']} host): "
            "accuracy is this build's, timing is the emulator's (records say environment.emulated)"
        )
    matches = matching_profiles(here)
    yield "profiles matching this machine: " + (", ".join(n for n, _ in matches) or "none")
    name = target or (matches[0][0] if matches else "local-cpu")
    loaded: Loaded = load_target(name)
    prof = loaded.config
    result = check_target(loaded, here)
    yield ""
    yield f"target {name}" + (f" -> {prof.name}" if loaded.alias else "") + f" ({loaded.path})"
    yield "  " + target_line(loaded, result) + ("" if result.matched else "; bench needs --override-target")
    yield "runtimes (in profile order):"
    for spec in prof.runtimes:
        status = status_of(spec)
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
        yield f"throttle checks: {', '.join(prof.throttle)}: " + (
            "; ".join(reasons) if reasons else "not throttled now"
        )
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
        status = status_of(spec)
        if not status.ok:
            console.print(f"[yellow]warning:[/] runtime {spec.name}: {status.summary}")
        elif status.fallback:
            console.print(f"[yellow]warning:[/] runtime {spec.name}: {status.fallback}")
    checks = [c for c in preflight.check(prof.preflight, wait=False) if not c.ok]
    for c in checks:
        console.print(f"[yellow]pre-flight:[/] {c.line()}")
    if checks and prof.preflight.on_fail == "stop":
        raise BadInput(
            f"{profile.path}: preflight: {checks[0].name}: expected {checks[0].expected}, found {checks[0].found}"
            + (f"; fix: {checks[0].fix}" if checks[0].fix else "")
        )
