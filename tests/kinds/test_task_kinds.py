"""Task kinds are plugins: the registry lists the built-in ones, a task is measured by the kind that
claims it (an encoder over a classifier of the same metric), a plugin kind is picked like a built-in,
and the kind modules import nothing a board does not have."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from suite.config import load_task
from suite.errors import BadInput
from suite.kinds.base import KindRun, TaskKind, Timed, kind_for
from suite.records.fields import CAUSAL_LM, CLASSIFIER, ENCODER, lower_is_better
from suite.registry import kinds
from tests.conftest import REPO


def task(name: str) -> Any:
    return load_task(str(REPO / "tasks" / f"{name}.yaml")).config


def test_builtin_kinds_are_listed_without_importing_them() -> None:
    assert {CLASSIFIER, ENCODER, CAUSAL_LM} <= set(kinds.names())
    assert kinds.meta(CAUSAL_LM)["summary"]


def test_each_task_gets_its_kind() -> None:
    assert kind_for(task("digits-cnn"), {}).name == CLASSIFIER
    assert kind_for(task("cancer-mlp"), {}).name == CLASSIFIER
    assert kind_for(task("minilm-drugreviews"), {"reference_embedding": np.zeros((2, 4))}).name == ENCODER
    lm = kind_for(task("gpt-tiny-wiki"), {})
    assert lm.name == CAUSAL_LM and lm.lower_is_better and lower_is_better(lm.metric)  # from its metric's declaration
    assert not kind_for(task("digits-cnn"), {}).lower_is_better
    assert lm.columns() and all(f.kinds == (CAUSAL_LM,) for f in lm.columns())


class _Ranker(TaskKind):
    """A plugin kind: claims digits-cnn only when its data says so, measures with made-up functions."""

    name = "test-ranker"

    def claims(self, task: Any, extras: dict[str, Any]) -> bool:
        return "ranking_lists" in extras

    def accuracy(self, run: KindRun) -> dict[str, Any]:
        return {"metric": "top1", "top1": float(np.mean(run.y_eval == 1)), "n": len(run.y_eval)}

    def time(self, run: KindRun) -> Timed:
        run.ready()
        return Timed({"p50_ms": 1.0}, {"items_per_s": 1000.0}, 10)


def test_a_plugin_kind_is_picked_and_dispatched(monkeypatch: pytest.MonkeyPatch) -> None:
    kinds._load()
    monkeypatch.setitem(kinds._entries, "test-ranker", type(kinds.entry(CLASSIFIER))(name="test-ranker", obj=_Ranker))
    digits = task("digits-cnn")
    assert kind_for(digits, {}).name == CLASSIFIER
    kind = kind_for(digits, {"ranking_lists": []})
    assert kind.name == "test-ranker"
    calls: list[str] = []
    run = KindRun(
        session=None,
        x_eval=np.zeros((4, 2)),
        y_eval=np.array([1, 0, 1, 1]),
        task=digits,
        profile=None,  # type: ignore[arg-type]
        quick=True,
        timing_mode="precision",
        is_baseline=True,
        baseline=None,
        ready=lambda: calls.append("ready"),
    )
    assert kind.accuracy(run)["top1"] == 0.75
    assert kind.time(run).items == 10 and calls == ["ready"]


def test_no_kind_for_an_unknown_metric() -> None:
    lm = task("gpt-tiny-wiki").model_copy(update={"metric": "bleu"})
    with pytest.raises(BadInput, match="no task kind measures metric 'bleu'"):
        kind_for(lm, {})


def test_kind_modules_import_no_prepare_side_package() -> None:
    code = (
        "import sys; import suite.kinds.classifier, suite.kinds.encoder, suite.kinds.causal_lm, suite.job.measure;"
        "bad = [m for m in ('torch', 'tensorflow', 'mlflow', 'pandas', 'suite.zoo', 'suite.data', 'suite.methods')"
        " if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr
