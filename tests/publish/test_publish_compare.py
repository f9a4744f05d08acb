"""``edgeq compare A B``: per-method deltas between two record sets with known numbers."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import edgeq
from tests.support.publish_records import make_record, write_records


def ort(version: str, day: str) -> dict:
    return {
        "version": version,
        "packages": {"onnxruntime": version, "numpy": "2.4.6"},
        "created_at": f"2026-05-{day}T10:00:00Z",
    }


OLD = ort("1.31.0", "01")
NEW = ort("1.32.0", "02")
A = [
    make_record("fp32", 0.980, 1.00, per_run_p50_ms=[0.99, 1.00, 1.01], **OLD),
    make_record("ptq-static", 0.970, 0.50, per_run_p50_ms=[0.48, 0.50, 0.52], **OLD),
    make_record("dynamic", 0.975, 2.00, per_run_p50_ms=[1.95, 2.00, 2.05], **OLD),
    make_record("binary", 0.900, 1.00, simulated=True, simulated_top1=0.91, family="binary", **OLD),
]
B = [
    make_record("fp32", 0.980, 1.01, per_run_p50_ms=[0.98, 1.01, 1.03], **NEW),  # within the run spread
    make_record("ptq-static", 0.960, 0.80, per_run_p50_ms=[0.79, 0.80, 0.81], **NEW),  # slower, less accurate
    make_record("dynamic", 0.975, 1.00, per_run_p50_ms=[0.98, 1.00, 1.02], **NEW),  # faster
    make_record("binary", 0.900, 0.50, simulated=True, simulated_top1=0.91, family="binary", **NEW),
    make_record("qat", 0.979, 0.6, **NEW),  # only in B
]


def _by_method(result: dict) -> dict[str, dict]:
    return {r["method"]: r for r in result["rows"]}


def test_compare_two_folders(tmp_path: Path) -> None:
    write_records(tmp_path / "old", A)
    write_records(tmp_path / "new", B)
    out = edgeq("compare", str(tmp_path / "old"), str(tmp_path / "new"), "--format", "json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    rows = _by_method(result)
    assert set(rows) == {"fp32", "ptq-static", "dynamic", "binary"}
    assert result["only_b"] == ["digits-cnn/qat (ort 1.32.0)"] and result["only_a"] == []
    assert rows["fp32"]["latency"] == "within run spread"
    assert rows["ptq-static"]["latency"] == "slower"
    assert abs(rows["ptq-static"]["p50_change_pct"] - 60.0) < 1e-9
    assert abs(rows["ptq-static"]["delta_top1_pts"] - (-1.0)) < 1e-9
    assert rows["dynamic"]["latency"] == "faster" and abs(rows["dynamic"]["p50_change_pct"] + 50.0) < 1e-9
    assert rows["binary"]["latency"] == "not compared (simulated)" and rows["binary"]["p50_change_pct"] is None
    assert rows["fp32"]["runtime_a"] == "ort 1.31.0" and rows["fp32"]["runtime_b"] == "ort 1.32.0"

    table = edgeq("compare", str(tmp_path / "old"), str(tmp_path / "new"))
    assert table.returncode == 0, table.stderr
    text = table.stdout
    line = next(line for line in text.splitlines() if "ptq-static" in line)
    for cell in ("ort 1.31.0 → ort 1.32.0", "97.00", "96.00", "-1.00", "0.5000", "0.8000", "+60.0%", "slower"):
        assert cell in line, (cell, line)
    assert (
        "4 method(s) compared: 1 slower beyond the run spread (digits-cnn: ptq-static), 1 faster (digits-cnn: dynamic), "
        "accuracy changed for 1 (digits-cnn: ptq-static)." in text
    )
    assert "only in B: digits-cnn/qat (ort 1.32.0)" in text


def test_compare_package_versions_in_one_results_root(results_dir: Path) -> None:
    write_records(results_dir, A + B)
    root = str(results_dir)
    out = edgeq("compare", f"{root}#onnxruntime=1.31.0", f"{root}#onnxruntime=1.32.0", "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = _by_method(json.loads(out.stdout))
    assert rows["ptq-static"]["latency"] == "slower" and rows["dynamic"]["latency"] == "faster"


def test_compare_two_targets_by_name(results_dir: Path) -> None:
    write_records(
        results_dir,
        [make_record("fp32", 0.98, 2.0, target="pi-5"), make_record("ptq-static", 0.97, 1.0, target="pi-5")],
    )
    write_records(
        results_dir,
        [make_record("fp32", 0.98, 0.5, target="orin"), make_record("ptq-static", 0.975, 0.2, target="orin")],
    )
    out = edgeq("compare", "pi-5", "orin", "--format", "csv")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("task,method,runtime_a,runtime_b,target_a,target_b")
    ptq = next(line for line in lines if ",ptq-static," in line)
    assert ",pi-5,orin," in ptq and ",-80.0," in ptq


def test_compare_bad_input_is_one_line(results_dir: Path, tmp_path: Path) -> None:
    write_records(results_dir, [make_record("fp32", 0.98, 2.0)])
    for args, words in [
        (("nowhere", "bench-a"), "neither a folder of records nor a target"),
        (("bench-a", "bench-a#onnxruntime=9.9"), "none of its 1 record(s) match"),
        (("bench-a", "bench-a#colour=red"), "unknown filter key"),
        (("bench-a", "bench-a#junk"), "is not key=value"),
        (("bench-a", "bench-a", "--format", "xml"), "expected table, csv or json"),
    ]:
        out = edgeq("compare", *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert words in out.stderr and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr


def test_compare_pairs_by_runtime_and_names_differing_parameters(tmp_path: Path) -> None:
    a = [
        make_record("fp32", 0.98, 1.0, **OLD),
        make_record("fp32", 0.98, 3.0, runtime="litert", version=None, provider="xnnpack", packages={"numpy": "2.4.6"}),  # type: ignore[arg-type]
        make_record("ptq-static", 0.97, 0.5, params={"quantize_adds": True}, **OLD),
        make_record("ptq-static", 0.97, 0.5, params={"quantize_adds": True, "per_channel": True}, **OLD),
        make_record("ptq-static", 0.96, 0.5, params={"quantize_adds": True, "per_channel": False}, **OLD),
    ]
    b = [
        make_record("fp32", 0.98, 1.0, task="mnist-cnn", **NEW),
        make_record("fp32", 0.98, 1.0, **NEW),
        make_record("fp32", 0.98, 1.0, runtime="litert", version=None, provider="xnnpack", packages={"numpy": "2.4.6"}),  # type: ignore[arg-type]
        make_record("ptq-static", 0.97, 0.5, params={"quantize_adds": False, "per_channel": True}, **NEW),
        make_record("ptq-static", 0.96, 0.5, params={"quantize_adds": False, "per_channel": False}, **NEW),
    ]
    write_records(tmp_path / "a", a)
    write_records(tmp_path / "b", b)
    out = edgeq("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--format", "json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    by_runtime = {(r["task"], r["method"], r["runtime_a"]): r for r in result["rows"]}
    assert set(by_runtime) == {("digits-cnn", "fp32", "ort 1.31.0"), ("digits-cnn", "fp32", "litert")}
    assert by_runtime[("digits-cnn", "fp32", "litert")]["latency"] == "faster"  # litert to litert, not to ort
    assert "mnist-cnn/fp32 (ort 1.32.0)" in result["only_b"] and len(result["only_b"]) == 3
    assert len(result["only_a"]) == 3  # three ptq-static rows against two: not paired
    assert "runtimes litert, ort 1.31.0;" in result["a"]  # no "litert None"
    assert by_runtime[("digits-cnn", "fp32", "litert")]["runtime_b"] == "litert"
    note = next(n for n in result["notes"] if "ptq-static" in n)
    assert "parameters differ" in note and "quantize_adds: true → false" in note, note

    # one row left on each side: paired, and the row says which parameter differs
    write_records(tmp_path / "c", [make_record("ptq-static", 0.97, 0.5, params={"quantize_adds": True}, **OLD)])
    write_records(tmp_path / "d", [make_record("ptq-static", 0.97, 0.5, params={"quantize_adds": False}, **NEW)])
    text = edgeq("compare", str(tmp_path / "c"), str(tmp_path / "d")).stdout
    assert "[quantize_adds: true → false]" in text and "only in" not in text, text
    assert "None" not in text


def test_compare_disjoint_sets_is_one_line_exit_2(tmp_path: Path) -> None:
    write_records(tmp_path / "a", [make_record("fp32", 0.98, 1.0)])
    write_records(tmp_path / "b", [make_record("fp32", 0.98, 1.0, task="mnist-cnn")])
    out = edgeq("compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert out.returncode == 2 and out.stdout == ""
    assert "share no task" in out.stderr and "digits-cnn" in out.stderr and "mnist-cnn" in out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
