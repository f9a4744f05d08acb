"""The toolkits under one evaluator: NNCF, AIMET, Brevitas and ExecuTorch methods, the OpenVINO and
ExecuTorch runtimes, method.toolkit and runtime.inference_precision in the records, the cross-toolkit
view, and the one-line failures when a toolkit refuses a model or a torch-side method meets an ONNX one.

The sweep runs on digits-cnn (trained in seconds) with --quick and --limit, every toolkit's real
library doing the quantizing and every runtime really running the files.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import edgeq

TOOLKIT_METHODS = {
    "nncf-ptq": "nncf",
    "nncf-accuracy-control": "nncf",
    "aimet-cle": "aimet-onnx",
    "aimet-adaround": "aimet-onnx",
    "aimet-seqmse": "aimet-onnx",
    "brevitas-qat": "brevitas",
    "executorch-fp32": "executorch",
    "executorch-int8": "executorch",
    "fp32": "torch",
    "ptq-static": "onnxruntime",
}


@pytest.fixture(scope="module")
def toolkit_sweep(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path):
    results = tmp_path_factory.mktemp("toolkits") / "results"
    env = {"EDGEQ_RESULTS_DIR": str(results), "EDGEQ_CACHE_DIR": str(shared_cache), "COLUMNS": "250"}
    out = edgeq(
        "bench",
        "--tasks",
        "digits-cnn",
        "--quick",
        "--limit",
        "120",
        "--no-mlflow",
        "--methods",
        ",".join(TOOLKIT_METHODS),
        "--runtimes",
        "ort,openvino,executorch",
        "--set",
        "aimet-adaround.iterations=20",
        "--set",
        "brevitas-qat.epochs=1",
        "--set",
        "nncf-accuracy-control.max_drop=0.02",
        env=env,
        timeout=900,
    )
    records = [json.loads(p.read_text()) for p in (results / "records" / "local-cpu" / "digits-cnn").glob("*.json")]
    return results, out, {(r["method"]["name"], r["runtime"]["name"]): r for r in records}


@pytest.mark.slow
def test_every_toolkit_method_has_an_ok_record_with_its_toolkit(toolkit_sweep) -> None:
    _, out, records = toolkit_sweep
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    onnx_methods = [m for m in TOOLKIT_METHODS if not m.startswith("executorch")]
    expected = {(m, rt) for m in onnx_methods for rt in ("ort", "openvino")} | {
        (m, "executorch") for m in ("executorch-fp32", "executorch-int8")
    }
    assert set(records) == expected  # every ONNX artifact on both runtimes that load ONNX
    for (method, runtime), record in records.items():
        assert record["status"] == "ok", (method, runtime, record["error"])
        toolkit = record["method"]["toolkit"]
        assert toolkit["name"] == TOOLKIT_METHODS[method] and toolkit["version"], (method, toolkit)
        assert record["accuracy"]["top1"] >= 0.9, (method, runtime, record["accuracy"])
        assert record["runtime"]["inference_precision"], (method, runtime)
    # The same artifact on ORT and OpenVINO: one file, two runtimes.
    for method in onnx_methods:
        assert records[(method, "ort")]["artifact"]["sha256"] == records[(method, "openvino")]["artifact"]["sha256"]
    # Toolkit jobs fingerprint their toolkit's version; built-in ones keep their inputs as before.
    assert records[("nncf-ptq", "ort")]["inputs"]["toolkits"] == {
        "nncf": records[("nncf-ptq", "ort")]["method"]["toolkit"]["version"]
    }
    assert "openvino" in records[("ptq-static", "openvino")]["inputs"]["toolkits"]
    assert "toolkits" not in records[("ptq-static", "ort")]["inputs"]


@pytest.mark.slow
def test_openvino_reads_back_what_it_ran(toolkit_sweep) -> None:
    _, _, records = toolkit_sweep
    fp32 = records[("fp32", "openvino")]["runtime"]
    assert fp32["inference_precision"] == "f32" and fp32["precision_hint"] == "f32"  # never the bf16 default
    assert fp32["placement"]["by_provider"]["CPU"].get("fp32", 0) > 0
    assert set(fp32["placement"]["compute"]) <= {"Convolution:fp32", "FullyConnected:fp32"}
    ptq = records[("ptq-static", "openvino")]["runtime"]
    assert ptq["inference_precision"].startswith("int8") and any(
        k.endswith(":int8") for k in ptq["placement"]["compute"]
    )
    assert records[("ptq-static", "ort")]["runtime"]["inference_precision"] == "int8"  # ORT: from its profile
    assert (
        records[("ptq-static", "openvino")]["accuracy"]["fp32_top1"]
        == records[("fp32", "openvino")]["accuracy"]["top1"]
    )


@pytest.mark.slow
def test_executorch_records_the_delegated_share(toolkit_sweep) -> None:
    _, _, records = toolkit_sweep
    for method, precision in (("executorch-fp32", "f32"), ("executorch-int8", "int8")):
        record = records[(method, "executorch")]
        assert record["artifact"]["format"] == "pte"
        runtime = record["runtime"]
        assert runtime["delegation"]["backends"] == ["XnnpackBackend"] and runtime["delegation"]["delegate_calls"] >= 1
        assert runtime["fallback"] is False and runtime["threads"] == 1
        assert record["artifact"]["details"]["delegation"]["delegated_fraction"] == 1.0
        assert runtime["inference_precision"] == precision
    assert (
        records[("executorch-int8", "executorch")]["accuracy"]["fp32_top1"]
        == records[("executorch-fp32", "executorch")]["accuracy"]["top1"]
    )


@pytest.mark.slow
def test_cross_toolkit_view_in_every_format(toolkit_sweep) -> None:
    results, _, records = toolkit_sweep
    board = results / "leaderboard"
    rows = list(csv.DictReader((board / "local-cpu" / "cross-toolkit.csv").open()))
    pairs = {(r["toolkit"], r["runtime"]) for r in rows}
    for toolkit in ("nncf", "aimet-onnx", "brevitas", "onnxruntime"):
        assert {(toolkit, "ort"), (toolkit, "openvino")} <= pairs, (toolkit, pairs)
    assert ("executorch", "executorch") in pairs
    assert all(r["toolkit_version"] for r in rows)
    data = json.loads((board / "local-cpu" / "cross-toolkit.json").read_text())
    assert data["schema"] == "edgeq.cross-toolkit/1" and len(data["rows"]) == len(rows)
    readme = (board / "local-cpu" / "README.md").read_text()
    assert "## Across toolkits" in readme and "| nncf 3." in readme
    assert "Across toolkits" in (board / "index.html").read_text() and (board / "cross-toolkit.md").is_file()
    leaderboard = list(csv.DictReader((board / "local-cpu" / "leaderboard.csv").open()))
    assert {r["toolkit"] for r in leaderboard} >= {
        "nncf",
        "aimet-onnx",
        "brevitas",
        "executorch",
        "onnxruntime",
        "torch",
    }


def test_plan_runs_openvino_for_its_default_methods_whatever_names_the_methods() -> None:
    """The planning rule (suite.job.request.ENTRY_RULE): local-cpu's openvino entry runs its default_methods
    in the default sweep and in a --methods sweep alike, every named ONNX method once --runtimes names it,
    and the plan says what it left out; the ort jobs' inputs (and ids) carry no trace of the key."""
    from suite.job.plan import plan
    from suite.job.request import SweepRequest
    from suite.machine.target import load_target

    def request(**fields: object) -> SweepRequest:
        return SweepRequest(tasks=("digits-cnn",), quick=True, override_target=True, **fields)  # type: ignore[arg-type]

    default = plan(load_target("local-cpu"), request()).jobs
    on_openvino = sorted(j.method for j in default if j.runtime["name"] == "openvino")
    assert on_openvino == ["fp32", "ptq-static"]
    named = plan(load_target("local-cpu"), request(methods=("fp32", "dynamic")))
    assert sorted((j.method, j.runtime["name"]) for j in named.jobs) == [
        ("dynamic", "ort"),
        ("fp32", "openvino"),
        ("fp32", "ort"),
    ]
    lines = named.lines()
    assert lines[0] == "plan: 3 job(s) on local-cpu" and lines[1] == "  digits-cnn: ort 2, openvino 1"
    assert any(
        line.startswith("  left out openvino for dynamic: the entry runs only its default_methods") for line in lines
    )
    assert any(line.startswith("  left out litert: no method of this sweep makes a tflite artifact") for line in lines)
    chosen = plan(load_target("local-cpu"), request(methods=("fp32", "dynamic"), runtimes=("ort", "openvino")))
    assert sorted((j.method, j.runtime["name"]) for j in chosen.jobs) == [
        ("dynamic", "openvino"),
        ("dynamic", "ort"),
        ("fp32", "openvino"),
        ("fp32", "ort"),
    ]
    assert any(line.startswith("  left out litert: --runtimes ort,openvino leaves it out") for line in chosen.lines())
    for job in default:
        if job.runtime["name"] == "ort":
            assert "default_methods" not in job.inputs["runtime"] and "toolkits" not in job.inputs
        assert job.toolkit and job.toolkit["name"]


def _tiny_onnx(path: Path, custom_op: bool = False) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(4, 1, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["input", "w"], ["conv"], pads=[1, 1, 1, 1])]
    if custom_op:
        nodes.append(helper.make_node("Frobnicate", ["conv"], ["act"], domain="com.example"))
    else:
        nodes.append(helper.make_node("Relu", ["conv"], ["act"]))
    nodes.append(helper.make_node("Flatten", ["act"], ["logits"]))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 256])],
        [w],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("com.example", 1)] if custom_op else [])
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))
    return path


def _context(tmp_path: Path, onnx_path: Path):  # type: ignore[no-untyped-def]
    from suite.config import load_task
    from suite.data.base import Splits
    from suite.methods.base import PrepareContext
    from suite.zoo.base import ReferenceModel

    x = np.random.default_rng(1).normal(size=(16, 1, 8, 8)).astype(np.float32)
    y = np.zeros(16, dtype=np.int64)
    splits = Splits(x_train=x, y_train=y, x_eval=x, y_eval=y, x_cal=x)
    reference = ReferenceModel(module=None, weights_sha256="0" * 64, origin={"source": "onnx"}, onnx_path=onnx_path)
    return PrepareContext(
        task=load_task("digits-cnn").config,
        splits=splits,
        reference=reference,
        workdir=tmp_path,
        fp32_onnx=lambda: onnx_path,
    )


@pytest.mark.parametrize("method", ["nncf-ptq", "aimet-cle"])
def test_a_model_the_toolkit_cannot_handle_fails_in_one_line(tmp_path: Path, method: str) -> None:
    from suite.errors import JobFailed
    from suite.registry import methods

    ctx = _context(tmp_path, _tiny_onnx(tmp_path / "custom.onnx", custom_op=True))
    cls = methods.get(method)
    with pytest.raises(JobFailed) as info:
        cls().apply(ctx, cls.Params())
    line = str(info.value)
    toolkit = {"nncf-ptq": "nncf 3.", "aimet-cle": "aimet-onnx 2."}[method]
    assert line.startswith(toolkit) and "cannot quantize this model" in line and "\n" not in line, line
    assert "Frobnicate" in line or "com.example" in line, line


@pytest.mark.parametrize("method", ["qat", "brevitas-qat", "executorch-int8"])
def test_torch_side_methods_on_an_onnx_task_say_what_the_model_is(tmp_path: Path, method: str) -> None:
    from suite.errors import BadInput
    from suite.registry import methods

    ctx = _context(tmp_path, _tiny_onnx(tmp_path / "model.onnx"))
    cls = methods.get(method)
    with pytest.raises(BadInput) as info:
        cls().apply(ctx, cls.Params())
    line = str(info.value)
    assert f"method '{method}'" in line and "needs a torch model" in line and "ONNX graph" in line, line
    assert "NoneType" not in line


def test_openvino_runtime_precision_option_and_bad_options(tmp_path: Path) -> None:
    from suite.config.schemas import RuntimeSpec
    from suite.errors import BadInput
    from suite.runtimes.openvino_rt import OpenVinoSession

    path = _tiny_onnx(tmp_path / "tiny.onnx")
    x = np.random.default_rng(2).normal(size=(5, 1, 8, 8)).astype(np.float32)
    f32 = OpenVinoSession(path, RuntimeSpec(name="openvino", threads=1))
    assert f32.info()["inference_precision"] == "f32"
    assert f32.predict(x).shape == (5, 256) and np.asarray(f32.run(x[:1])).shape == (1, 256)
    import openvino as ov

    if "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        bf16 = OpenVinoSession(path, RuntimeSpec(name="openvino", threads=1, options={"precision": "bf16"}))
        assert bf16.info()["inference_precision"] == "bf16" and bf16.info()["precision_requested"] == "bf16"
        np.testing.assert_allclose(bf16.predict(x), f32.predict(x), rtol=0.05, atol=0.05)
    for options, key in (
        ({"precision": "int3"}, "options.precision"),
        ({"streams": 0}, "options.streams"),
        ({"fast": True}, "options.fast"),
    ):
        with pytest.raises(BadInput, match=key):
            OpenVinoSession(path, RuntimeSpec(name="openvino", options=options))
