"""A record's achieved operations set against its hardware's peak: the ``efficiency`` block.

Plain Python over a record-like dict (no onnx; its one import is the record vocabulary), so the run side
may call it when it writes a record and ``publish`` may call it on records written before the block existed.

- achieved ops/s = 2 x MACs per item x items/s: Offline from ``throughput.items_per_s``, SingleStream from
  ``1000 / latency.p50_ms`` (one item per query); for a causal LM the item is a decoded token
  (its rate: ``suite.records.fields.OFFLINE_RATE``).
- share of peak: against the peak of the precision that ran, read from the runtime's own report
  (``runtime.inference_precision``: ``int8``, ``f16``, ``f32`` or a mix such as ``int8+f32``), else the
  artifact's nominal bits. A mix is set against the fastest precision in it: the layers that ran slower
  cannot lift the whole above that peak, so the share is never overstated.
- ops per joule when the power was measured (``power.status == "measured"``), over the Offline rate.
- LM decode: the memory-bandwidth roofline is bandwidth / bytes moved per decoded token (weights + KV
  cache read), and the share is the measured decode rate over it.

Emulated records (``environment.emulated``) get none: their speed is not the hardware's.
"""

from __future__ import annotations

from typing import Any

from suite.records.fields import OFFLINE_RATE

#: runtime.inference_precision label -> the peak key it is set against
PRECISION_PEAK = {
    "int8": "int8_ops_per_s",
    "uint8": "int8_ops_per_s",
    "int4": "int8_ops_per_s",  # int4 weights run on int8 (or float) kernels on every runtime here
    "f16": "fp16_flops",
    "fp16": "fp16_flops",
    "bf16": "fp16_flops",
    "f32": "fp32_flops",
    "fp32": "fp32_flops",
}


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def compute_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """The record's compute block: top-level ``compute``, else the one stored with the artifact."""
    found = record.get("compute") or _get(record, "artifact", "details", "work")
    return found if isinstance(found, dict) else None  # a method's own note in details is no block


def ran_precisions(record: dict[str, Any]) -> tuple[list[str], str]:
    """The precisions that ran and where that was read."""
    reported = _get(record, "runtime", "inference_precision")
    if reported:
        return [p.strip().lower() for p in str(reported).split("+") if p.strip()], "runtime.inference_precision"
    weight_bits = _get(record, "artifact", "weight_bits")
    activation_bits = _get(record, "artifact", "activation_bits")
    if weight_bits and activation_bits and weight_bits <= 8 and activation_bits <= 8:
        return ["int8"], "artifact bits"
    if weight_bits == 16 and (activation_bits in (None, 16)):
        return ["f16"], "artifact bits"
    return ["f32"], "artifact bits"


def _peak_value(peak: dict[str, Any], key: str) -> float | None:
    figure = peak.get(key)
    value = figure.get("value") if isinstance(figure, dict) else figure
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _source(figure: Any) -> str | None:
    """Where a peak figure comes from: its source, with the derivation of a derived one."""
    if not isinstance(figure, dict) or not figure.get("source"):
        return None
    derivation = figure.get("derivation")
    return f"{figure['source']}: {derivation}" if derivation else str(figure["source"])


def _share(achieved: float | None, peak: float | None) -> float | None:
    return None if achieved is None or not peak else achieved / peak


def efficiency_block(
    record: dict[str, Any], peak: dict[str, Any] | None, threads: int | None = None
) -> dict[str, Any] | None:
    """The ``efficiency`` block of ``record`` against ``peak`` (a resolved profile peak block, plain data).

    ``threads``: the job ran on that many cores of a CPU whose peak was derived for all of them; the share
    is then against ``per_core`` x threads. None for emulated records; a block with ``reason`` when the
    record has no MAC count or no peak to set it against."""
    if _get(record, "environment", "emulated"):
        return None
    compute = compute_of(record) or {}
    macs = compute.get("macs_per_item")
    if not macs:
        return {"reason": compute.get("reason") or "no MAC count for this artifact (no compute block)"}
    ops_per_item = 2.0 * float(macs)
    per_token = compute.get("per") == "token"
    offline_rate = _get(record, *OFFLINE_RATE["token" if per_token else "item"].split("."))
    p50_ms = _get(record, "latency", "p50_ms")
    single_rate = 1000.0 / p50_ms if (p50_ms and not per_token) else None
    block: dict[str, Any] = {
        "ops_per_item": ops_per_item,
        "achieved_ops_per_s_offline": ops_per_item * offline_rate if offline_rate else None,
        "achieved_ops_per_s_single_stream": ops_per_item * single_rate if single_rate else None,
    }
    watts = _get(record, "power", "avg_w") if _get(record, "power", "status") == "measured" else None
    if watts and block["achieved_ops_per_s_offline"]:
        block["ops_per_joule"] = block["achieved_ops_per_s_offline"] / watts
        block["tops_per_w"] = block["ops_per_joule"] / 1e12
    if not peak:
        return {**block, "reason": "the target's profile has no peak block"}
    precisions, read_from = ran_precisions(record)
    keys = [PRECISION_PEAK[p] for p in precisions if p in PRECISION_PEAK]
    per_core = peak.get("per_core") or {}
    scale_cores = bool(threads and per_core and peak.get("cores") and threads < peak["cores"])

    def peak_of(key: str) -> float | None:
        if scale_cores and per_core.get(key):
            return float(per_core[key]) * threads  # type: ignore[operator]
        return _peak_value(peak, key)

    candidates = [(peak_of(key), key) for key in keys if peak_of(key)]
    if candidates:
        peak_value, peak_key = max(candidates)
        block.update(
            {
                "precision": "+".join(precisions),
                "precision_from": read_from,
                "peak_key": peak_key,
                "peak_ops_per_s": peak_value,
                "peak_source": _source(peak.get(peak_key)),
                "peak_basis": f"{threads} of {peak['cores']} cores" if scale_cores else "whole device",
                "share_of_peak_offline": _share(block["achieved_ops_per_s_offline"], peak_value),
                "share_of_peak_single_stream": _share(block["achieved_ops_per_s_single_stream"], peak_value),
            }
        )
    else:
        block["reason"] = f"no peak figure for the precision that ran ({'+'.join(precisions) or 'unknown'})"
    bandwidth = _peak_value(peak, "memory_bw_bytes_per_s")
    moved = compute.get("bytes_per_decoded_token")
    if per_token and bandwidth and moved:
        roofline = bandwidth / float(moved)
        block["decode_roofline_tok_per_s"] = roofline
        block["decode_share_of_bandwidth_roofline"] = _share(offline_rate, roofline)
    return block
