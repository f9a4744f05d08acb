"""``as-is``: pre-quantized model files made here, measured as they are, equal bare runtime loops item
by item; ``fp32`` refuses them in one line; a converted graph that disagrees with its source is refused.

The models: a small CNN trained here on the digits, converted by the TFLite converter to a full-integer
file with uint8 input and output (per-channel int8 weights), and the same network as a QDQ ONNX file
(its float TFLite converted by tf2onnx, then ONNX Runtime's quantize_static in QDQ format).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, edgeq

MAKE_MODELS = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import keras
    import tensorflow as tf
    import tf2onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from ai_edge_litert import interpreter as lrt
    from suite.config.schemas import TaskConfig
    from suite.data.sklearn_digits import load

    out = sys.argv[1]
    task = TaskConfig.model_validate(json.loads(sys.argv[2]))
    s = load(task.dataset, task)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(s.x_train, s.y_train, epochs=10, batch_size=64, verbose=0, shuffle=False)

    def representative():
        for i in range(len(s.x_cal)):
            yield [s.x_cal[i : i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    conv.inference_output_type = tf.uint8
    open(os.path.join(out, "digits-int8.tflite"), "wb").write(conv.convert())
    float_tflite = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    open(os.path.join(out, "digits-float.tflite"), "wb").write(float_tflite)

    # The bare LiteRT loop a user would write: quantize with the input's own scale/zero point, argmax.
    it = lrt.Interpreter(model_path=os.path.join(out, "digits-int8.tflite"))
    it.allocate_tensors()
    inp, outp = it.get_input_details()[0], it.get_output_details()[0]
    scale, zp = inp["quantization"]
    tflite_pred = []
    for x in s.x_eval:
        q = np.clip(np.round(x / scale) + zp, 0, 255).astype(np.uint8)
        it.set_tensor(inp["index"], q[None])
        it.invoke()
        tflite_pred.append(int(it.get_tensor(outp["index"])[0].argmax()))

    # A QDQ ONNX file: the float graph (tf2onnx of the float TFLite), quantized by ONNX Runtime.
    float_onnx = os.path.join(out, "digits-float.onnx")
    tf2onnx.convert.from_tflite(os.path.join(out, "digits-float.tflite"), opset=17, output_path=float_onnx)
    name = ort.InferenceSession(float_onnx).get_inputs()[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{name: s.x_cal[i : i + 1]} for i in range(len(s.x_cal))])

        def get_next(self):
            return next(self.items, None)

    qdq = os.path.join(out, "digits-qdq.onnx")
    quantize_static(float_onnx, qdq, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, per_channel=True)
    sess = ort.InferenceSession(qdq, providers=["CPUExecutionProvider"])
    onnx_pred = [int(sess.run(None, {name: x[None]})[0][0].argmax()) for x in s.x_eval]
    sess = ort.InferenceSession(float_onnx, providers=["CPUExecutionProvider"])
    float_pred = [int(sess.run(None, {name: x[None]})[0][0].argmax()) for x in s.x_eval]
    bare = {"tflite": tflite_pred, "onnx": onnx_pred, "float_onnx": float_pred, "y": s.y_eval.tolist()}
    json.dump(bare, open(os.path.join(out, "bare.json"), "w"))
    """
)


def digits_task(name: str, source: str, path: str) -> dict:
    return {
        "name": name,
        "model": {"source": source, "name": "digits-cnn", "path": path},
        "dataset": {"name": "sklearn-digits", "seed": 0, "n_eval": 300, "n_calibration": 64},
        "input": {"shape": [8, 8, 1], "layout": "NHWC"},
        "num_classes": 10,
        "methods": ["as-is", "fp32"],
    }


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("as-is-models")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    task = digits_task("x", "tflite", "x")
    proc = subprocess.run(
        [sys.executable, "-c", MAKE_MODELS, str(out), json.dumps(task)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _records(results_dir: Path) -> dict[tuple[str, str, str], dict]:
    return {
        (r["task"]["name"], r["method"]["name"], r["runtime"]["name"]): r
        for r in (json.loads(p.read_text()) for p in results_dir.rglob("records/**/*.json"))
    }


@pytest.mark.slow
def test_as_is_equals_bare_loops_and_fp32_refuses(models: Path, results_dir: Path) -> None:
    import yaml

    from suite.records.paired import decode_correct

    for name, source, path in (
        ("int8-tflite", "tflite", "digits-int8.tflite"),
        ("qdq-onnx", "onnx", "digits-qdq.onnx"),
    ):
        (models / f"{name}.yaml").write_text(yaml.safe_dump(digits_task(name, source, path)))
    proc = edgeq(
        "bench", "--tasks", "int8-tflite.yaml,qdq-onnx.yaml", "--methods", "as-is,fp32", "--quick", "--no-mlflow",
        cwd=models,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = _records(results_dir)
    bare = json.loads((models / "bare.json").read_text())
    y = np.asarray(bare["y"])
    for task, runtime, key, family in (
        ("int8-tflite", "litert", "tflite", "int8 full-integer, uint8 I/O"),
        ("qdq-onnx", "ort", "onnx", "int8 QDQ"),
    ):
        record = got[(task, "as-is", runtime)]
        assert record["status"] == "ok", record.get("error")
        want = np.asarray(bare[key]) == y
        assert np.array_equal(decode_correct(record["accuracy"]["correct"]), want), task  # item by item
        assert record["accuracy"]["top1"] == pytest.approx(want.mean())
        facts = record["artifact"]["details"]["source_precision"]
        assert facts["family"] == family and not facts["is_float"]
        assert record["artifact"]["weight_bits"] == 8 and record["artifact"]["activation_bits"] == 8
        assert "baseline the other rows are compared with" in record["artifact"]["details"]["baseline_reason"]
        refused = got[(task, "fp32", "ort")]
        assert refused["status"] == "skipped"
        assert "is not a float model" in refused["error"] and "\n" not in refused["error"]
    tflite = got[("int8-tflite", "as-is", "litert")]["artifact"]["details"]["source_precision"]
    assert tflite["input"]["dtype"] == "uint8" and tflite["output"]["dtype"] == "uint8" and tflite["per_channel"]
    assert ("qdq-onnx", "as-is", "openvino") not in got  # openvino's default_methods leave it out


@pytest.mark.slow
def test_full_integer_tflite_is_not_converted_to_onnx(models: Path, results_dir: Path) -> None:
    """An ONNX-side method on a full-integer TFLite file fails with one line, never an ok record."""
    import yaml

    (models / "int8-ptq.yaml").write_text(yaml.safe_dump(digits_task("int8-ptq", "tflite", "digits-int8.tflite")))
    proc = edgeq("bench", "--tasks", "int8-ptq.yaml", "--methods", "ptq-static", "--quick", "--no-mlflow", cwd=models)
    record = _records(results_dir)[("int8-ptq", "ptq-static", "ort")]
    assert proc.returncode == 1 and record["status"] == "failed"
    assert "does not convert a full-integer TFLite to ONNX" in record["error"] and "as-is" in record["error"]


@pytest.mark.slow
def test_float_tflite_conversion_is_checked_and_recorded(models: Path, results_dir: Path) -> None:
    import yaml

    (models / "float-tflite.yaml").write_text(
        yaml.safe_dump(digits_task("float-tflite", "tflite", "digits-float.tflite"))
    )
    proc = edgeq("bench", "--tasks", "float-tflite.yaml", "--methods", "fp32", "--quick", "--no-mlflow", cwd=models)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = _records(results_dir)[("float-tflite", "fp32", "ort")]
    check = record["artifact"]["details"]["conversion_check"]
    assert check["from"] == "tflite" and check["ok"] and check["n"] == 8 and check["top1_agreement"] == 1.0
    assert check["max_rel_diff"] <= check["tolerance"]["max_rel_diff"]


def _broken_copy(src: Path, dst: Path) -> None:
    """A deliberately wrong conversion: the same interface, every weight matrix's rows reversed."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        if array.dtype == np.float32 and array.ndim >= 2:
            init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(array[::-1]), init.name))
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))


@pytest.mark.slow
def test_a_broken_tflite_conversion_is_refused_in_one_line(
    models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tf2onnx replaced by a test double that writes a wrong graph: the check refuses it, every ONNX-side
    method then fails with that line, and nothing of it reaches a record as ok."""
    import suite.zoo.convert
    from suite.config.schemas import TaskConfig
    from suite.data.sklearn_digits import load as load_digits
    from suite.errors import BadInput
    from suite.job.build import TaskState, fp32_onnx
    from suite.zoo.tflite_source import load

    monkeypatch.setenv("EDGEQ_CACHE_DIR", str(tmp_path / "cache"))  # no converted graph cached from another test
    monkeypatch.setattr(
        suite.zoo.convert,
        "run_child",
        lambda kind, src, dst, *extra, **kw: _broken_copy(models / "digits-float.onnx", dst),
    )
    task = TaskConfig.model_validate(digits_task("broken", "tflite", str(models / "digits-float.tflite")))
    splits = load_digits(task.dataset, task)
    reference = load(task, splits)
    check = reference.conversion_check
    assert check is not None and not check["ok"] and check["n"] == 8 and check["max_rel_diff"] > 1e-3
    with pytest.raises(BadInput) as refused:
        fp32_onnx(TaskState(task=task, splits=splits, reference=reference))
    line = str(refused.value)
    assert "tflite -> onnx (tf2onnx) conversion disagrees with its source on 8" in line and "\n" not in line
    assert "max output difference" in line and "tolerance" in line


def test_a_broken_torch_export_is_refused_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torch -> ONNX: the real export is checked and recorded; a test double that exports another module
    (the last layer's weights negated) fails with one line naming the conversion and the disagreement."""
    import torch

    import suite.methods.fp32
    from suite.config.schemas import TaskConfig
    from suite.data.sklearn_digits import load as load_digits
    from suite.errors import BadInput
    from suite.job.build import TaskState, fp32_onnx
    from suite.zoo.base import ReferenceModel

    monkeypatch.setenv("EDGEQ_CACHE_DIR", str(tmp_path / "cache"))
    task = TaskConfig.model_validate({**digits_task("torch-check", "builtin", "unused"), "input": {"shape": [1, 8, 8]}})
    splits = load_digits(task.dataset, task)
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    module.eval()

    state = TaskState(task=task, splits=splits, reference=ReferenceModel(module=module, weights_sha256="a" * 64))
    fp32_onnx(state)
    check = state.reference.conversion_check
    assert check is not None and check["ok"] and check["from"] == "torch" and check["top1_agreement"] == 1.0

    real_export = suite.methods.fp32.export_onnx

    def broken_export(module, shape, path, opset=17):  # type: ignore[no-untyped-def]
        other = torch.nn.Sequential(*list(module)[:-1], torch.nn.Linear(32, 10))
        with torch.no_grad():
            other[-1].weight.copy_(-module[-1].weight)
            other[-1].bias.copy_(module[-1].bias)
        return real_export(other.eval(), shape, path, opset)

    monkeypatch.setattr(suite.methods.fp32, "export_onnx", broken_export)
    broken = TaskState(task=task, splits=splits, reference=ReferenceModel(module=module, weights_sha256="b" * 64))
    with pytest.raises(BadInput) as refused:
        fp32_onnx(broken)
    line = str(refused.value)
    assert line.startswith("the torch -> onnx (torch.onnx) conversion disagrees with its source on 8")
    assert "top-1 agreement" in line and "\n" not in line


@pytest.mark.slow
def test_a_task_that_disagrees_with_a_full_integer_file_stops_in_one_line(models: Path) -> None:
    """No converted graph checks a full-integer file's interface, so LiteRT's reading of it is checked
    against the task before any job: a wrong input type or class count is one line, exit 2."""
    import yaml

    for name, change, expected in (
        ("wrong-dtype", {"input": {"shape": [8, 8, 1], "layout": "NHWC", "dtype": "int64"}}, "takes uint8 input"),
        ("wrong-classes", {"num_classes": 12}, "gives 10 scores per sample"),
    ):
        (models / f"{name}.yaml").write_text(
            yaml.safe_dump({**digits_task(name, "tflite", "digits-int8.tflite"), **change})
        )
        proc = edgeq("validate", f"{name}.yaml", cwd=models)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.slow
def test_as_is_of_a_float_onnx_runs_on_ort_and_openvino(models: Path, results_dir: Path) -> None:
    """A float file: as-is runs on both ONNX runtimes, equal to a bare ONNX Runtime loop item by item on
    ORT; the record says it is the float reference, and fp32 (the same graph) is not refused."""
    import yaml

    from suite.records.paired import decode_correct

    (models / "float-onnx.yaml").write_text(yaml.safe_dump(digits_task("float-onnx", "onnx", "digits-float.onnx")))
    proc = edgeq(
        "bench", "--tasks", "float-onnx.yaml", "--methods", "as-is,fp32", "--runtimes", "ort,openvino", "--quick",
        "--no-mlflow", cwd=models,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = _records(results_dir)
    bare = json.loads((models / "bare.json").read_text())
    want = np.asarray(bare["float_onnx"]) == np.asarray(bare["y"])
    for runtime in ("ort", "openvino"):
        record = got[("float-onnx", "as-is", runtime)]
        assert record["status"] == "ok", record.get("error")
        assert record["artifact"]["details"]["source_precision"]["family"] == "float32"
        assert "the float reference" in record["artifact"]["details"]["baseline_reason"]
        assert got[("float-onnx", "fp32", runtime)]["status"] == "ok"
    assert np.array_equal(decode_correct(got[("float-onnx", "as-is", "ort")]["accuracy"]["correct"]), want)
    assert abs(got[("float-onnx", "as-is", "openvino")]["accuracy"]["top1"] - want.mean()) <= 1 / len(want)
