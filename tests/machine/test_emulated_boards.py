"""End to end on emulated boards: ``edgeq bench`` against fixture trees whose power files a helper thread
drives at known watts, checked against the exact integral of the injected power over the window the
record reports.

- Jetson Orin Nano: ``--target jetson`` detects the Orin Nano, reports TensorRT and CUDA missing and the
  CPU fallback, and reads VDD_IN through the INA3221 hwmon files;
- an external meter: a CSV of timestamped watts appended while the sweep runs (``EDGEQ_METER_CSV``);
- RAPL: a powercap tree whose counter wraps during the window.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, edgeq
from tests.support import boards

pytestmark = [pytest.mark.slow, pytest.mark.board]


def _records(results: Path, target: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(p.read_text()) for p in sorted((results / "records" / target).rglob("*.json"))]


def _energy_matches(record: dict, power: boards.SinePower) -> tuple[float, float]:  # type: ignore[type-arg]
    pw = record["power"]
    assert pw["status"] == "measured", pw
    detail = pw["detail"]
    injected = power.energy(detail["t_start_unix"], detail["t_end_unix"])
    assert pw["energy_j"] == pytest.approx(injected, rel=0.02)
    assert pw["window_s"] == pytest.approx(detail["t_end_unix"] - detail["t_start_unix"], rel=1e-3)
    items = record["throughput"]["samples"]
    assert pw["mj_per_item"] == pytest.approx(pw["energy_j"] * 1000 / items, rel=1e-6)
    return pw["energy_j"], injected


def test_jetson_orin_nano_end_to_end(tmp_path: Path, results_dir: Path) -> None:
    root = boards.orin_nano(tmp_path / "orin")
    hwmon = root / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1"
    power = boards.SinePower(mean=7.0, amplitude=2.0, period_s=0.7)
    with boards.drive_ina3221(hwmon, 1, power):
        proc = edgeq(
            "bench",
            "--target",
            "jetson",
            "--methods",
            "fp32",
            "--quick",
            "--limit",
            "100",
            "--no-mlflow",
            env={"EDGEQ_SYSROOT": str(root), "COLUMNS": "400"},  # wide: rich wraps at 80 otherwise
        )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "target 'jetson' is 'jetson-orin-nano' on this machine" in out
    assert "TensorrtExecutionProvider, CUDAExecutionProvider not in this onnxruntime build" in out
    assert "fallback" in out and "pre-flight" in out and "sudo jetson_clocks" in out
    [record] = _records(results_dir, "jetson-orin-nano")
    assert record["status"] == "ok"
    assert record["target"] == {"name": "jetson-orin-nano", "matched": True, "override": False}
    rt = record["runtime"]
    assert rt["fallback"] is True and rt["provider"] == "CPUExecutionProvider"
    assert rt["providers_missing"] == ["TensorrtExecutionProvider", "CUDAExecutionProvider"]
    assert rt["placement"]["by_provider"].keys() == {"CPUExecutionProvider"}
    env = record["environment"]
    assert env["board"]["device_tree_model"] == boards.ORIN_NANO_MODEL and env["board"]["jetpack"] == "6.2"
    assert env["power_mode"] == {"id": 0, "name": "15W"}
    assert {c["name"]: c["ok"] for c in env["preflight"]}["jetson_clocks"] is False
    assert env["throttled"]["throttled"] is False
    assert record["power"]["boundary"] == "module_input" and record["power"]["sensor"] == "ina3221"
    _energy_matches(record, power)


def test_external_meter_csv_end_to_end(tmp_path: Path, results_dir: Path) -> None:
    log = tmp_path / "meter.csv"
    power = boards.SinePower(mean=11.0, amplitude=3.0, period_s=1.3)
    with boards.drive_csv(log, power, period_s=0.02):
        proc = edgeq(
            "bench",
            "--target",
            "local-cpu",
            "--methods",
            "fp32",
            "--runtimes",
            "ort",
            "--quick",
            "--limit",
            "100",
            "--no-mlflow",
            env={"EDGEQ_METER_CSV": str(log), "EDGEQ_METER_BOUNDARY": "wall", "EDGEQ_SYSROOT": "/"},
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [record] = _records(results_dir, "local-cpu")
    assert record["power"]["sensor"] == "external" and record["power"]["boundary"] == "wall"
    assert record["power"]["detail"]["csv"] == str(log)
    _energy_matches(record, power)


def test_rapl_counter_wrap_end_to_end(tmp_path: Path, results_dir: Path) -> None:
    max_range = 8_000_000  # 8 J: at ~10 W the counter wraps every ~0.8 s, inside a >= 1.5 s window
    root = boards.rapl(tmp_path / "rapl", max_range)
    profile = tmp_path / "rapl-cpu.yaml"
    text = (REPO / "hardware" / "local-cpu.yaml").read_text()
    text = text.replace("name: local-cpu", "name: rapl-cpu").replace("power: [external, rapl, none]", "power: [rapl]")
    text = text.replace(
        "offline: {min_duration_s: 0.2, min_queries: 64, batch_size: 32}",
        "offline: {min_duration_s: 0.5, min_queries: 64, batch_size: 32}",
    )
    profile.write_text(text)
    power = boards.SinePower(mean=10.0, amplitude=2.0, period_s=0.9)
    with boards.drive_rapl(root, power, max_range, start=time.time()):
        proc = edgeq(
            "bench",
            "--target",
            str(profile),
            "--methods",
            "fp32",
            "--runtimes",
            "ort",
            "--quick",
            "--limit",
            "100",
            "--no-mlflow",
            env={"EDGEQ_SYSROOT": str(root)},
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [record] = _records(results_dir, "rapl-cpu")
    detail = record["power"]["detail"]
    assert record["power"]["boundary"] == "cpu_package" and record["power"]["method"] == "energy_counter"
    assert detail["domains"] == ["package-0"]  # the core sub-domain is inside the package: not added
    assert detail["wraps"] >= 1, detail
    _energy_matches(record, power)
