"""Labelled image files -> eval and calibration splits, shared by every file-based image dataset.

The split rule (``dataset.calibration.source``):

- ``split``: one seeded permutation of the files; the first ``n_calibration`` calibrate, the next
  ``n_val`` are held out for accuracy-driven methods, the rest (up to ``n_eval``) evaluate. Disjoint.
- ``folder``: calibration images come from another folder (labels unused), a seeded draw of
  ``n_calibration``; every dataset file (up to ``n_eval``) evaluates.
- ``eval``: calibration is a seeded draw from the eval images. Only for tiny sets, only when the task
  says so, and the record carries ``calibration.on_eval: true``.

Eval order is the seeded permutation, so ``--limit N`` looks at N images spread over the classes.
Sets up to ``EAGER_BYTES`` are decoded once into memory; larger ones (ImageNet's 50 000 images would be
30 GB as float32) stay an :class:`ImageArray` that decodes on access, a thread pool in parallel.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import TaskConfig
from suite.data.base import Splits
from suite.data.hashing import listing_sha256
from suite.data.preprocess import check_shape, make_preprocessor
from suite.errors import BadInput

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp", ".gif")
EAGER_BYTES = 512 * 1024 * 1024
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1)), thread_name_prefix="edgeq-decode")
    return _POOL


class ImageArray:
    """A read-only, array-like view of preprocessed images: ``len``, ``shape``, slicing and indexing
    return numpy arrays decoded on demand; nothing is held beyond the batch asked for."""

    def __init__(
        self, files: list[Path], load: Callable[[Path], np.ndarray], sample_shape: tuple[int, ...], dtype: Any
    ) -> None:
        self.files = list(files)
        self._load = load
        self.sample_shape = tuple(sample_shape)
        self.dtype = np.dtype(dtype)

    def __len__(self) -> int:
        return len(self.files)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.files), *self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    def _stack(self, files: list[Path]) -> np.ndarray:
        if not files:
            return np.zeros((0, *self.sample_shape), dtype=self.dtype)
        arrays = list(_pool().map(self._load, files)) if len(files) > 1 else [self._load(files[0])]
        return np.stack(arrays)

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self._load(self.files[key])
        if isinstance(key, slice):
            return self._stack(self.files[key])
        index = np.asarray(key)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return self._stack([self.files[i] for i in index.tolist()])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self._stack(self.files)
        return out if dtype is None else out.astype(dtype)


def check_labels(files: list[Path], labels: np.ndarray, task: TaskConfig) -> None:
    """Labels must index the model's classes: one line naming the first file that does not."""
    bad = np.flatnonzero((labels < 0) | (labels >= task.num_classes))
    if len(bad):
        i = int(bad[0])
        raise BadInput(
            f"{files[i]}: label {int(labels[i])} is outside the model's classes 0..{task.num_classes - 1} "
            f"(num_classes: {task.num_classes}; {len(bad)} file(s) like it)"
        )


def folder_images(folder: Path) -> list[Path]:
    """Every image file under ``folder`` (recursively), sorted."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def image_splits(
    files: list[Path],
    labels: np.ndarray,
    task: TaskConfig,
    identity: dict[str, Any],
    calibration_files: list[Path] | None = None,
) -> Splits:
    """Seeded, disjoint eval / calibration (/ val) splits of labelled image files, preprocessed."""
    spec = task.dataset
    if not files:
        raise BadInput(f"dataset.path: no image files found ({', '.join(IMAGE_EXTENSIONS)})")
    if task.preprocess is None:
        from suite.config.schemas import PreprocessSpec

        pre = PreprocessSpec()
    else:
        pre = task.preprocess
    check_labels(files, labels, task)
    n = len(files)
    rng = np.random.default_rng(spec.seed)
    order = rng.permutation(n)
    source = spec.calibration.source
    n_val = getattr(spec, "n_val", 0) or 0
    if source == "split":
        need = spec.n_calibration + n_val + 1
        if need > n:
            raise BadInput(
                f"dataset.n_calibration: got {spec.n_calibration}, expected at most {n - n_val - 1} "
                f"({n} files; at least one must remain for eval; or set calibration.source: eval for a tiny set)"
            )
        cal_idx = order[: spec.n_calibration]
        val_idx = order[spec.n_calibration : spec.n_calibration + n_val]
        rest = order[spec.n_calibration + n_val :]
    else:
        cal_idx = np.array([], dtype=np.int64)
        val_idx = order[:n_val]
        rest = order[n_val:]
    if spec.n_eval is not None and spec.n_eval > len(rest):
        raise BadInput(
            f"dataset.n_eval: got {spec.n_eval}, expected at most {len(rest)} (the files not used for calibration)"
        )
    eval_idx = rest[: spec.n_eval] if spec.n_eval is not None else rest

    load = make_preprocessor(pre, task.input)
    first = load(files[int(eval_idx[0])])
    check_shape(first, task.input, files[int(eval_idx[0])])

    if source == "split":
        cal_files = [files[i] for i in cal_idx]
    elif source == "eval":
        if spec.n_calibration > len(eval_idx):
            raise BadInput(
                f"dataset.n_calibration: got {spec.n_calibration}, expected at most the {len(eval_idx)} eval images"
            )
        pick = rng.choice(len(eval_idx), size=spec.n_calibration, replace=False)
        cal_files = [files[int(eval_idx[i])] for i in sorted(pick)]
    else:
        pool = calibration_files or []
        if spec.n_calibration > len(pool):
            raise BadInput(
                f"dataset.n_calibration: got {spec.n_calibration}, but the calibration folder has {len(pool)} images"
            )
        pick = rng.choice(len(pool), size=spec.n_calibration, replace=False)
        cal_files = [pool[i] for i in sorted(pick)]

    eval_files = [files[i] for i in eval_idx]
    total = (len(eval_files) + len(cal_files) + len(val_idx)) * first.nbytes
    realise: Callable[[list[Path]], Any]
    if total <= EAGER_BYTES:
        realise = lambda fs: ImageArray(fs, load, first.shape, first.dtype)[:]  # noqa: E731
    else:
        realise = lambda fs: ImageArray(fs, load, first.shape, first.dtype)  # noqa: E731
    x_eval = realise(eval_files)
    x_cal = realise(cal_files)
    empty = np.zeros((0, *first.shape), dtype=first.dtype)
    return Splits(
        x_train=empty,
        y_train=np.zeros((0,), dtype=np.int64),
        x_eval=x_eval,
        y_eval=labels[eval_idx].astype(np.int64),
        x_cal=x_cal,
        identity={
            **identity,
            "seed": spec.seed,
            "n_total": n,
            "n_eval": len(eval_files),
            "n_calibration": len(cal_files),
            "calibration": {
                "source": source,
                "on_eval": source == "eval",
                **({"path": identity.get("calibration_path")} if source == "folder" else {}),
            },
            "preprocess": pre.model_dump(),
            **({"n_val": len(val_idx)} if n_val else {}),
        },
        **({"x_val": realise([files[i] for i in val_idx]), "y_val": labels[val_idx].astype(np.int64)} if n_val else {}),
    )


def static_checks(task: TaskConfig) -> None:
    """What ``edgeq validate`` can say about an image task without its files: preprocessing settings,
    the output shape when a crop or exact resize fixes it, a calibration folder that is named."""
    from suite.config.schemas import PreprocessSpec
    from suite.data.preprocess import output_shape

    pre = task.preprocess or PreprocessSpec()
    make_preprocessor(pre, task.input)
    shape = output_shape(pre, task.input)
    if shape is not None and shape != list(task.input.shape):
        hint = " (a layout mismatch: check input.layout)" if sorted(shape) == sorted(task.input.shape) else ""
        raise BadInput(
            f"preprocess: gives shape {shape} ({task.input.layout}, color {pre.color}), but input.shape is {list(task.input.shape)}{hint}"
        )
    if task.dataset.calibration.source == "folder" and not task.dataset.calibration.path:
        raise BadInput(
            "dataset.calibration.path: missing; calibration.source folder needs the folder of calibration images"
        )


def preflight(files: list[Path], labels: np.ndarray, task: TaskConfig) -> None:
    """What can be checked before any image is decoded (so ``edgeq bench`` stops with exit 2 and one
    line): labels within the model's classes, preprocessing settings, and the output shape when a crop
    or exact resize fixes it."""
    from suite.config.schemas import PreprocessSpec
    from suite.data.preprocess import output_shape

    static_checks(task)
    check_labels(files, labels, task)
    pre = task.preprocess or PreprocessSpec()
    load = make_preprocessor(pre, task.input)
    shape = output_shape(pre, task.input)
    if shape is None and files:  # no crop or exact resize: the size depends on the image, so try the first
        check_shape(load(files[0]), task.input, files[0])


def folder_identity(root: Path, files: list[Path], labels: np.ndarray | list[int], task: TaskConfig) -> dict[str, Any]:
    """What decides a folder dataset's content: its files' hashes and labels (+ a calibration folder's)."""
    from suite.data.locate import resolve

    preflight(files, np.asarray(labels), task)
    ident: dict[str, Any] = {
        "path": str(root),
        "n_files": len(files),
        "files_sha256": listing_sha256(root, files, [int(v) for v in labels]),
    }
    cal = task.dataset.calibration
    if cal.source == "folder":
        if not cal.path:
            raise BadInput(
                "dataset.calibration.path: missing; calibration.source folder needs the folder of calibration images"
            )
        cal_root = resolve(cal.path, "dataset.calibration.path", task, kind="folder")
        cal_files = folder_images(cal_root)
        if not cal_files:
            raise BadInput(f"dataset.calibration.path: {cal_root}: no image files in it")
        ident["calibration_path"] = str(cal_root)
        ident["calibration_files_sha256"] = listing_sha256(cal_root, cal_files)
    return ident


def calibration_folder_files(task: TaskConfig) -> list[Path] | None:
    from suite.data.locate import resolve

    cal = task.dataset.calibration
    if cal.source != "folder" or not cal.path:
        return None
    return folder_images(resolve(cal.path, "dataset.calibration.path", task, kind="folder"))
