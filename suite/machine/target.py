"""Target selection: a target name (or profile path, or alias such as ``jetson``) -> the profile that
applies to this machine, and whether this machine matches it.

An alias file (``alias_of: [jetson-orin-nano, jetson-agx-orin]``) resolves to the first profile whose
detection rules match this machine, else to its first profile (the sweep then stops with a line naming
what each profile expected, or measures with ``--override-target`` and says so in the record).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from suite.config import Loaded, is_alias, load_alias, load_profile_file, target_file
from suite.machine.detect import Machine, Match, machine, match


def load_target(name_or_path: str) -> Loaded:
    """The target's validated profile; an alias is resolved against this machine."""
    path = target_file(name_or_path)
    if not is_alias(path):
        return load_profile_file(path)
    alias, targets = load_alias(path)
    here = machine()
    chosen = next((t for t in targets if match(t.config.detect, here).matched), targets[0])
    return dataclasses.replace(chosen, alias=alias.name, alias_of=tuple(alias.alias_of))


def check_target(loaded: Loaded, m: Machine | None = None) -> Match:
    """Match a loaded profile; for an alias the line names every profile it could have been."""
    m = m or machine()
    result = match(loaded.config.detect, m)
    if result.matched or not loaded.alias:
        return result
    expected = []
    for name in loaded.alias_of:
        candidate = load_target(name)
        expected.append(f"{name} ({'; '.join(match(candidate.config.detect, m).expected)})")
    return Match(False, result.rules, [" or ".join(expected)], result.found)


def target_line(loaded: Any, result: Match) -> str:
    name = loaded.alias or loaded.config.name
    line = result.line(name)
    if loaded.alias and result.matched:
        line = f"target {name!r} is {loaded.config.name!r} on this machine ({result.found})"
    return line
