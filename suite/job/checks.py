"""What the prepare side checks in a task or a target before it plans anything.

The run side loads a task file for its schema only (a board measuring a bundle has no zoo, dataset or
method code to ask). Planning and ``edgeq validate`` check more, here: that the task's model source,
dataset and methods are known plugins, and the source's and dataset's own file-free checks (options,
preprocessing); that a target's extra methods exist. Each problem is one line naming file and key.
"""

from __future__ import annotations

from pathlib import Path

from suite.config import Loaded, check_name, is_alias, load_alias, load_task, read_yaml
from suite.config.schemas import TargetConfig, TaskConfig
from suite.errors import BadInput


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
    """Validate a task or target file by its shape, as planning would; return what it is."""
    from suite.machine.target import load_target

    data = read_yaml(path)
    if is_alias(path):
        for loaded in load_alias(path)[1]:
            check_target_methods(loaded)
        return "hardware alias"
    if "runtimes" in data or "measurement" in data:
        check_target_methods(load_target(str(path)))
        return "hardware profile"
    load_checked_task(str(path))
    return "task"
