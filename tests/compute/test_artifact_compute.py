"""The compute block written with a built artifact: counted from the artifact's graph or the ONNX it was
made from, and a failure to count is a reason, never an error."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from suite.compute.artifact import artifact_compute
from tests.support.models import tiny_onnx

TASK = SimpleNamespace(generation=None, input=SimpleNamespace(shape=[1, 8, 8], names=None))


def test_onnx_is_counted_from_itself_and_other_formats_from_their_onnx(tmp_path: Path) -> None:
    onnx_path = tiny_onnx(tmp_path / "tiny.onnx")
    block = artifact_compute("onnx", onnx_path, lambda: pytest.fail("the fp32 export is not needed"), TASK)
    assert block["macs_per_item"] == 64 * 10 and block["source"] == "onnx graph"
    made_from = artifact_compute("tflite", tmp_path / "model.tflite", lambda: onnx_path, TASK)
    assert made_from["macs_per_item"] == 640 and made_from["source"] == "onnx the artifact was made from"


def test_a_count_that_fails_is_a_reason(tmp_path: Path) -> None:
    block = artifact_compute("onnx", tmp_path / "missing.onnx", lambda: tmp_path, TASK)
    assert block["macs_per_item"] is None and block["reason"].startswith("not counted: FileNotFoundError")


@pytest.mark.slow
@pytest.mark.usefixtures("results_dir")
def test_built_digits_artifacts_carry_their_compute_block() -> None:
    from suite.config import load_task
    from suite.job.build import build_artifact

    task = load_task("digits-cnn")
    counts = {}
    for method in ("fp32", "ptq-static", "dynamic"):
        artifact, _ = build_artifact(task, method, {}, f"compute-{method}")
        counts[method] = artifact.details["work"]["macs_per_item"]
    # 16x8x8 outputs x 9 + 32x8x8 x 16x9 + 512 x 64 + 64 x 10 = 9216 + 294912 + 32768 + 640
    assert set(counts.values()) == {337_536}, counts
