"""Bring your own model: the README's YAML, a real pretrained ONNX model, real labelled photos.

The model is the packaged ImageNet EfficientNet-Lite0 exported to ONNX the way users often do it (fixed
batch 1, their own input name); the photos are the 20 ImageNet samples inside the foolbox wheel, put in
one folder per class index. ``edgeq bench --tasks my-task.yaml`` must give the accuracy that a bare ONNX
Runtime loop, with preprocessing written out here by hand, gives on the same files; and the mistakes a
user makes in that YAML must each stop the sweep with one line and exit 2.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from tests.conftest import REPO, edgeq

FOOLBOX = Path(list(importlib.util.find_spec("foolbox").submodule_search_locations)[0]) / "data"


def readme_task() -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(r"<!-- byo-task -->\s*```yaml\n(.*?)```", text, re.S)
    assert match, "README.md lost its bring-your-own task block"
    return match.group(1)


@pytest.fixture(scope="module")
def byo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from suite.zoo.efficientnet_lite import packaged_weights

    root = tmp_path_factory.mktemp("byo")
    with contextlib.redirect_stdout(io.StringIO()):
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(packaged_weights())).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, 224, 224),),
            str(root / "model.onnx"),
            dynamo=False,
            opset_version=13,
            input_names=["images"],
            output_names=["scores"],
        )
    for path in sorted(FOOLBOX.glob("imagenet_*")):
        label = path.stem.rsplit("_", 1)[1]
        (root / "photos" / label).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / "photos" / label / path.name)
    (root / "my-task.yaml").write_text(readme_task())
    return root


def bare_loop(root: Path) -> tuple[int, int, int]:
    """top-1 / top-5 hits of model.onnx on every photo: Pillow + numpy + ONNX Runtime, nothing of EdgeQ."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(root / "model.onnx"), providers=["CPUExecutionProvider"])
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    top1 = top5 = n = 0
    for path in sorted((root / "photos").rglob("*.jpg")):
        img = Image.open(path).convert("RGB")
        w, h = img.size
        img = img.resize((256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256), Image.Resampling.BILINEAR)
        left, top = int(round((img.width - 224) / 2)), int(round((img.height - 224) / 2))
        x = (np.asarray(img.crop((left, top, left + 224, top + 224)), np.float32) / 255.0 - mean) / std
        scores = session.run(None, {"images": x.transpose(2, 0, 1)[None]})[0][0]
        label = int(path.parent.name)
        top1 += int(np.argmax(scores) == label)
        top5 += int(label in np.argsort(-scores)[:5])
        n += 1
    return top1, top5, n


def records(results: Path) -> dict[str, dict]:
    return {r["method"]["name"]: r for r in (json.loads(p.read_text()) for p in results.rglob("records/**/*.json"))}


@pytest.mark.slow
def test_readme_task_agrees_with_a_bare_onnxruntime_loop(byo: Path, results_dir: Path) -> None:
    proc = edgeq("validate", "my-task.yaml", cwd=byo)
    assert proc.returncode == 0, proc.stderr
    proc = edgeq("bench", "--tasks", "my-task.yaml", "--quick", "--no-mlflow", cwd=byo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = records(results_dir)
    fp32, int8 = got["fp32"], got["ptq-static"]
    top1, top5, n = bare_loop(byo)
    assert n == 20
    assert fp32["accuracy"]["n"] == n
    assert round(fp32["accuracy"]["top1"] * n) == top1
    assert round(fp32["accuracy"]["top5"] * n) == top5
    assert top1 >= 12  # a real ImageNet model on real ImageNet photos (EfficientNet-Lite0 gets 15-16 of 20 here)
    # the model file, the photos and the calibration rule are in the record
    assert fp32["task"]["model"]["source"] == "onnx"
    assert fp32["task"]["model"]["input"]["name"] == "images" and fp32["task"]["model"]["input"]["dims"] == [
        1,
        3,
        224,
        224,
    ]
    assert fp32["task"]["dataset"]["calibration"] == {"source": "eval", "on_eval": True}
    assert len(fp32["inputs"]["identity"]["model"]["file_sha256"]) == 64
    assert int8["status"] == "ok" and int8["artifact"]["precision_map"].get("int8", 0) > 0
    assert abs(int8["accuracy"]["top1"] - fp32["accuracy"]["top1"]) <= 0.1  # int8 within 2 of 20 photos


@pytest.mark.slow
def test_fidelity_runs_on_the_byo_task(byo: Path) -> None:
    proc = edgeq("fidelity", "--tasks", "my-task.yaml", "--methods", "fp32", "--seconds", "0.2", cwd=byo)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"fidelity task=my-task method=fp32 .*ratio=\d", proc.stdout), proc.stdout


def _variant(byo: Path, name: str, edit) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(readme_task())
    edit(data)
    path = byo / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "name, edit, message",
    [
        (
            "nhwc",
            lambda d: d.update(input={"shape": [224, 224, 3], "layout": "NHWC"}),
            r"layout mismatch: the model's input 'images' is NCHW \[1, 3, 224, 224\]",
        ),
        (
            "size",
            lambda d: (
                d.update(input={"shape": [3, 200, 200], "layout": "NCHW"}),
                d["preprocess"].update(center_crop=200),
            ),
            r"wrong input shape: the model's input 'images' is \[1, 3, 224, 224\], but the task's input.shape is \[3, 200, 200\]",
        ),
        ("classes", lambda d: d.update(num_classes=10), r"returns 1000 class scores .* num_classes is 10"),
        (
            "crop",
            lambda d: d["preprocess"].pop("center_crop"),
            r"preprocessing gives shape \[3, 256, \d+\], but input.shape is \[3, 224, 224\]",
        ),
        ("nomodel", lambda d: d["model"].update(path="missing.onnx"), r"model.path: .*missing.onnx: no such file"),
    ],
)
def test_mistakes_are_one_line_before_any_job(byo: Path, name: str, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    """Each mistake is caught while planning, before any job runs (checked in-process: fast)."""
    from suite.errors import BadInput
    from suite.job.plan import plan
    from suite.job.request import SweepRequest
    from suite.machine.target import load_target

    path = _variant(byo, name, edit)
    with pytest.raises(BadInput) as caught:
        plan(load_target("local-cpu"), SweepRequest(tasks=(str(path),), methods=("fp32",), override_target=True))
    assert re.search(message, str(caught.value)), str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_cli_says_it_in_one_line_with_exit_2(byo: Path) -> None:
    path = _variant(byo, "nhwc-cli", lambda d: d.update(input={"shape": [224, 224, 3], "layout": "NHWC"}))
    proc = edgeq("bench", "--tasks", str(path), "--quick", "--no-mlflow", "--methods", "fp32", cwd=byo)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgeq: error: ") and "layout mismatch" in lines[0], proc.stderr


def test_labels_outside_the_models_classes(byo: Path) -> None:
    from suite.errors import BadInput
    from suite.job.plan import plan
    from suite.job.request import SweepRequest
    from suite.machine.target import load_target

    extra = byo / "photos_bad"
    shutil.copytree(byo / "photos", extra)
    (extra / "243").rename(extra / "1003")
    path = _variant(byo, "labels", lambda d: d["dataset"].update(path="photos_bad"))
    with pytest.raises(BadInput, match=r"label 1003 is outside the model's classes 0\.\.999"):
        plan(load_target("local-cpu"), SweepRequest(tasks=(str(path),), methods=("fp32",), override_target=True))


def test_torch_side_methods_say_they_need_a_torch_model(byo: Path) -> None:
    from suite.config import load_task
    from suite.errors import BadInput
    from suite.job import build as prepare

    loaded = load_task(str(byo / "my-task.yaml"))
    with pytest.raises(
        BadInput,
        match=r"method 'fp32-torch' needs a torch model, but this task's model \(source onnx\) is an ONNX graph only",
    ):
        prepare.build_artifact(loaded, "fp32-torch", {}, "torch-side-check")
