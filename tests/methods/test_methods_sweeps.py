"""The method catalogue through the real CLI: listing, LiteRT rows beside ORT rows, and mixed
precision meeting a budget that full int8 misses (tasks/cancer-mlp.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import edgeq

FAMILIES = {
    "baseline",
    "fp16",
    "ptq",
    "dynamic",
    "qat",
    "mixed",
    "weight-only",
    "fixed-point",
    "hybrid",
    "binary",
    "ternary",
    "log",
    "vector",
    "product",
}
ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # tiny models; torch's thread pool only spins on a shared 2-core box


def records(root: Path, task: str) -> dict[tuple[str, str], dict]:
    out = {}
    for path in (root / "records" / "local-cpu" / task).glob("*.json"):
        r = json.loads(path.read_text())
        out[(r["method"]["name"], r["runtime"]["name"])] = r
    return out


def test_list_methods_shows_every_family_label_and_parameters() -> None:
    result = edgeq("list", "methods")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = [line.split() for line in lines if not line.startswith(" ")]
    families = {row[1] for row in rows}
    assert FAMILIES <= families
    by_name = {row[0]: row for row in rows}
    for name, label in (
        ("binary", "simulated"),
        ("ternary", "simulated"),
        ("log2", "simulated"),
        ("product-quantization", "simulated"),
        ("qat", "deployable"),
        ("mixed-precision", "deployable"),
        ("kmeans", "deployable"),
        ("tflite-int8", "deployable"),
    ):
        assert by_name[name][2] == label
    assert by_name["tflite-int8"][3] == "tflite"
    params = {lines[i].split()[0]: lines[i + 1] for i in range(len(lines) - 1) if not lines[i].startswith(" ")}
    assert "epochs=" in params["qat"] and "per_channel=True" in params["qat"]
    assert "budget_pts=1.0" in params["mixed-precision"]
    assert "clusters=16" in params["kmeans"]


@pytest.mark.slow
def test_litert_rows_beside_ort_rows(results_dir: Path) -> None:
    result = edgeq(
        "bench",
        "--tasks",
        "digits-cnn",
        "--methods",
        "fp32,tflite-fp32,tflite-int8,tflite-16x8",
        "--runtimes",
        "ort,litert",
        "--quick",
        "--no-mlflow",
        env=ONE_THREAD,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    got = records(results_dir, "digits-cnn")
    assert set(got) == {
        ("fp32", "ort"),
        ("tflite-fp32", "litert"),
        ("tflite-int8", "litert"),
        ("tflite-16x8", "litert"),
    }
    fp32 = got[("fp32", "ort")]["accuracy"]["top1"]
    tfp32 = got[("tflite-fp32", "litert")]
    assert abs(tfp32["accuracy"]["top1"] - fp32) < 0.005  # the Keras twin reproduces the torch model
    assert tfp32["artifact"]["details"]["twin_max_abs_diff"] < 1e-3
    int8 = got[("tflite-int8", "litert")]
    assert int8["artifact"]["format"] == "tflite" and int8["artifact"]["precision_map"] == {"int8": 4}
    assert int8["runtime"]["delegate"] == "XNNPACK" and int8["runtime"]["delegation"]["delegated_fraction"] == 1.0
    assert int8["accuracy"]["fp32_top1"] == tfp32["accuracy"]["top1"]  # delta against the LiteRT baseline
    assert int8["artifact"]["size_bytes"] < tfp32["artifact"]["size_bytes"] / 3
    a16 = got[("tflite-16x8", "litert")]
    assert a16["artifact"]["precision_map"] == {"a16w8": 4}
    assert a16["runtime"]["delegation"]["delegated_fraction"] == 0.0 and a16["runtime"]["fallback"] is True
    board = (results_dir / "leaderboard" / "local-cpu" / "README.md").read_text()
    assert "litert" in board and "ort" in board


@pytest.mark.slow
def test_mixed_precision_meets_the_budget_full_int8_misses(results_dir: Path) -> None:
    result = edgeq("bench", "--tasks", "cancer-mlp", "--quick", "--no-mlflow", env=ONE_THREAD)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    got = records(results_dir, "cancer-mlp")
    fp32 = got[("fp32", "ort")]["accuracy"]["top1"]
    int8 = got[("ptq-static", "ort")]["accuracy"]["top1"]
    mixed = got[("mixed-precision", "ort")]
    budget = mixed["method"]["params"]["budget_pts"]
    assert (fp32 - int8) * 100 > budget  # full int8 misses the budget on eval
    assert (fp32 - mixed["accuracy"]["top1"]) * 100 <= budget  # mixed precision meets it on eval
    details = mixed["artifact"]["details"]
    assert details["kept_float"] and "validation split" in details["selection"]
    assert {row["node"] for row in details["sensitivity"]} >= set(details["kept_float"])
    assert (
        mixed["artifact"]["precision_map"].get("fp32", 0) >= 1
        and mixed["artifact"]["precision_map"].get("int8", 0) >= 2
    )


@pytest.mark.slow
def test_every_format_change_carries_its_check_against_the_source(results_dir: Path) -> None:
    """torch -> ONNX (fp32), Keras twin -> TFLite (tflite-fp32) and torch -> .pte (executorch-fp32): each
    converted artifact was run beside its source on the task's first 8 inputs and agrees within tolerance."""
    result = edgeq(
        "bench",
        "--tasks",
        "digits-cnn",
        "--methods",
        "fp32,ptq-static,tflite-fp32,executorch-fp32",
        "--runtimes",
        "ort,litert,executorch",
        "--quick",
        "--limit",
        "60",
        "--no-mlflow",
        env=ONE_THREAD,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    got = records(results_dir, "digits-cnn")
    for key, source, converted in (
        (("fp32", "ort"), "torch", "onnx (torch.onnx)"),
        (("ptq-static", "ort"), "torch", "onnx (torch.onnx)"),  # the float graph it quantized was checked
        (("tflite-fp32", "litert"), "keras", "tflite (TFLiteConverter)"),
        (("executorch-fp32", "executorch"), "torch", "pte (ExecuTorch XNNPACK)"),
    ):
        assert got[key]["status"] == "ok", got[key].get("error")
        check = got[key]["artifact"]["details"]["conversion_check"]
        assert (check["from"], check["to"], check["n"], check["ok"]) == (source, converted, 8, True), key
        assert check["top1_agreement"] == 1.0 and check["max_rel_diff"] <= check["tolerance"]["max_rel_diff"]
