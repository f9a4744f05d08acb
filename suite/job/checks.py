"""What the prepare side checks in a task or a target before it plans anything: the one pre-flight
that ``edgeq bench`` (through planning) and ``edgeq validate`` share.

The run side loads a task file for its schema only (a board measuring a bundle has no zoo, dataset or
method code to ask). Here, without training anything:

- the task's model source, dataset and methods are known plugins, and accept its options;
- the files: the model file is readable and takes ``input``/gives ``num_classes`` (each source's
  ``identity``), the dataset is there and labelled as declared (each adapter's ``identity``);
- the counts fit: ``n_eval``, ``n_calibration`` and ``n_val`` against the samples the dataset holds
  (each adapter's ``size``);
- a target's extra methods exist.

Each problem is one line naming file and key. A task whose paths name an unset environment variable
is not broken: its jobs are skipped where it is unset (``MissingEnv``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from suite.config import Loaded, check_name, is_alias, load_alias, load_task, read_yaml
from suite.config.schemas import TargetConfig, TaskConfig
from suite.errors import BadInput, MissingEnv


def check_task(loaded: Loaded) -> Loaded:
    """The task's plugins exist and accept its options; returns ``loaded``."""
    from suite.data.base import plugin_check
    from suite.registry import datasets, zoo

    task: TaskConfig = loaded.config
    check_name("zoo", task.model.source, loaded.path, "model.source")
    check_name("datasets", task.dataset.name, loaded.path, "dataset.name")
    for registry, name in ((zoo, task.model.source), (datasets, task.dataset.name)):
        try:
            plugin_check(registry.get(name), task)
        except BadInput as exc:
            raise BadInput(f"{loaded.path}: {exc}") from None
    for i, method in enumerate(task.methods):
        check_name("methods", method, loaded.path, f"methods.{i}")
    return loaded


def load_checked_task(name_or_path: str) -> Loaded:
    """A task file loaded and checked as planning does."""
    return check_task(load_task(name_or_path))


def task_identity(task: Any) -> dict[str, Any]:
    """{model: ..., dataset: ...}: what decides the task's weights and data, for job fingerprints; on
    the way, the files are checked (model readable and matching, data present and labelled, counts).

    Cheap and torch-free: file hashes (cached by stat), package versions, a folder listing. Raises
    :class:`suite.errors.MissingEnv` when the task names an environment variable that is unset.
    """
    from suite.data.base import plugin_identity
    from suite.registry import datasets, zoo

    missing_env(task)
    identity = {
        "model": plugin_identity(zoo.get(task.model.source), task),
        "dataset": plugin_identity(datasets.get(task.dataset.name), task),
    }
    check_counts(task)
    return identity


def checked_identity(loaded: Loaded) -> tuple[dict[str, Any], str | None]:
    """(identity, None) of a loaded task, or ({missing_env: ...}, the skip line) when it names an unset
    environment variable; a problem with its files is one line that names the task file."""
    try:
        return task_identity(loaded.config), None
    except MissingEnv as exc:
        return {"missing_env": str(exc)}, str(exc)
    except BadInput as exc:
        line = str(exc)
        raise BadInput(line if line.startswith(str(loaded.path)) else f"{loaded.path}: {line}") from None


def missing_env(task: Any) -> None:
    """Raise :class:`MissingEnv` naming every unset variable the task's paths use (all at once)."""
    import os

    from suite.data.locate import env_vars

    places = {
        "model.path": task.model.path,
        "dataset.path": task.dataset.path,
        "dataset.calibration.path": task.dataset.calibration.path,
    }
    places.update({f"model.options.{k}": v for k, v in task.model.options.items()})
    places.update({f"dataset.options.{k}": v for k, v in task.dataset.options.items()})
    unset = [
        (name, key)
        for key, value in places.items()
        if isinstance(value, str)
        for name in env_vars(value)
        if not os.environ.get(name)
    ]
    if unset:
        wanted = " and ".join(f"{name} ({key})" for name, key in unset)
        raise MissingEnv(f"task {task.name} needs the environment variable(s) {wanted}: set them to run it; skipped")


def check_counts(task: Any) -> None:
    """``n_eval``, ``n_calibration`` and ``n_val`` fit the samples the dataset holds, where its adapter
    can count them cheaply (``size``). The adapters' split rules agree on this much: eval, calibration
    (when drawn from the same data) and validation samples are disjoint, and at least one sample is
    evaluated. The adapters still check their own rule when they load, for data they cannot count."""
    from suite.data.base import plugin_size
    from suite.registry import datasets

    spec = task.dataset
    n = plugin_size(datasets.get(spec.name), task)
    if n is None:
        return
    if n == 0:
        raise BadInput(f"dataset.path: dataset {spec.name!r} has no samples there (an empty folder?)")
    n_eval, n_val, n_cal = spec.n_eval, spec.n_val, spec.n_calibration
    if spec.calibration.source == "split":
        if n_cal + n_val + (n_eval or 1) > n:
            if n_eval is not None and n_eval >= n:
                raise BadInput(f"dataset.n_eval: got {n_eval}, expected fewer than the {n} samples of {spec.name}")
            room = n - n_val - (n_eval or 1)
            raise BadInput(
                f"dataset.n_calibration: got {n_cal}, expected at most {max(room, 0)} ({spec.name} has {n} samples; "
                f"n_eval {n_eval if n_eval is not None else 'at least 1'} and n_val {n_val} are not calibrated on)"
            )
        return
    if n_eval is not None and n_eval + n_val > n:
        raise BadInput(
            f"dataset.n_eval: got {n_eval}, expected at most {n - n_val} ({spec.name} has {n} samples, n_val {n_val})"
        )
    if spec.calibration.source == "eval" and n_cal > (n_eval or n - n_val):
        raise BadInput(
            f"dataset.n_calibration: got {n_cal}, expected at most the {n_eval or n - n_val} eval samples (calibration.source: eval)"
        )


def check_target_methods(loaded: Loaded) -> Loaded:
    """The methods a target adds to every task's sweep (``extra_methods``) and those its runtime entries
    name (``default_methods``) exist; returns ``loaded``."""
    profile: TargetConfig = loaded.config
    for i, method in enumerate(profile.extra_methods):
        check_name("methods", method, loaded.path, f"extra_methods.{i}")
    for r, spec in enumerate(profile.runtimes):
        for i, method in enumerate(spec.default_methods or []):
            check_name("methods", method, loaded.path, f"runtimes.{r}.default_methods.{i}")
    return loaded


def validate_file(path: Path) -> str:
    """Validate a task or target file as ``edgeq bench`` would before its first job; return what it is
    (a task whose data needs an unset environment variable says so: ``task (skipped here: ...)``)."""
    from suite.machine.target import load_target

    data = read_yaml(path)
    if is_alias(path):
        for loaded in load_alias(path)[1]:
            check_target_methods(loaded)
        return "hardware alias"
    if "runtimes" in data or "measurement" in data:
        check_target_methods(load_target(str(path)))
        return "hardware profile"
    _, skip = checked_identity(load_checked_task(str(path)))
    return f"task; its jobs are skipped here: {skip}" if skip else "task"
