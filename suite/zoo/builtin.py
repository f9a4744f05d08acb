"""Built-in models trained here in seconds, deterministically, and cached by what decides their weights.

The checkpoint key hashes the model name, the training recipe, the dataset spec and the torch version,
so an edit to any of them retrains, and a rerun reuses. Checkpoints are loaded with
``torch.load(weights_only=True)``: a cached file is never unpickled as code.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from typing import Any

from suite.config.schemas import TaskConfig, TrainRecipe
from suite.data.base import Splits
from suite.errors import BadInput
from suite.paths import cache_dir
from suite.zoo.base import ReferenceModel
from suite.zoo.builtin_nets import ARCHITECTURES
from suite.zoo.torch_common import state_sha256

# Bump when train() would produce other weights from the same recipe (2: one torch thread, whose
# summation order differs from the default pool's). Part of every checkpoint key and job fingerprint.
TRAINING_VERSION = 2


def checkpoint_key(task: TaskConfig) -> str:
    payload = {
        "training_version": TRAINING_VERSION,
        "model": task.model.model_dump(),
        "dataset": task.dataset.model_dump(),
        "num_classes": task.num_classes,
        "torch": metadata.version("torch"),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def train(module: Any, splits: Splits, recipe: TrainRecipe) -> None:
    """Adam + cross-entropy, fixed seed, fixed batch order: the same weights on every run here.

    ``recipe.threads`` torch threads (default 1): on a shared machine torch's default pool spins against
    other processes and makes training these tiny models many times slower (measured:
    docs/benchmarks.md). The count is part of the recipe because it changes the summation order.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        _train(module, splits, recipe)
    finally:
        torch.set_num_threads(before)


def _train(module: Any, splits: Splits, recipe: TrainRecipe) -> None:
    import torch

    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    x = torch.from_numpy(splits.x_train)
    y = torch.from_numpy(splits.y_train)
    optimiser = torch.optim.Adam(module.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss()
    module.train()
    for _ in range(recipe.epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), recipe.batch_size):
            idx = order[start : start + recipe.batch_size]
            optimiser.zero_grad()
            loss_fn(module(x[idx]), y[idx]).backward()
            optimiser.step()
    module.eval()


def load(task: TaskConfig, splits: Splits) -> ReferenceModel:
    import torch

    spec = task.model
    if spec.name not in ARCHITECTURES:
        raise BadInput(f"model.name: got {spec.name!r}, expected one of the builtin models {sorted(ARCHITECTURES)}")
    if len(splits.x_train) == 0:  # folder datasets hold eval/calibration images only
        raise BadInput(
            f"model.source builtin trains here, but dataset {task.dataset.name!r} has no training split; "
            f"use a dataset with n_eval (sklearn-digits, mnist5k, npz) or a pretrained model source"
        )
    recipe = spec.train or TrainRecipe()
    torch.manual_seed(recipe.seed)  # the initial weights are part of the recipe
    module = ARCHITECTURES[spec.name](task.num_classes)
    from suite.zoo.checks import check_torch_fits

    check_torch_fits(module, task, f"the builtin model {spec.name!r}")  # before training on data it cannot take
    path = cache_dir("models") / f"{spec.name}-{checkpoint_key(task)}.pt"
    trained_here = False
    if path.is_file():
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        module.eval()
        if any(isinstance(m, torch.nn.modules.lazy.LazyModuleMixin) for m in module.modules()):
            with torch.no_grad():  # one forward turns loaded lazy layers (tabular-mlp) into plain ones
                module(torch.zeros(2, *task.input.shape))
    else:
        train(module, splits, recipe)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # a name of its own: sweeps sharing a cache may train at once
        torch.save(module.state_dict(), tmp)
        tmp.replace(path)
        trained_here = True
    return ReferenceModel(
        module=module,
        weights_sha256=state_sha256(module.state_dict()),
        origin={"source": "builtin", "name": spec.name, "checkpoint": str(path), "trained_now": trained_here},
    )
