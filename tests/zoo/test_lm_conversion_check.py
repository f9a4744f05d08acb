"""Causal-LM conversions checked against their source on the task's own tokens (suite.zoo.conversion_check.compare_lm).

- the comparison itself: identical logits agree exactly, two swapped vocabulary entries or a shape change are
  refused in one line naming the conversion and the disagreement;
- HF -> ONNX on a tiny Llama trained here: the check is on the reference and in its ONNX artifacts, kept beside
  the cached export (a second load reads it and checks nothing), and a real broken export (an initializer of
  the graph perturbed) is refused in one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from suite.errors import BadInput
from suite.zoo.conversion_check import LM_TOLERANCE, compare_lm, enforce, lm_check_tokens, refusal

pytest.importorskip("transformers")


def _logits(seed: int = 0, positions: int = 64, vocab: int = 300) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 3, size=(positions, vocab)).astype(np.float32)


def test_identical_logits_agree_exactly() -> None:
    ref = _logits()
    check = compare_lm("a", "b", ref, ref.copy(), positions="test")
    assert check["ok"] is True and check["kld_mean"] == 0.0 and check["kld_max"] == 0.0
    assert check["top1_agreement"] == 1.0 and check["max_rel_diff"] == 0.0 and check["n"] == 64
    assert check["tolerance"] == LM_TOLERANCE and check["positions"] == "test"


def test_two_swapped_vocabulary_entries_are_refused_in_one_line() -> None:
    ref = _logits()
    top = np.bincount(ref.argmax(-1)).argmax()  # the most frequent top-1 token, swapped with the least likely
    low = ref.mean(0).argmin()
    got = ref.copy()
    got[:, [top, low]] = got[:, [low, top]]
    check = compare_lm("transformers fp32", "gguf f32 (test)", ref, got)
    assert check["ok"] is False and check["kld_mean"] > LM_TOLERANCE["kld_mean"] and check["top1_agreement"] < 1
    with pytest.raises(BadInput) as info:
        enforce(check)
    line = str(info.value)
    assert "\n" not in line and line == refusal(check)
    assert "transformers fp32 -> gguf f32 (test) conversion disagrees" in line and "64 token positions" in line
    assert "mean KL divergence" in line and "top-1 token agreement" in line


def test_a_shape_change_is_refused() -> None:
    check = compare_lm("a", "b", _logits(), _logits(vocab=301))
    assert check["ok"] is False and "301" in check["problem"] and "301" in refusal(check)
    nan = _logits()
    nan[3, 5] = np.nan
    assert compare_lm("a", "b", _logits(), nan)["ok"] is False  # a non-finite logit never passes


def test_check_tokens_are_the_first_eval_windows_text() -> None:
    x = np.array([[5, 6, 7, -1], [8, 9, 10, 11]])
    assert lm_check_tokens(x).tolist() == [5, 6, 7]


@pytest.fixture(scope="module")
def micro_state(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path):  # type: ignore[no-untyped-def]
    import os

    from tests.zoo.test_transformers_tasks import lm_task

    os.environ["EDGEQ_CACHE_DIR"] = str(shared_cache)
    task = lm_task(tmp_path_factory.mktemp("lm-check"))
    from suite.config import load_task
    from suite.job.build import task_state

    return task, task_state(load_task(str(task)))


def test_onnx_export_check_is_recorded_and_survives_the_cache(
    micro_state: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    from suite.config import load_task
    from suite.job import build
    from suite.zoo import hf_export

    task, state = micro_state
    check = state.reference.conversion_check
    assert check["ok"] is True and check["from"] == "transformers fp32" and check["to"].startswith("onnx")
    assert check["n"] == 64 and "prefill of 60 and 4 cached steps" in check["positions"]
    assert check["kld_max"] < 1e-9 and check["top1_agreement"] == 1.0  # fp32 to fp32: the same numbers
    kept = list(state.reference.onnx_path.parent.glob(f"{state.reference.onnx_path.stem}.check-*.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text()) == check

    artifact, _ = build.build_artifact(load_task(str(task)), "fp32", {}, "test")
    assert artifact.details["conversion_check"] == check  # every ONNX artifact of the task carries it

    # the export is cached: a fresh load reads the check kept beside it and converts or checks nothing
    def no_second_check(*args: object) -> None:
        raise AssertionError("the cached export was checked again")

    monkeypatch.setattr(hf_export, "check_causal_lm", no_second_check)
    monkeypatch.setattr(hf_export, "export_causal_lm", no_second_check)
    monkeypatch.setattr(build, "_TASKS", {})
    again = build.task_state(load_task(str(task)))
    assert again.reference.conversion_check == check


def test_a_broken_onnx_export_is_refused_in_one_line(micro_state: tuple, tmp_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    from suite.zoo.conversion_check import lm_check_tokens
    from suite.zoo.transformers_source import _load_causal, checked_export

    _task, state = micro_state
    model = onnx.load(str(state.reference.onnx_path))
    biggest = max(model.graph.initializer, key=lambda t: int(np.prod(t.dims)))  # the embedding or the LM head
    w = numpy_helper.to_array(biggest)
    noisy = w + np.random.default_rng(0).normal(0, float(w.std()), size=w.shape).astype(w.dtype)
    biggest.CopyFrom(numpy_helper.from_array(noisy, biggest.name))
    broken = tmp_path / "broken.onnx"
    onnx.save(model, str(broken))
    folder = Path(state.reference.origin["path"])
    ids = lm_check_tokens(state.splits.x_eval)
    with pytest.raises(BadInput) as info:
        checked_export(broken, ids, lambda: _load_causal(folder))
    line = str(info.value)
    assert "\n" not in line and "transformers fp32 -> onnx (torch.onnx dynamo, KV cache) conversion disagrees" in line
    assert "mean KL divergence" in line and "no number is recorded from it" in line
    kept = json.loads(next(tmp_path.glob("broken.check-*.json")).read_text())
    assert kept["ok"] is False  # kept: the broken export stays refused without checking it again
    with pytest.raises(BadInput):
        checked_export(broken, ids, lambda: pytest.fail("the kept failed check was not used"))
