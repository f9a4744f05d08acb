"""Load and validate task and profile YAML files; every error is one line naming file, key, got, expected."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from suite.config.schemas import ProfileConfig, TaskConfig
from suite.errors import BadInput
from suite.paths import HARDWARE_DIR, TASKS_DIR

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Loaded:
    """A validated config and the file it came from (its hash goes into job fingerprints)."""

    config: Any
    path: Path
    sha256: str


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_validation_error(path: Path, exc: ValidationError) -> str:
    """The first error of a pydantic ValidationError as ``file: key: got X, expected Y``."""
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{path}: unknown key {key!r} (not part of the schema; check the spelling)"
    if kind == "missing":
        return f"{path}: missing required key {key!r}"
    got = _describe(err.get("input"))
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{path}: {key}: got {got}, expected {err['msg'].lower()}{more}"


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInput(f"{path}: malformed YAML{where}: {problem}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a UTF-8 text file") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return data


def load_model(path: Path, model: type[M]) -> Loaded:
    data = read_yaml(path)
    try:
        config = model.model_validate(data)
    except ValidationError as exc:
        raise BadInput(format_validation_error(path, exc)) from None
    return Loaded(config=config, path=path.resolve(), sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def _resolve(name_or_path: str, folder: Path, what: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.is_file():
        return candidate
    path = folder / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        import difflib

        close = difflib.get_close_matches(name_or_path, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise BadInput(f"unknown {what} {name_or_path!r}{hint} (known: {', '.join(known)})")
    return path


def load_task(name_or_path: str) -> Loaded:
    loaded = load_model(_resolve(name_or_path, TASKS_DIR, "task"), TaskConfig)
    _check_task_plugins(loaded)
    return loaded


def load_profile(name_or_path: str) -> Loaded:
    loaded = load_model(_resolve(name_or_path, HARDWARE_DIR, "target"), ProfileConfig)
    _check_profile_plugins(loaded)
    return loaded


def _check_name(registry_kind: str, name: str, path: Path, key: str) -> None:
    from suite.registry import REGISTRIES, load_catalogue

    load_catalogue()
    registry = REGISTRIES[registry_kind]
    if name not in registry:
        raise BadInput(f"{path}: {key}: {registry.unknown_message(name)}")


def _check_task_plugins(loaded: Loaded) -> None:
    task: TaskConfig = loaded.config
    _check_name("zoo", task.model.source, loaded.path, "model.source")
    _check_name("datasets", task.dataset.name, loaded.path, "dataset.name")
    for i, method in enumerate(task.methods):
        _check_name("methods", method, loaded.path, f"methods.{i}")


def _check_profile_plugins(loaded: Loaded) -> None:
    profile: ProfileConfig = loaded.config
    for i, runtime in enumerate(profile.runtimes):
        _check_name("runtimes", runtime.name, loaded.path, f"runtimes.{i}.name")
    for i, sensor in enumerate(profile.power):
        _check_name("sensors", sensor, loaded.path, f"power.{i}")


def validate_file(path: Path) -> str:
    """Validate a task or profile file by its shape; return what it is."""
    data = read_yaml(path)
    if "runtimes" in data or "measurement" in data:
        load_profile(str(path))
        return "hardware profile"
    load_task(str(path))
    return "task"
