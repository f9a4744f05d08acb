"""Where the runtime ran each node (ONNX Runtime's profiling output), the not-faster diagnosis, provider
options, and the torch runtime (CPU here; the CUDA path is marked gpu).

Artifacts are the real digits-cnn ones, built through the suite's prepare step (shared cache).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from suite.config.schemas import RuntimeSpec
from suite.job.diagnose import causes, diagnose
from suite.machine.target import load_target
from suite.runtimes.ort_placement import node_precision, parse_profile


def _artifact(method: str, runtime: str = "ort", overrides: dict | None = None) -> tuple[Path, object]:  # type: ignore[type-arg]
    from suite.config import load_task
    from suite.job import build as prepare
    from suite.job.plan import plan
    from suite.job.request import SweepRequest

    profile = (
        load_target("local-cpu")
        if runtime == "ort"
        else load_target(str(Path(__file__).parents[1] / "support" / "data" / "torch-cpu.yaml"))
    )
    request = SweepRequest(methods=(method,), runtimes=(runtime,), quick=True, method_params=overrides or {})
    job = plan(profile, request).jobs[0]
    artifact, _ = prepare.build_artifact(
        load_task(job.task_path), job.method, job.params, job.artifact_key, job.target_name
    )
    return Path(artifact.path), job


def _sample() -> np.ndarray:
    return np.random.default_rng(0).random((1, 1, 8, 8), dtype=np.float32)


def _ort_session(path: Path):  # type: ignore[no-untyped-def]
    from suite.runtimes.ort import OrtRuntime

    return OrtRuntime().load(path, RuntimeSpec(name="ort", providers=["CPUExecutionProvider"], threads=1))


def test_placement_of_fp32_static_and_dynamic_artifacts() -> None:
    fp32 = _ort_session(_artifact("fp32")[0]).placement(_sample())
    assert fp32["by_provider"] == {"CPUExecutionProvider": {"fp32": fp32["nodes"]}}
    assert fp32["qdq_nodes"] == 0

    static = _ort_session(_artifact("ptq-static")[0]).placement(_sample())
    counts = static["by_provider"]["CPUExecutionProvider"]
    # ORT fused every QDQ group into integer kernels: Q at the input, DQ at the output, int8 in between.
    assert counts.get("fp32", 0) == 0 and counts["int8"] >= 4 and counts["qdq"] == 2
    assert all(key.endswith(":int8") for key in static["compute"])
    assert static["activation_dtypes"] == {"uint8": sum(static["compute"].values())}

    dynamic = _ort_session(_artifact("dynamic")[0]).placement(_sample())
    assert dynamic["ops"]["ConvInteger"] == 2
    assert "fp32" in dynamic["by_provider"]["CPUExecutionProvider"]  # the float rescaling around ConvInteger


def test_int8_activations_on_x86_are_judged_from_the_placement() -> None:
    """ONNX Runtime rewrites int8 QDQ activations to uint8 on x86 (its S8->U8 transform): the placement
    shows uint8 kernels, so signed activations are not blamed; a graph that really runs int8 is."""
    path, _ = _artifact(
        "ptq-static", overrides={"ptq-static": {"activation_type": "int8", "symmetric_activations": True}}
    )
    placement = _ort_session(path).placement(_sample())
    record = {
        "runtime": {
            "provider": "CPUExecutionProvider",
            "providers_requested": ["CPUExecutionProvider"],
            "placement": placement,
        },
        "environment": {"cpu": {"arch": "x86_64"}},
        "method": {"params": {"activation_type": "int8"}},
    }
    assert placement["activation_dtypes"] == {"uint8": sum(placement["compute"].values())}
    assert not any("int8 activations" in c for c in causes(record))
    record["runtime"]["placement"] = {**placement, "activation_dtypes": {"int8": 4}}
    assert any("int8 activations on an x86 CPU" in c for c in causes(record))
    record["runtime"]["placement"] = None  # no placement: the method's parameters are the evidence
    assert any("int8 activations on an x86 CPU" in c for c in causes(record))


def test_node_precision_and_trace_parsing() -> None:
    assert node_precision("QLinearConv", {}) == "int8"
    assert node_precision("DequantizeLinear", {}) == "qdq"
    assert (
        node_precision("Conv", {"input_type_shape": [{"float16": [1, 3, 8, 8]}, {"float16": [8, 3, 3, 3]}]}) == "fp16"
    )
    assert node_precision("MaxPool", {"input_type_shape": [{"uint8": [1, 8, 8, 4]}]}) == "int8"
    events = [
        {"cat": "Session", "name": "model_run"},
        {
            "cat": "Node",
            "name": "conv_kernel_time",
            "args": {
                "op_name": "Conv",
                "provider": "CUDAExecutionProvider",
                "input_type_shape": [{"float": [1, 1, 8, 8]}],
            },
        },
        {
            "cat": "Node",
            "name": "conv_kernel_time",
            "args": {
                "op_name": "Conv",
                "provider": "CUDAExecutionProvider",
                "input_type_shape": [{"float": [1, 1, 8, 8]}],
            },
        },
        {
            "cat": "Node",
            "name": "fc_kernel_time",
            "args": {"op_name": "Gemm", "provider": "CPUExecutionProvider", "input_type_shape": [{"float": [1, 64]}]},
        },
    ]
    placed = parse_profile(events)
    assert placed["nodes"] == 2  # each node once, however many runs the trace holds
    assert placed["by_provider"] == {"CPUExecutionProvider": {"fp32": 1}, "CUDAExecutionProvider": {"fp32": 1}}


def _record(p50: float, items: float, **runtime: object) -> dict:  # type: ignore[type-arg]
    return {"job_id": "x", "latency": {"p50_ms": p50}, "throughput": {"items_per_s": items}, "runtime": runtime}


def test_diagnosis_names_the_cause_only_when_not_faster() -> None:
    fp32 = _record(1.0, 1000.0)
    faster = diagnose(_record(0.5, 2000.0), fp32)
    assert faster["faster"] and faster["line"] is None and faster["speedup_p50"] == pytest.approx(2.0)
    fallback = _record(
        1.2,
        900.0,
        provider="CPUExecutionProvider",
        fallback=True,
        providers_requested=["TensorrtExecutionProvider", "CPUExecutionProvider"],
        providers_missing=["TensorrtExecutionProvider"],
    )
    out = diagnose(fallback, fp32)
    assert not out["faster"] and out["not_faster_on"] == ["latency", "throughput"]
    assert out["line"].startswith(
        "not faster than fp32 in latency and throughput (0.83x p50, 0.90x items/s): CPU fallback"
    )
    unfused = _record(
        1.1,
        950.0,
        provider="CPUExecutionProvider",
        providers_requested=["CPUExecutionProvider"],
        placement={
            "nodes": 9,
            "by_provider": {"CPUExecutionProvider": {"fp32": 3, "qdq": 6}},
            "compute": {"Conv:fp32": 2, "Gemm:fp32": 1},
            "qdq_nodes": 6,
            "ops": {"Conv": 2, "Gemm": 1, "DequantizeLinear": 3, "QuantizeLinear": 3},
        },
    )
    assert "unfused Q/DQ pairs: 3 compute node(s) ran in float between 6 Q/DQ nodes" in diagnose(unfused, fp32)["line"]


def test_diagnosis_of_an_fp16_artifact_on_the_cpu_says_what_the_placement_shows() -> None:
    """The placement ORT's CPU provider gave digits-cnn's fp16 artifact (every compute node in fp32):
    the line names that, and never claims the nodes ran in integer."""
    fp32 = _record(1.0, 1000.0)
    placement = {
        "nodes": 8,
        "by_provider": {"CPUExecutionProvider": {"fp32": 8}},
        "ops": {"Cast": 1, "Conv": 2, "FusedGemm": 1, "Gemm": 1},
        "compute": {"Conv:fp32": 2, "FusedGemm:fp32": 1, "Gemm:fp32": 1},
        "qdq_nodes": 0,
        "activation_dtypes": {"float": 4},
    }
    fp16 = _record(
        1.2, 880.0, provider="CPUExecutionProvider", providers_requested=["CPUExecutionProvider"], placement=placement
    )
    fp16["artifact"] = {"precision_map": {"fp16": 4}}
    line = diagnose(fp16, fp32)["line"]
    assert "fp16 artifact computed in fp32: 4 compute node(s) ran in fp32 on CPUExecutionProvider" in line
    assert "integer" not in line
    # No cause at all: the fallback line states the placement's counts, nothing more.
    int8 = _record(
        1.1,
        950.0,
        provider="CPUExecutionProvider",
        providers_requested=["CPUExecutionProvider"],
        placement={
            **placement,
            "compute": {"QLinearConv:int8": 2, "QGemm:int8": 2},
            "by_provider": {"CPUExecutionProvider": {"int8": 4}},
        },
    )
    assert diagnose(int8, fp32)["causes"] == [
        "no known cause found (compute nodes ran as 4 int8 on CPUExecutionProvider)"
    ]
    assert diagnose(_record(1.1, 950.0, provider="XNNPACK"), fp32)["causes"] == [
        "no known cause found (this runtime reports no per-node placement)"
    ]


def test_provider_options_reach_onnx_runtime(tmp_path: Path) -> None:
    """TensorRT options (engine cache under the results cache) are passed through and recorded; on a
    build without TensorRT the session still runs, on the CPU, flagged as a fallback."""
    from suite.runtimes.ort import OrtRuntime, provider_options

    spec = load_target("jetson-orin-nano").config.runtimes[0]
    opts = provider_options(spec)["TensorrtExecutionProvider"]
    assert opts["trt_int8_enable"] is True and Path(opts["trt_engine_cache_path"]).is_dir()
    session = OrtRuntime().load(_artifact("fp32")[0], spec)
    session.predict(_sample())
    info = session.info()
    assert info["fallback"] and info["provider"] == "CPUExecutionProvider"
    assert info["providers_missing"] == ["TensorrtExecutionProvider", "CUDAExecutionProvider"]
    assert info["provider_options"]["TensorrtExecutionProvider"]["trt_int8_enable"] is True


# ------------------------------------------------------------------------------------------ torch
def test_torch_runtime_on_cpu_matches_onnx_runtime() -> None:
    from suite.config import load_task
    from suite.job import build as prepare
    from suite.runtimes.torch_rt import TorchRuntime

    path, job = _artifact("fp32-torch", runtime="torch")
    x = prepare.task_state(load_task(job.task_path)).splits.x_eval[:64]
    ort = _ort_session(_artifact("fp32")[0]).predict(x)
    fp32 = TorchRuntime().load(path, RuntimeSpec(name="torch", threads=1, options={"device": "cpu"}))
    np.testing.assert_allclose(fp32.predict(x), ort, rtol=1e-4, atol=1e-4)
    assert fp32.info()["provider"] == "cpu:float32"
    bf16 = TorchRuntime().load(
        path, RuntimeSpec(name="torch", threads=1, options={"device": "cpu", "dtype": "bfloat16"})
    )
    out = bf16.predict(x)
    assert out.dtype == np.float32 and (out.argmax(1) == ort.argmax(1)).mean() > 0.95


def test_torch_runtime_options_and_missing_cuda() -> None:
    import torch

    from suite.errors import BadInput, JobFailed
    from suite.runtimes.torch_rt import TorchRuntime, parse_options

    assert parse_options({"device": "cuda"})["cuda_graphs"] is True
    assert parse_options({"device": "cuda", "compile": "reduce-overhead"})["cuda_graphs"] is False
    with pytest.raises(BadInput, match="dtype: got 'int8'"):
        parse_options({"dtype": "int8"})
    with pytest.raises(BadInput, match="unknown option 'graphs'"):
        parse_options({"graphs": True})
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path, _ = _artifact("fp32-torch", runtime="torch")
    with pytest.raises(JobFailed, match="CUDA is not available"):
        TorchRuntime().load(path, RuntimeSpec(name="torch", options={"device": "cuda"}))


@pytest.mark.gpu
def test_torch_runtime_cuda_graphs_fp16_bf16() -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    from suite.runtimes.torch_rt import TorchRuntime

    path, _ = _artifact("fp32-torch", runtime="torch")
    x = np.random.default_rng(0).random((32, 1, 8, 8), dtype=np.float32)
    ref = (
        TorchRuntime()
        .load(path, RuntimeSpec(name="torch", options={"device": "cuda", "cuda_graphs": False}))
        .predict(x)
    )
    for dtype in ("float32", "float16", "bfloat16"):
        session = TorchRuntime().load(path, RuntimeSpec(name="torch", options={"device": "cuda", "dtype": dtype}))
        out = session.predict(x)
        out2 = session.predict(x)  # replayed graph
        assert session.info()["graphs_captured"] == 1
        np.testing.assert_allclose(out, out2)
        assert (out.argmax(1) == ref.argmax(1)).mean() > 0.95
