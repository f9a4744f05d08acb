"""The efficiency block's arithmetic on records written by hand."""

from __future__ import annotations

import pytest

from suite.compute.efficiency import efficiency_block

PEAK = {
    "int8_ops_per_s": {"value": 4.0e12, "source": "datasheet: X"},
    "fp32_flops": {"value": 1.0e12, "source": "datasheet: X"},
    "memory_bw_bytes_per_s": {"value": 10.0e9, "source": "datasheet: X"},
}


def _record(**extra: object) -> dict:
    record = {
        "compute": {"macs_per_item": 1_000_000, "ops_per_item": 2_000_000},
        "throughput": {"items_per_s": 2000.0},
        "latency": {"p50_ms": 1.0},
        "runtime": {"inference_precision": "int8"},
        "power": {"status": "measured", "avg_w": 4.0},
    }
    record.update(extra)
    return record


def test_offline_single_stream_share_and_ops_per_joule() -> None:
    block = efficiency_block(_record(), PEAK)
    assert block["achieved_ops_per_s_offline"] == 2e6 * 2000
    assert block["achieved_ops_per_s_single_stream"] == 2e6 * 1000
    assert block["peak_key"] == "int8_ops_per_s" and block["precision_from"] == "runtime.inference_precision"
    assert block["share_of_peak_offline"] == pytest.approx(4e9 / 4e12)
    assert block["share_of_peak_single_stream"] == pytest.approx(2e9 / 4e12)
    assert block["ops_per_joule"] == pytest.approx(4e9 / 4.0) and block["tops_per_w"] == pytest.approx(1e-3)


def test_a_float_run_is_set_against_the_float_peak_and_a_mix_against_its_fastest() -> None:
    assert efficiency_block(_record(runtime={"inference_precision": "f32"}), PEAK)["peak_key"] == "fp32_flops"
    mixed = efficiency_block(_record(runtime={"inference_precision": "f32+int8"}), PEAK)
    assert mixed["peak_key"] == "int8_ops_per_s" and mixed["precision"] == "f32+int8"
    # no runtime report: the artifact's bits decide
    bits = _record(runtime={}, artifact={"weight_bits": 32, "activation_bits": 32})
    assert efficiency_block(bits, PEAK)["peak_key"] == "fp32_flops"
    assert efficiency_block(_record(runtime={"inference_precision": "f16"}), PEAK)["reason"].startswith(
        "no peak figure"
    )


def test_unmeasured_power_emulated_and_uncounted_records() -> None:
    assert "ops_per_joule" not in efficiency_block(_record(power={"status": "unavailable"}), PEAK)
    assert efficiency_block(_record(environment={"emulated": {"board": "rpi5"}}), PEAK) is None
    no_count = _record(compute={"macs_per_item": None, "reason": "input 'x' has a dynamic shape"})
    assert efficiency_block(no_count, PEAK) == {"reason": "input 'x' has a dynamic shape"}
    assert efficiency_block(_record(), None)["reason"] == "the target's profile has no peak block"


def test_a_derived_cpu_peak_is_scaled_to_the_threads_that_ran() -> None:
    cpu = {"derived": "cpu", "cores": 4, "int8_ops_per_s": {"value": 8e11}, "per_core": {"int8_ops_per_s": 2e11}}
    block = efficiency_block(_record(), cpu, threads=1)
    assert block["peak_ops_per_s"] == 2e11 and block["peak_basis"] == "1 of 4 cores"
    assert efficiency_block(_record(), cpu, threads=4)["peak_ops_per_s"] == 8e11


def test_lm_decode_against_the_bandwidth_roofline() -> None:
    compute = {"macs_per_item": 1e6, "per": "token", "bytes_per_decoded_token": 5e6}
    record = _record(compute=compute, throughput={"tokens_per_s": 500.0}, runtime={"inference_precision": "f32"})
    block = efficiency_block(record, PEAK)
    assert block["achieved_ops_per_s_offline"] == 2e6 * 500 and block["achieved_ops_per_s_single_stream"] is None
    assert block["decode_roofline_tok_per_s"] == pytest.approx(10e9 / 5e6)
    assert block["decode_share_of_bandwidth_roofline"] == pytest.approx(500 / 2000)
