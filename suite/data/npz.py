"""``npz``: arrays already in the model's input layout, in one ``.npz`` file (``x`` and ``y``).

For data that is not image files: sensor windows, spectrograms, or images someone has preprocessed.
``x`` must be (N, *input.shape); it is cast to ``input.dtype``. With ``n_eval`` the split is the same
seeded rule as the built-in datasets (the rest trains a builtin model); without it every sample not
calibrated on evaluates. ``calibration.source: folder`` takes ``x`` from another .npz file (``path``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import DatasetSpec, Strict
from suite.data.base import Splits, parse_dataset_options, seeded_split, with_identity, with_size
from suite.data.hashing import file_sha256
from suite.data.images import check_labels
from suite.data.locate import resolve
from suite.errors import BadInput


class Options(Strict):
    x_key: str = "x"
    y_key: str = "y"


def parse_options(spec: DatasetSpec) -> Options:
    return parse_dataset_options(Options, spec, "npz")


def _file(task: Any) -> Path:
    from suite.data.locate import dataset_file

    return dataset_file(task, "npz", "the .npz file with arrays x and y")


def _read(path: Path, key: str, what: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as data:
            if key not in data.files:
                raise BadInput(f"{path}: no array {key!r} ({what}); it has {', '.join(data.files) or 'none'}")
            return data[key]
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: not a readable .npz file ({str(exc).splitlines()[0]})") from None


def identity(task: Any) -> dict[str, Any]:
    ident: dict[str, Any] = {"file_sha256": file_sha256(_file(task))}
    cal = task.dataset.calibration
    if cal.source == "folder":
        if not cal.path:
            raise BadInput("dataset.calibration.path: missing; give the .npz file of calibration inputs")
        ident["calibration_sha256"] = file_sha256(resolve(cal.path, "dataset.calibration.path", task, kind="file"))
    return ident


def check(task: Any) -> None:
    """File-free checks for ``edgeq validate``."""
    parse_options(task.dataset)


def size(task: Any) -> int | None:
    """The length of ``x`` from its array header inside the .npz, without reading the array."""
    import zipfile

    path = _file(task)
    key = parse_options(task.dataset).x_key
    try:
        with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as member:
            version = np.lib.format.read_magic(member)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                return None  # a newer .npy header: the job reads it
            shape = read_header(member)[0]
    except KeyError:
        raise BadInput(f"{path}: no array {key!r} (inputs)") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise BadInput(
            f"{path}: not a readable .npz file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        ) from None
    return int(shape[0]) if shape else 0


@with_size(size)
@with_identity(identity, check=check)
def load(spec: DatasetSpec, task: Any) -> Splits:
    opts = parse_options(spec)
    path = _file(task)
    x = _read(path, opts.x_key, "inputs")
    y = _read(path, opts.y_key, "labels")
    want = list(task.input.shape)
    if list(x.shape[1:]) != want:
        hint = " (a layout mismatch? check input.layout)" if sorted(x.shape[1:]) == sorted(want) else ""
        raise BadInput(
            f"{path}: {opts.x_key} has per-sample shape {list(x.shape[1:])}, but input.shape is {want}{hint}"
        )
    if len(y) != len(x) or y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise BadInput(f"{path}: {opts.y_key} must be {len(x)} integer labels, got shape {list(y.shape)} of {y.dtype}")
    x = np.ascontiguousarray(x, dtype=np.uint8 if task.input.dtype == "uint8" else np.float32)
    y = y.astype(np.int64)
    check_labels([path] * len(y), y, task)
    ident = {"name": spec.name, "path": str(path), **identity(task)}
    source = spec.calibration.source
    if source == "split":
        if spec.n_eval is None:
            spec = spec.model_copy(update={"n_eval": len(x) - spec.n_calibration - (getattr(spec, "n_val", 0) or 0)})
            if spec.n_eval < 1:
                raise BadInput(
                    f"dataset.n_calibration: got {task.dataset.n_calibration}, expected fewer than the {len(x)} samples"
                )
        splits = seeded_split(x, y, spec, ident)
        splits.identity["calibration"] = {"source": "split", "on_eval": False}
        return splits
    rng = np.random.default_rng(spec.seed)
    order = rng.permutation(len(x))
    eval_idx = order[: spec.n_eval] if spec.n_eval else order
    if source == "eval":
        if spec.n_calibration > len(eval_idx):
            raise BadInput(
                f"dataset.n_calibration: got {spec.n_calibration}, expected at most the {len(eval_idx)} eval samples"
            )
        x_cal = x[np.sort(rng.choice(eval_idx, size=spec.n_calibration, replace=False))]
    else:
        cal_path = resolve(spec.calibration.path or "", "dataset.calibration.path", task, kind="file")
        pool = np.ascontiguousarray(_read(cal_path, opts.x_key, "calibration inputs"), dtype=x.dtype)
        if list(pool.shape[1:]) != want or spec.n_calibration > len(pool):
            raise BadInput(
                f"{cal_path}: expected at least {spec.n_calibration} calibration inputs of shape {want}, got {list(pool.shape)}"
            )
        x_cal = pool[np.sort(rng.choice(len(pool), size=spec.n_calibration, replace=False))]
    return Splits(
        x_train=x[:0],
        y_train=y[:0],
        x_eval=x[eval_idx],
        y_eval=y[eval_idx],
        x_cal=x_cal,
        identity={
            **ident,
            "seed": spec.seed,
            "n_total": len(x),
            "n_eval": len(eval_idx),
            "n_calibration": len(x_cal),
            "calibration": {"source": source, "on_eval": source == "eval"},
        },
    )
