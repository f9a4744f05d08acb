"""``imagefolder``: labelled images in the ImageNet layout, the way people keep their own data.

Two layouts:

- one folder per class (``val/n01440764/*.JPEG``); a folder's class index is, by ``class_index``:
  ``sorted`` (its position among the sorted folder names: torchvision's ``ImageFolder`` rule, what
  torchvision/timm ImageNet weights expect), ``name`` (the folder name is the index: ``val/207/``), or
  ``mapping`` (line number, or an explicit ``name index`` pair, in a file such as a synset list);
- a flat folder plus ``labels``: a text file of ``<file name> <label>`` lines (space, tab or comma),
  where a label is an integer or, with ``class_index: mapping``, a class name from the mapping file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np

from suite.config.schemas import DatasetSpec, Strict
from suite.data.base import Splits, parse_dataset_options, with_identity, with_size
from suite.data.images import IMAGE_EXTENSIONS, calibration_folder_files, folder_identity, folder_images, image_splits
from suite.data.locate import resolve
from suite.errors import BadInput


class Options(Strict):
    class_index: Literal["sorted", "name", "mapping"] = "sorted"
    mapping: str | None = None
    labels: str | None = None
    extensions: list[str] | None = None


def parse_options(spec: DatasetSpec) -> Options:
    return parse_dataset_options(Options, spec, "imagefolder")


def read_mapping(path: Path) -> dict[str, int]:
    """Class name -> index: ``name index`` pairs if every line is one, else index = line number
    (a synset list such as ``n01440764 tench, Tinca tinca``: the first token of each line)."""
    lines = [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pairs = [re.split(r"[\s,]+", line) for line in lines]
    if pairs and all(len(p) == 2 and p[1].lstrip("-").isdigit() for p in pairs):
        return {p[0]: int(p[1]) for p in pairs}
    return {p[0]: i for i, p in enumerate(pairs)}


def _extensions(opts: Options) -> tuple[str, ...]:
    if not opts.extensions:
        return IMAGE_EXTENSIONS
    return tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in opts.extensions)


def scan(task: Any) -> tuple[Path, list[Path], np.ndarray]:
    """(root, files, labels) of the dataset folder, by the task's rules; no image is decoded."""
    spec: DatasetSpec = task.dataset
    opts = parse_options(spec)
    if not spec.path:
        raise BadInput("dataset.path: missing; imagefolder needs the folder of images")
    root = resolve(spec.path, "dataset.path", task, kind="folder")
    exts = _extensions(opts)
    mapping: dict[str, int] | None = None
    if opts.class_index == "mapping":
        if not opts.mapping:
            raise BadInput("dataset.options.mapping: missing; class_index: mapping needs the mapping file")
        mapping = read_mapping(resolve(opts.mapping, "dataset.options.mapping", task, kind="file"))

    if opts.labels:
        labels_path = resolve(opts.labels, "dataset.options.labels", task, kind="file")
        files: list[Path] = []
        labels: list[int] = []
        for n, line in enumerate(labels_path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = re.split(r"[\t,]+|\s+", line.strip(), maxsplit=1)
            if len(parts) != 2:
                raise BadInput(f"{labels_path}:{n}: expected '<file name> <label>', got {line.strip()!r}")
            name, label = parts[0], parts[1].strip()
            if label.lstrip("-").isdigit():
                index = int(label)
            elif mapping is not None and label in mapping:
                index = mapping[label]
            else:
                raise BadInput(
                    f"{labels_path}:{n}: label {label!r} is not an integer{' nor a class of the mapping file' if mapping else ''}"
                )
            path = root / name
            if not path.is_file():
                raise BadInput(f"{labels_path}:{n}: {path}: no such image file")
            files.append(path)
            labels.append(index)
        order = sorted(range(len(files)), key=lambda i: files[i].as_posix())
        return root, [files[i] for i in order], np.asarray([labels[i] for i in order], dtype=np.int64)

    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())  # torchvision's find_classes
    if not classes:
        raise BadInput(
            f"dataset.path: {root} has no class folders; give one folder per class, or a flat folder plus "
            f"dataset.options.labels (a '<file> <label>' list)"
        )
    files, labels = [], []
    for position, cls in enumerate(classes):
        if opts.class_index == "sorted":
            index = position
        elif opts.class_index == "name":
            if not cls.lstrip("-").isdigit():
                raise BadInput(
                    f"dataset.path: class folder {cls!r} is not an integer (class_index: name wants folders 0/, 1/, ...)"
                )
            index = int(cls)
        else:
            assert mapping is not None
            if cls not in mapping:
                raise BadInput(
                    f"dataset.options.mapping: class folder {cls!r} (under {root}) is not in the mapping file"
                )
            index = mapping[cls]
        for path in sorted(p for p in (root / cls).rglob("*") if p.suffix.lower() in exts and p.is_file()):
            files.append(path)
            labels.append(index)
    return root, files, np.asarray(labels, dtype=np.int64)


def identity(task: Any) -> dict[str, Any]:
    root, files, labels = scan(task)
    return folder_identity(root, files, labels, task)


def check(task: Any) -> None:
    """File-free checks for ``edgeq validate``."""
    from suite.data.images import static_checks

    opts = parse_options(task.dataset)
    if opts.class_index == "mapping" and not opts.mapping:
        raise BadInput("dataset.options.mapping: missing; class_index: mapping needs the mapping file")
    static_checks(task)


def size(task: Any) -> int:
    return len(scan(task)[1])


@with_size(size)
@with_identity(identity, check=check)
def load(spec: DatasetSpec, task: Any) -> Splits:
    root, files, labels = scan(task)
    ident = {"name": spec.name, **folder_identity(root, files, labels, task)}
    return image_splits(files, labels, task, ident, calibration_folder_files(task))


__all__ = ["load", "scan", "identity", "read_mapping", "folder_images"]
