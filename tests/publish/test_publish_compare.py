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
    assert result["only_b"] == ["digits-cnn/qat (ort)"] and result["only_a"] == []
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
        "4 method(s) compared: 1 slower beyond the run spread (ptq-static), 1 faster (dynamic), accuracy changed for 1 (ptq-static)."
        in text
    )
    assert "only in B: digits-cnn/qat (ort)" in text


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
