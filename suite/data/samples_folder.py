"""``samples-folder``: images named ``<name>_<index>_<label>.<ext>``, the label in the file name.

This is how the foolbox wheel ships its real samples (``imagenet_07_609.jpg``: ImageNet class 609;
also CIFAR-10/100, MNIST and Fashion-MNIST, 20 each). ``options.prefix`` picks one set from a mixed
folder; ``options.package`` finds the folder inside an installed package (``package: foolbox`` with
``path: data``) by ``importlib.util.find_spec``, so the package is never imported.
"""

from __future__ import annotations

import importlib.util
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import DatasetSpec, Strict
from suite.data.base import Splits, parse_dataset_options, with_identity, with_size
from suite.data.images import IMAGE_EXTENSIONS, calibration_folder_files, folder_identity, image_splits
from suite.data.locate import resolve
from suite.errors import BadInput

PATTERN = re.compile(r"^(?P<name>.+)_(?P<index>\d+)_(?P<label>\d+)$")


class Options(Strict):
    prefix: str | None = None
    package: str | None = None


def parse_options(spec: DatasetSpec) -> Options:
    return parse_dataset_options(Options, spec, "samples-folder")


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BadInput(
            f"dataset.options.package: {package!r} is not installed (pip install --no-deps {package}; make setup does for foolbox)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def scan(task: Any) -> tuple[Path, list[Path], np.ndarray]:
    spec: DatasetSpec = task.dataset
    opts = parse_options(spec)
    if opts.package:
        root = package_dir(opts.package) / (spec.path or "")
        if not root.is_dir():
            raise BadInput(f"dataset.path: {root}: no such folder in the installed package {opts.package}")
    elif spec.path:
        root = resolve(spec.path, "dataset.path", task, kind="folder")
    else:
        raise BadInput("dataset.path: missing; samples-folder needs the folder of <name>_<index>_<label> images")
    files, labels = [], []
    for path in sorted(root.iterdir()):
        if path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_file():
            continue
        match = PATTERN.match(path.stem)
        if opts.prefix is not None and (match is None or match["name"] != opts.prefix):
            continue
        if match is None:
            raise BadInput(f"{path}: file name is not <name>_<index>_<label>.<ext> (e.g. imagenet_07_609.jpg)")
        files.append(path)
        labels.append(int(match["label"]))
    if not files:
        which = f" named {opts.prefix}_<index>_<label>" if opts.prefix else ""
        raise BadInput(f"dataset.path: {root}: no images{which}")
    return root, files, np.asarray(labels, dtype=np.int64)


def identity(task: Any) -> dict[str, Any]:
    root, files, labels = scan(task)
    ident = folder_identity(root, files, labels, task)
    opts = parse_options(task.dataset)
    if opts.package:
        ident["package"] = f"{opts.package} {metadata.version(opts.package)}"
    return ident


def check(task: Any) -> None:
    """File-free checks for ``edgeq validate``."""
    parse_options(task.dataset)
    from suite.data.images import static_checks

    static_checks(task)


def size(task: Any) -> int:
    return len(scan(task)[1])


@with_size(size)
@with_identity(identity, check=check)
def load(spec: DatasetSpec, task: Any) -> Splits:
    root, files, labels = scan(task)
    ident = {"name": spec.name, **identity(task)}
    return image_splits(files, labels, task, ident, calibration_folder_files(task))
