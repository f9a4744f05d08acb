"""A record timed under an emulator (``environment.emulated``) keeps its accuracy, size and provenance in
the leaderboard; its timing, power and speed-up columns are blank, it is flagged ``emulated``, takes no
part in the Pareto fronts or as a speed-up baseline, and its MLflow run carries no timing metric."""

from __future__ import annotations

from suite.publish.rows import COLUMNS, flatten, frame, to_json_rows
from suite.records.fields import COLUMN_FIELDS
from suite.tracking.mlflow import metrics_of, params_of
from tests.support.publish_records import make_record

TIMING = ["p50_ms", "p90_ms", "p99_ms", "items_per_s", "items_per_s_min", "items_per_s_max", "avg_w", "mj_per_item"]


def emulated(method: str, top1: float, p50: float, **kw) -> dict:  # type: ignore[no-untyped-def]
    record = make_record(method, top1, p50, target="rpi5-emu", mj_per_item=0.5, avg_w=2.0, **kw)
    record["environment"]["emulated"] = "qemu-aarch64"
    return record


def test_emulated_row_blanks_timing_and_keeps_the_rest() -> None:
    row = flatten(emulated("ptq-static", 0.97, 0.5))
    assert "emulated" in COLUMNS and row["emulated"] == "qemu-aarch64"  # appended: later columns follow it
    assert all(row[c] is None for c in TIMING + ["speedup", "items_per_j", "latency_cv", "p50_ms_min"])
    assert row["top1"] == 0.97 and row["size_bytes"] == 40_000 and row["commit"] == "0123456789"
    assert row["flags"].split(",")[-1] == "emulated"
    plain = flatten(make_record("ptq-static", 0.97, 0.5))
    assert plain["emulated"] is None and "emulated" not in plain["flags"] and plain["p50_ms"] == 0.5
    assert {f.column for f in COLUMN_FIELDS if f.timing} >= set(TIMING)
    counted = {**emulated("ptq-static", 0.97, 0.5), "compute": {"macs_per_item": 337_536}}
    counted["efficiency"] = {"achieved_ops_per_s_offline": 1e10, "share_of_peak_offline": 0.01}  # written before
    row = flatten(counted)
    assert row["macs_per_item"] == 337_536 and row["gops"] is None and row["pct_of_peak"] is None


def test_emulated_rows_are_never_a_baseline_nor_on_a_front() -> None:
    records = [
        emulated("fp32", 0.98, 4.0),
        emulated("ptq-static", 0.975, 1.0, params={"per_channel": True}),
        make_record("fp32", 0.98, 2.0, target="rpi5"),
        make_record("ptq-static", 0.97, 1.0, target="rpi5"),
    ]
    rows = {(r["target"], r["method"]): r for r in to_json_rows(frame(records))}
    for method in ("fp32", "ptq-static"):
        emu = rows[("rpi5-emu", method)]
        assert emu["speedup"] is None and emu["pareto"] is False and emu["pareto_energy"] is False
        assert emu["top1"] is not None and emu["emulated"] == "qemu-aarch64"
    assert rows[("rpi5", "ptq-static")]["speedup"] == 2.0 and rows[("rpi5", "ptq-static")]["pareto"] is True


def test_emulated_mlflow_run_has_no_timing_metric() -> None:
    record = emulated("ptq-static", 0.97, 0.5)
    metrics = metrics_of(record)
    assert metrics["acc/top1"] == 0.97 and metrics["model/size_mb"] == 0.04
    timing = {"latency/p50_ms", "throughput/items_per_s", "power/avg_w", "energy/mj_per_item", "efficiency/items_per_j"}
    assert not timing & set(metrics)
    assert timing <= set(metrics_of(make_record("ptq-static", 0.97, 0.5, mj_per_item=0.5, avg_w=2.0)))
    assert params_of(record)["method"] == "ptq-static"


def test_sweep_summary_claims_no_speed_for_an_emulated_record() -> None:
    from suite.sweep.summary import row_cells
    from tests.support.vocabulary_records import outcome

    record = emulated("ptq-static", 0.97, 0.5)
    record["diagnosis"] = {"speedup_p50": 2.0}
    cells = row_cells(outcome(record))
    assert cells["speed-up"] == "emul." and cells["flags"].endswith("emulated") and cells["top-1 %"] == "97.00"
