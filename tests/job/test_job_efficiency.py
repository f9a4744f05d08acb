"""A job's ``compute`` and ``efficiency`` blocks (``suite.job.efficiency``): carried up from the artifact,
worked out against the measuring machine's peak, at the threads that ran; none for an emulated record; a
graph that could not be counted, or a peak that cannot be resolved, is a reason and never a failed job.
The record schema takes both blocks and the leaderboard, MLflow and docs read them from the declarations."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from suite.config.schemas import PeakSpec, RuntimeSpec, TargetConfig
from suite.job.efficiency import set_efficiency, threads_used
from suite.machine.target import load_target
from suite.publish.rows import COLUMNS, flatten
from suite.records.blocks import Blocks, assemble
from suite.records.fields import mlflow_metrics
from suite.records.schema import problem
from suite.records.store import empty_record
from tests.conftest import REPO

MACS = 337_536  # digits-cnn's count (tests/compute/test_graph_macs.py checks it against torch's)
NEW_COLUMNS = ["macs_per_item", "gops", "gops_single_stream", "pct_of_peak", "peak_gops", "tops_per_w"]
NEW_COLUMNS.append("decode_pct_of_roofline")


def profile(peak: dict[str, Any] | None) -> TargetConfig:
    local = load_target(str(REPO / "hardware" / "local-cpu.yaml")).config
    return local.model_copy(update={"peak": None if peak is None else PeakSpec.model_validate(peak)})


def job_blocks(compute: dict[str, Any] | None, *, threads: int | None = None, emulated: str | None = None) -> Blocks:
    blocks = Blocks(environment={"os": "Linux", "board": {"gpus": []}})
    if emulated:
        blocks.environment_added["emulated"] = emulated
    blocks.artifact = {"format": "onnx", "weight_bits": 8, "activation_bits": 8, "details": {"work": compute}}
    blocks.runtime = {"name": "ort", "threads": threads, "inference_precision": "int8"}
    blocks.latency = {"p50_ms": 0.5, "valid": True}
    blocks.throughput = {"items_per_s": 4000.0, "valid": True}
    blocks.power = {"status": "measured", "avg_w": 8.0, "mj_per_item": 2.0}
    return blocks


def record_of(blocks: Blocks, peak: dict[str, Any] | None, spec: RuntimeSpec | None = None) -> dict[str, Any]:
    record = empty_record("a" * 16, "a" * 64)
    record.update(
        task={"name": "digits-cnn", "file_sha256": "x"},
        method={"name": "ptq-static"},
        target={"name": "local-cpu"},
        runtime={"name": "ort"},
        status="ok",
    )
    set_efficiency(record, blocks, profile(peak), spec or RuntimeSpec(name="ort"))
    return assemble(record, blocks)


DATASHEET = {
    "int8_ops_per_s": {"value": 4.0e12, "source": "datasheet: Example SoC product brief"},
    "fp32_flops": {"value": 1.0e11, "source": "datasheet: Example SoC product brief"},
}


def test_compute_is_carried_up_and_efficiency_matches_the_records_own_numbers() -> None:
    record = record_of(job_blocks({"macs_per_item": MACS, "ops_per_item": 2 * MACS}), DATASHEET)
    assert record["compute"]["macs_per_item"] == MACS
    eff = record["efficiency"]
    offline = 2 * MACS * record["throughput"]["items_per_s"]
    assert eff["achieved_ops_per_s_offline"] == pytest.approx(offline)
    assert eff["achieved_ops_per_s_single_stream"] == pytest.approx(2 * MACS * 1000 / record["latency"]["p50_ms"])
    assert eff["peak_key"] == "int8_ops_per_s" and eff["peak_ops_per_s"] == 4.0e12
    assert eff["peak_source"] == "datasheet: Example SoC product brief"
    assert eff["share_of_peak_offline"] == pytest.approx(offline / 4.0e12) and eff["share_of_peak_offline"] < 1
    assert eff["tops_per_w"] == pytest.approx(offline / 8.0 / 1e12)
    assert problem(record) is None
    assert list(record)[-2:] == ["compute", "efficiency"]

    row = flatten(record)
    start = COLUMNS.index(NEW_COLUMNS[0])  # appended after every earlier column (later ones follow them)
    assert COLUMNS[start : start + len(NEW_COLUMNS)] == NEW_COLUMNS and "emulated" in COLUMNS[:start]
    assert row["macs_per_item"] == MACS and row["gops"] == pytest.approx(offline / 1e9)
    assert row["pct_of_peak"] == pytest.approx(100 * offline / 4.0e12) and row["peak_gops"] == 4000.0
    assert row["tops_per_w"] == pytest.approx(offline / 8.0 / 1e12) and row["decode_pct_of_roofline"] is None
    metrics = mlflow_metrics(record)
    assert metrics["compute/macs_per_item"] == MACS and metrics["efficiency/gops"] == pytest.approx(offline / 1e9)
    assert metrics["efficiency/share_of_peak_pct"] == pytest.approx(row["pct_of_peak"])
    assert metrics["efficiency/tops_per_w"] == pytest.approx(row["tops_per_w"])


def test_the_derived_cpu_peak_is_the_measuring_cpus_at_the_threads_that_ran() -> None:
    from suite.machine.cpu_peak import derive_cpu_peak

    here = derive_cpu_peak()
    if not here.get("int8_ops_per_s") or here["cores"] < 2:
        pytest.skip(f"this machine's CPU peak cannot be derived on two cores or more: {here}")
    record = record_of(job_blocks({"macs_per_item": MACS}, threads=1), {"derived": "cpu"})
    eff = record["efficiency"]
    assert eff["peak_basis"] == f"1 of {here['cores']} cores"
    assert eff["peak_ops_per_s"] == pytest.approx(here["per_core"]["int8_ops_per_s"])
    assert eff["peak_source"].startswith("derived: ") and "int8 ops/cycle" in eff["peak_source"]
    whole = record_of(job_blocks({"macs_per_item": MACS}), {"derived": "cpu"})["efficiency"]
    assert whole["peak_basis"] == "whole device"
    assert whole["peak_ops_per_s"] == pytest.approx(here["int8_ops_per_s"]["value"])


def test_threads_come_from_the_runtime_then_the_profile_entry() -> None:
    assert threads_used(RuntimeSpec(name="ort", threads=2), {"threads": 1}) == 1
    assert threads_used(RuntimeSpec(name="ort", threads=2), {"threads": None}) == 2
    assert threads_used(RuntimeSpec(name="ort", threads=0), {}) is None  # the runtime's default: every core


def test_emulated_records_keep_their_compute_and_get_no_efficiency() -> None:
    record = record_of(job_blocks({"macs_per_item": MACS}, emulated="qemu-aarch64"), DATASHEET)
    assert record["compute"]["macs_per_item"] == MACS and record.get("efficiency") is None
    row = flatten(record)
    assert row["macs_per_item"] == MACS and row["gops"] is None and row["pct_of_peak"] is None


def test_an_uncounted_graph_and_a_missing_peak_are_reasons_and_the_record_stays_ok() -> None:
    reason = "x: dynamic dimension 'N' of 2 graph inputs: no input shape pins it"
    uncounted = record_of(job_blocks({"macs_per_item": None, "ops_per_item": None, "reason": reason}), DATASHEET)
    assert uncounted["status"] == "ok" and problem(uncounted) is None
    assert uncounted["compute"]["reason"] == reason and uncounted["efficiency"] == {"reason": reason}
    assert flatten(uncounted)["gops"] is None
    no_peak = record_of(job_blocks({"macs_per_item": MACS}), None)["efficiency"]
    assert no_peak["reason"] == "the target's profile has no peak block" and no_peak["achieved_ops_per_s_offline"]
    old = record_of(job_blocks(None), DATASHEET)  # an artifact built before MACs were counted
    assert old.get("compute") is None and "no compute block" in old["efficiency"]["reason"]


def test_a_peak_that_cannot_be_resolved_is_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import suite.machine.cpu_peak as cpu_peak

    def broken(facts: object = None) -> dict[str, Any]:
        raise OSError("cpuinfo unreadable")

    monkeypatch.setattr(cpu_peak, "derive_cpu_peak", broken)
    record = record_of(job_blocks({"macs_per_item": MACS}), {"derived": "cpu"})
    assert record["efficiency"] == {"reason": "not worked out: OSError: cpuinfo unreadable"}
    assert record["status"] == "ok" and problem(record) is None


def test_the_schema_checks_the_new_blocks() -> None:
    record = record_of(job_blocks({"macs_per_item": MACS}), DATASHEET)
    record["efficiency"]["achieved_ops_per_s_offline"] = -1.0
    assert problem(record) == "efficiency.achieved_ops_per_s_offline: got -1.0, expected greater than or equal to 0"
    record["efficiency"]["achieved_ops_per_s_offline"] = math.inf
    assert problem(record) is not None
    record = record_of(job_blocks({"macs_per_item": MACS}), DATASHEET)
    record["compute"]["macs_per_item"] = "many"
    assert problem(record) is not None and problem(record).startswith("compute.macs_per_item")  # type: ignore[union-attr]


@pytest.mark.slow
def test_real_jobs_counted_and_uncounted(results_dir: Path, tmp_path: Path) -> None:
    """digits-cnn fp32 through ORT on this machine: the record's own numbers give its GOPS and % of peak, and
    the same job with a graph whose shapes cannot be inferred still runs ok, its blocks saying why."""
    import dataclasses

    import onnx
    from onnx import TensorProto, helper

    from suite.compute.graph import compute_block
    from suite.job.build import build_inputs
    from suite.job.inputs import PreparedInputs
    from suite.job.plan import plan
    from suite.job.request import SweepRequest
    from suite.job.run import run
    from suite.job.spec import Job

    request = SweepRequest(tasks=("digits-cnn",), methods=("fp32",), runtimes=("ort",), quick=True, use_mlflow=False)
    (job,) = plan(load_target(str(REPO / "hardware" / "local-cpu.yaml")), request).jobs
    record = run(job, build_inputs)
    assert record["status"] == "ok", record.get("error")
    macs, eff = record["compute"]["macs_per_item"], record["efficiency"]
    assert macs == MACS and problem(record) is None
    assert eff["achieved_ops_per_s_offline"] == pytest.approx(2 * macs * record["throughput"]["items_per_s"])
    assert eff["share_of_peak_offline"] == pytest.approx(eff["achieved_ops_per_s_offline"] / eff["peak_ops_per_s"])
    assert 0 < eff["share_of_peak_offline"] < 1 and eff["peak_source"].startswith("derived: ")

    dynamic = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 4]) for n in ("x", "z")]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "z"], ["y"])], "two", dynamic, [y])
    onnx.save(helper.make_model(graph), tmp_path / "two.onnx")
    uncountable = compute_block(tmp_path / "two.onnx", [64])
    assert uncountable["macs_per_item"] is None and uncountable["reason"]

    def uncounted_inputs(job: Job) -> PreparedInputs:
        inputs = build_inputs(job)
        artifact = dict(inputs.artifact_record)
        artifact["details"] = {**(artifact.get("details") or {}), "work": uncountable}
        return dataclasses.replace(inputs, artifact_record=artifact)

    record = run(job, uncounted_inputs)
    assert record["status"] == "ok", record.get("error")
    assert record["compute"]["reason"] == uncountable["reason"] == record["efficiency"]["reason"]
    assert problem(record) is None and flatten(record)["gops"] is None
