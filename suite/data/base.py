"""What a dataset adapter returns, and the seeded split rule every adapter shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from suite.config.schemas import DatasetSpec
from suite.errors import BadInput

M = TypeVar("M", bound=BaseModel)


@dataclass
class Splits:
    """float32 inputs in the task's layout, int64 labels. Eval and calibration never share a sample."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_eval: np.ndarray
    y_eval: np.ndarray
    x_cal: np.ndarray
    identity: dict[str, Any] = field(default_factory=dict)
    # Labelled samples held out from training and evaluation (``dataset.n_val``): accuracy-driven
    # methods (mixed precision) choose on these so that the eval split stays unseen. None if n_val is 0.
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None


def seeded_split(x: np.ndarray, y: np.ndarray, spec: DatasetSpec, identity: dict[str, Any]) -> Splits:
    """Eval = the first ``n_eval`` of a seeded permutation; train = the rest; calibration = a seeded
    subset of train (so it is disjoint from eval and drawn like the data the model was fitted on)."""
    n = len(x)
    if spec.n_eval is None:
        raise BadInput(f"dataset.n_eval: missing; {spec.name} needs the number of eval samples (fewer than its {n})")
    if spec.n_eval >= n:
        raise BadInput(f"dataset.n_eval: got {spec.n_eval}, expected fewer than the {n} samples of {spec.name}")
    rng = np.random.default_rng(spec.seed)
    order = rng.permutation(n)
    eval_idx, train_idx = order[: spec.n_eval], order[spec.n_eval :]
    val_idx = train_idx[: spec.n_val]  # n_val = 0 leaves train exactly as before
    train_idx = train_idx[spec.n_val :]
    if spec.n_val and len(train_idx) < 1:
        raise BadInput(f"dataset.n_val: got {spec.n_val}, expected fewer than the {n - spec.n_eval} non-eval samples")
    if spec.n_calibration > len(train_idx):
        raise BadInput(
            f"dataset.n_calibration: got {spec.n_calibration}, expected at most {len(train_idx)} (the non-eval samples)"
        )
    cal_idx = rng.choice(train_idx, size=spec.n_calibration, replace=False)
    return Splits(
        x_train=x[train_idx],
        y_train=y[train_idx],
        x_eval=x[eval_idx],
        y_eval=y[eval_idx],
        x_cal=x[cal_idx],
        identity={**identity, "seed": spec.seed, "n_eval": spec.n_eval, "n_calibration": spec.n_calibration}
        | ({"n_val": spec.n_val} if spec.n_val else {}),
        x_val=x[val_idx] if spec.n_val else None,
        y_val=y[val_idx] if spec.n_val else None,
    )


def load_splits(adapter: Any, task: Any) -> Splits:
    """Call a dataset adapter: ``adapter(spec, task)`` (image datasets need the task's input and
    preprocessing), or ``adapter(spec)`` for adapters written before the task was passed."""
    import inspect

    try:
        takes_task = len(inspect.signature(adapter).parameters) >= 2
    except (TypeError, ValueError):
        takes_task = False
    return adapter(task.dataset, task) if takes_task else adapter(task.dataset)


def parse_dataset_options(model: type[M], spec: DatasetSpec, adapter: str) -> M:
    """A dataset adapter's ``dataset.options``, validated by its own schema; one-line errors."""
    try:
        return model.model_validate(spec.options)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = "dataset.options." + ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise BadInput(f"{key}: unknown option ({adapter} knows {', '.join(model.model_fields)})") from None
        raise BadInput(f"{key}: got {err.get('input')!r}, expected {err['msg'].lower()}") from None


# -- what a dataset adapter or a model source can declare about itself ---------------------------
def with_identity(
    identity: Callable[[Any], dict[str, Any]], check: Callable[[Any], None] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach ``identity(task) -> dict`` (and optionally ``check(task)``, the file-free checks that
    ``edgeq validate`` runs: options, required keys) to a source or dataset function."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.identity = identity  # type: ignore[attr-defined]
        if check is not None:
            fn.check = check  # type: ignore[attr-defined]
        return fn

    return decorator


def with_size(size: Callable[[Any], int | None]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach ``size(task) -> int``: how many labelled samples the dataset holds, found cheaply (a file
    listing, an array header, a line count; nothing decoded), so planning and ``edgeq validate`` can
    say that ``n_eval``/``n_calibration`` do not fit before any job runs."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.size = size  # type: ignore[attr-defined]
        return fn

    return decorator


def plugin_size(plugin: Any, task: Any) -> int | None:
    """The dataset's sample count for this task, or None if the adapter cannot tell without loading."""
    size = getattr(plugin, "size", None)
    count = size(task) if size is not None else None
    return int(count) if count is not None else None


def plugin_check(plugin: Any, task: Any) -> None:
    """Run a plugin's file-free checks of a task, if it has any (BadInput on a problem)."""
    check = getattr(plugin, "check", None)
    if check is not None:
        check(task)


def plugin_identity(plugin: Any, task: Any) -> dict[str, Any]:
    """The plugin's identity for this task, or {} if it declares none (its spec in the task decides it)."""
    identity = getattr(plugin, "identity", None)
    return identity(task) if identity is not None else {}
