"""Model sources end to end: Keras (.keras) and TFLite files trained here, the shipped tasks, the
optional torchvision/timm sources' one-line errors, env-var skipping, and fingerprints that follow the
model and data files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO, edgeq

KERAS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import keras
    import tensorflow as tf
    from suite.config.schemas import TaskConfig
    from suite.data.sklearn_digits import load

    out = sys.argv[1]
    task = TaskConfig.model_validate(json.loads(sys.argv[2]))
    s = load(task.dataset, task)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(s.x_train, s.y_train, epochs=15, batch_size=64, verbose=0, shuffle=False)
    model.save(os.path.join(out, "digits.keras"))
    tflite = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    open(os.path.join(out, "digits.tflite"), "wb").write(tflite)
    keras_top1 = float((model.predict(s.x_eval, verbose=0).argmax(1) == s.y_eval).mean())
    interp = tf.lite.Interpreter(model_content=tflite)
    interp.resize_tensor_input(interp.get_input_details()[0]["index"], list(s.x_eval.shape))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], s.x_eval)
    interp.invoke()
    tflite_top1 = float((interp.get_tensor(interp.get_output_details()[0]["index"]).argmax(1) == s.y_eval).mean())
    json.dump({"keras": keras_top1, "tflite": tflite_top1, "n": len(s.y_eval)}, open(os.path.join(out, "reference.json"), "w"))
    """
)


def digits_task(name: str, source: str, path: str) -> dict:
    return {
        "name": name,
        "model": {"source": source, "name": "digits-keras", "path": path},
        "dataset": {"name": "sklearn-digits", "seed": 0, "n_eval": 540, "n_calibration": 128},
        "input": {"shape": [8, 8, 1], "layout": "NHWC"},
        "num_classes": 10,
        "methods": ["fp32", "ptq-static"],
    }


@pytest.mark.slow
def test_keras_and_tflite_models_match_their_own_runtimes(tmp_path: Path, results_dir: Path) -> None:
    """A Keras model trained here on the digits, saved as .keras and converted to .tflite: EdgeQ's fp32
    (the exported ONNX through ONNX Runtime) gets the accuracy Keras and the TFLite interpreter get."""
    task = digits_task("keras-digits", "keras", "digits.keras")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", KERAS_SCRIPT, str(tmp_path), json.dumps(task)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    reference = json.loads((tmp_path / "reference.json").read_text())
    assert reference["keras"] > 0.9
    import yaml

    (tmp_path / "keras-digits.yaml").write_text(yaml.safe_dump(task))
    (tmp_path / "tflite-digits.yaml").write_text(
        yaml.safe_dump(digits_task("tflite-digits", "tflite", "digits.tflite"))
    )
    proc = edgeq("bench", "--tasks", "keras-digits.yaml,tflite-digits.yaml", "--quick", "--no-mlflow", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = {
        (r["task"]["name"], r["method"]["name"]): r
        for r in (json.loads(p.read_text()) for p in results_dir.rglob("records/**/*.json"))
    }
    n = reference["n"]
    for task_name, ref in (("keras-digits", reference["keras"]), ("tflite-digits", reference["tflite"])):
        fp32 = got[(task_name, "fp32")]
        assert fp32["status"] == "ok", fp32["error"]
        assert abs(fp32["accuracy"]["top1"] - ref) <= 1.0 / n, (task_name, fp32["accuracy"], ref)
        int8 = got[(task_name, "ptq-static")]
        assert int8["status"] == "ok" and int8["artifact"]["precision_map"].get("int8", 0) > 0
        assert int8["accuracy"]["top1"] > ref - 0.05
        assert len(fp32["task"]["model"]["file_sha256"]) == 64
        check = fp32["artifact"]["details"]["conversion_check"]  # the exported graph agrees with its source
        assert check["from"] == task_name.split("-")[0] and check["ok"] and check["top1_agreement"] == 1.0
        assert int8["artifact"]["details"]["conversion_check"] == check


def test_optional_sources_say_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from suite.config.schemas import TaskConfig
    from suite.errors import BadInput
    from suite.zoo import timm_source, torchvision_source

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    cfg = TaskConfig.model_validate(
        {
            "name": "t",
            "model": {"source": "torchvision", "name": "resnet18"},
            "dataset": {"name": "sklearn-digits", "n_eval": 10, "n_calibration": 5},
            "input": {"shape": [3, 224, 224]},
            "num_classes": 1000,
        }
    )
    with pytest.raises(
        BadInput,
        match=r"no weights for torchvision resnet18: .*torch-home/hub/checkpoints/resnet18-\*\.pth does not exist",
    ):
        torchvision_source.load.identity(cfg)
    with pytest.raises(BadInput, match=r"no weights for timm resnet18: .*hf-home/hub/models--timm--resnet18"):
        timm_source.load.identity(cfg)
    checkpoints = tmp_path / "torch-home" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "resnet18-f37072fd.pth").write_bytes(b"not really weights")
    assert torchvision_source.find_weights(cfg).name == "resnet18-f37072fd.pth"
    assert len(torchvision_source.load.identity(cfg)["weights_sha256"]) == 64
    try:
        import torchvision  # noqa: F401
    except Exception:  # the pinned CPU torch: torchvision does not import, and the source says so in one line
        with pytest.raises(
            BadInput,
            match=r"torchvision does not import beside this torch build; .*torch==2\.9\.1 torchvision==0\.24\.1",
        ):
            torchvision_source.load(cfg, None)
    else:  # an environment with a working pair: the file is not a checkpoint, and that is one line too
        with pytest.raises(BadInput, match="not a weights-only torch checkpoint"):
            torchvision_source.load(cfg, None)


@pytest.mark.slow(reason="an `edgeq bench` subprocess: plans 8 jobs and publishes their leaderboard")
def test_env_var_tasks_are_skipped_with_one_line(results_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("IMAGENET_VAL_DIR", "RESNET50_WEIGHTS")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "suite",
            "bench",
            "--tasks",
            "imagenet-resnet50,imagenet-efficientnet-lite0",
            "--quick",
            "--no-mlflow",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recs = [json.loads(p.read_text()) for p in results_dir.rglob("records/**/*.json")]
    # 2 tasks x their default fp32, ptq-static, on local-cpu's ort and openvino (its default_methods)
    assert len(recs) == 8 and {r["status"] for r in recs} == {"skipped"}
    assert {r["runtime"]["name"] for r in recs} == {"ort", "openvino"}
    by_task = {r["task"]["name"]: r["error"] for r in recs}
    assert "RESNET50_WEIGHTS (model.path) and IMAGENET_VAL_DIR (dataset.path)" in by_task["imagenet-resnet50"]
    assert (
        "IMAGENET_VAL_DIR (dataset.path)" in by_task["imagenet-efficientnet-lite0"]
        and "WEIGHTS" not in by_task["imagenet-efficientnet-lite0"]
    )
    assert "skipped" in proc.stdout


@pytest.mark.slow  # validating the language-model tasks on a cold cache tokenizes their corpora and hashes the GGUF
def test_shipped_tasks_list_and_validate() -> None:
    proc = edgeq("list", "tasks")
    for name in (
        "mnist5k-cnn",
        "mnist5k-resnet",
        "imagenet-samples-efficientnet-lite0",
        "imagenet-resnet18",
        "imagenet-resnet50",
        "imagenet-mobilenet-v2",
        "imagenet-efficientnet-lite0",
    ):
        assert name in proc.stdout.split()
    proc = edgeq("validate", *sorted(str(p) for p in (REPO / "tasks").glob("*.yaml")))
    assert proc.returncode == 0, proc.stderr


def test_fingerprints_follow_the_model_and_data_files(tmp_path: Path) -> None:
    """Same files: same job ids. A changed photo or model file: new job ids (nothing trained to know it)."""
    import importlib.util

    import yaml

    from suite.job.plan import plan
    from suite.job.request import SweepRequest
    from suite.machine.target import load_target

    foolbox = Path(list(importlib.util.find_spec("foolbox").submodule_search_locations)[0]) / "data"
    (tmp_path / "photos" / "3").mkdir(parents=True)
    for path in sorted(foolbox.glob("cifar10_*_3.png")):
        shutil.copy(path, tmp_path / "photos" / "3")
    _tiny_onnx(tmp_path / "model.onnx")
    task = {
        "name": "fp-check",
        "model": {"source": "onnx", "name": "tiny", "path": "model.onnx"},
        "dataset": {"name": "imagefolder", "path": "photos", "options": {"class_index": "name"}, "n_calibration": 1},
        "input": {"shape": [3, 32, 32]},
        "num_classes": 10,
        "methods": ["fp32"],
    }
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(task))
    profile = load_target("local-cpu")

    def ids() -> list[str]:
        return [
            j.job_id for j in plan(profile, SweepRequest(tasks=(str(tmp_path / "t.yaml"),), override_target=True)).jobs
        ]

    first = ids()
    assert first == ids()
    photo = sorted((tmp_path / "photos" / "3").iterdir())[0]
    photo.write_bytes(sorted(foolbox.glob("cifar10_*_5.png"))[0].read_bytes())
    second = ids()
    assert second != first
    _tiny_onnx(tmp_path / "model.onnx", seed=1)
    assert ids() != second


def _tiny_onnx(path: Path, seed: int = 0) -> None:
    """A real (if untrained) 3x32x32 -> 10 ONNX classifier, exported from torch."""
    import warnings

    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 10)
    ).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, 32, 32),),
            str(path),
            dynamo=False,
            input_names=["x"],
            dynamic_axes={"x": {0: "n"}},
        )
