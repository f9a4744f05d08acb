"""Load and validate task and profile YAML files; every error is one line naming file, key, got, expected."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from suite.config.safe_yaml import parse_yaml, read_text_capped
from suite.config.schemas import AliasConfig, TargetConfig, TaskConfig
from suite.errors import BadInput
from suite.paths import HARDWARE_DIR, TASKS_DIR

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Loaded:
    """A validated config and the file it came from (its hash goes into job fingerprints)."""

    config: Any
    path: Path
    sha256: str
    alias: str | None = None  # the alias target name this profile was chosen for (hardware/jetson.yaml)
    alias_of: tuple[str, ...] = ()


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
    expected = err["msg"].lower().removeprefix("input should be ").removeprefix("value error, ")
    return f"{path}: {key}: got {got}, expected {expected}{more}"


def read_yaml(path: Path) -> dict[str, Any]:
    """The one way a YAML file is read: size-capped, alias-bounded (``safe_yaml``), a mapping at the top."""
    if not path.is_file():
        raise BadInput(f"{path}: {'not a regular file' if path.exists() else 'no such file'}")
    try:
        data = parse_yaml(read_text_capped(path), str(path))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read it ({exc.strerror or exc})") from None
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


def without_top_level_block(text: bytes, key: bytes) -> bytes:
    """``text`` less the top-level YAML block ``key:`` (its line, and every line after it up to the next line
    that starts a top-level key). Lines are cut, never rewritten, so a file without the block hashes as
    before."""
    lines = text.splitlines(keepends=True)
    kept: list[bytes] = []
    inside = False
    for line in lines:
        starts_key = line[:1] not in (b" ", b"\t", b"#", b"\n", b"\r", b"")
        if starts_key:
            inside = line.startswith(key + b":")
        if not inside:
            kept.append(line)
    return b"".join(kept)


def profile_sha256(data: bytes) -> str:
    """A profile's fingerprint hash: its bytes less the ``peak`` block (see :func:`load_model`)."""
    return hashlib.sha256(without_top_level_block(data, b"peak")).hexdigest()


def load_model(path: Path, model: type[M], unhashed: tuple[bytes, ...] = ()) -> Loaded:
    """``path`` validated against ``model``. Its sha256 (which goes into job fingerprints) covers the file's
    bytes less the top-level blocks named in ``unhashed``: a profile's ``peak`` block describes the hardware's
    datasheet and decides no measurement, so adding or correcting it must not make every job new."""
    data = read_yaml(path)
    try:
        config = model.model_validate(data)
    except ValidationError as exc:
        raise BadInput(format_validation_error(path, exc)) from None
    hashed = path.read_bytes()
    for key in unhashed:
        hashed = without_top_level_block(hashed, key)
    return Loaded(config=config, path=path.resolve(), sha256=hashlib.sha256(hashed).hexdigest())


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
    """A task file, validated against the schema (its plugins are checked by ``suite.job.checks``)."""
    loaded = load_model(_resolve(name_or_path, TASKS_DIR, "task"), TaskConfig)
    loaded.config._source_dir = loaded.path.parent
    return loaded


def target_file(name_or_path: str) -> Path:
    """The profile file of a target name (``hardware/<name>.yaml``) or the path given."""
    return _resolve(name_or_path, HARDWARE_DIR, "target")


def is_alias(path: Path) -> bool:
    return "alias_of" in read_yaml(path)


def load_profile_file(path: Path) -> Loaded:
    """One target's profile file (not an alias: ``suite.machine.target`` resolves those), validated,
    with its runtime and sensor names checked against the registries."""
    loaded = load_model(path, TargetConfig, unhashed=(b"peak",))
    _check_profile_plugins(loaded)
    return loaded


def load_alias(path: Path) -> tuple[AliasConfig, list[Loaded]]:
    """An alias file and the profiles it stands for (each loaded and validated)."""
    alias: AliasConfig = load_model(path, AliasConfig).config
    targets = []
    for i, name in enumerate(alias.alias_of):
        path_i = _resolve(name, path.parent, "target")
        if is_alias(path_i):
            raise BadInput(f"{path}: alias_of.{i}: {name!r} is itself an alias; list profiles only")
        targets.append(load_profile_file(path_i))
    return alias, targets


def check_name(registry_kind: str, name: str, path: Path, key: str) -> None:
    """``name`` is a known plugin of that kind, else one line naming the file and key."""
    from suite.registry import REGISTRIES

    registry = REGISTRIES[registry_kind]
    if name not in registry:
        raise BadInput(f"{path}: {key}: {registry.unknown_message(name)}")


def _check_profile_plugins(loaded: Loaded) -> None:
    profile: TargetConfig = loaded.config
    for i, runtime in enumerate(profile.runtimes):
        check_name("runtimes", runtime.name, loaded.path, f"runtimes.{i}.name")
    for i, sensor in enumerate(profile.power_specs()):
        check_name("sensors", sensor.name, loaded.path, f"power.{i}")
