"""Why is this quantized artifact not faster than fp32? One line naming the usual causes, from evidence.

The evidence is in the record: the provider that really ran (``runtime.fallback``), where ONNX
Runtime placed each node and in which precision (``runtime.placement``, from its profiling output),
the artifact's precision map, the method's parameters and the CPU. The causes checked, in order:

- CPU fallback: the profile's first provider (TensorRT, CUDA ...) is not what ran, or nodes fell back;
- unfused Q/DQ pairs: compute nodes ran in float between QuantizeLinear/DequantizeLinear nodes, so the
  quantized model pays for conversions and gains no integer kernel;
- int8 activations on an x86 CPU: VNNI/AVX2 integer kernels multiply uint8 activations by int8 weights;
  signed activations take a slower path (``activation_type: uint8``);
- dynamic quantization of convolutions: ``ConvInteger`` quantizes activations at run time and is
  followed by float rescaling nodes; ORT's CPU provider has no fused kernel for it;
- a half-precision artifact computed in fp32: the file holds fp16/bf16 weights but the placement shows
  the compute nodes ran in fp32 (ONNX Runtime's CPU provider casts them up), so there was no
  half-precision arithmetic to gain from.

When none applies the line says so and states what the placement did show (compute nodes per
precision and provider), never more: an fp16 artifact on the CPU provider is not "integer".
"""

from __future__ import annotations

from typing import Any

FASTER = 1.05  # a speed-up under 5% is within the noise of these runs: "not faster"
X86 = ("x86_64", "AMD64", "i686", "x86")


def _speedup(fp32: float | None, quant: float | None, higher_is_better: bool) -> float | None:
    if not fp32 or not quant:
        return None
    return quant / fp32 if higher_is_better else fp32 / quant


def causes(record: dict[str, Any]) -> list[str]:
    """The causes the record's evidence supports (may be empty)."""
    found: list[str] = []
    rt = record.get("runtime") or {}
    placement = rt.get("placement") or {}
    by_provider: dict[str, dict[str, int]] = placement.get("by_provider") or {}
    requested = rt.get("providers_requested") or []
    if rt.get("fallback"):
        missing = rt.get("providers_missing") or []
        why = f" ({', '.join(missing)} not in this build)" if missing else ""
        found.append(f"CPU fallback: asked for {requested[0] if requested else '?'}{why}, {rt.get('provider')} ran it")
    elif requested and requested[0] != "CPUExecutionProvider" and "CPUExecutionProvider" in by_provider:
        n = sum(by_provider["CPUExecutionProvider"].values())
        found.append(
            f"CPU fallback: {n} of {placement.get('nodes')} nodes ran on CPUExecutionProvider, not {requested[0]}"
        )
    compute: dict[str, int] = placement.get("compute") or {}
    float_compute = sum(n for key, n in compute.items() if key.split(":")[-1] in ("fp32", "fp16", "bf16"))
    qdq = placement.get("qdq_nodes") or 0
    ops = placement.get("ops") or {}
    dynamic_conv = ops.get("ConvInteger", 0)
    if float_compute and qdq > 2 and not dynamic_conv:  # beyond one Q at the input and one DQ at the output
        found.append(f"unfused Q/DQ pairs: {float_compute} compute node(s) ran in float between {qdq} Q/DQ nodes")
    dtypes: dict[str, int] = placement.get("activation_dtypes") or {}
    arch = ((record.get("environment") or {}).get("cpu") or {}).get("arch")
    on_cpu = (rt.get("provider") or "CPUExecutionProvider") == "CPUExecutionProvider"
    params = (record.get("method") or {}).get("params") or {}
    # The placement is the evidence when there is one: ONNX Runtime rewrites int8 QDQ activations to
    # uint8 on x86 where it can (seen as uint8 inputs), and then they are not the cause.
    signed = dtypes.get("int8", 0) > 0 if dtypes else params.get("activation_type") == "int8"
    if on_cpu and arch in X86 and signed:
        found.append(
            "int8 activations on an x86 CPU: its integer kernels want uint8 activations x int8 weights (activation_type: uint8)"
        )
    if dynamic_conv:
        found.append(
            f"dynamic quantization of convolutions: {dynamic_conv} ConvInteger node(s) quantize activations at run time and rescale in float (use static QDQ)"
        )
    half = [p for p in ("fp16", "bf16") if ((record.get("artifact") or {}).get("precision_map") or {}).get(p)]
    ran = _compute_by_precision(compute)
    if half and ran.get("fp32") and not any(ran.get(p) for p in ("fp16", "bf16")):
        found.append(
            f"{'/'.join(half)} artifact computed in fp32: {ran['fp32']} compute node(s) ran in fp32 on "
            f"{rt.get('provider') or 'the provider'}, which casts the {'/'.join(half)} weights up (no half-precision arithmetic to gain)"
        )
    return found


def _compute_by_precision(compute: dict[str, int]) -> dict[str, int]:
    """``{"Conv:fp32": 2, "QGemm:int8": 1}`` -> ``{"fp32": 2, "int8": 1}``."""
    out: dict[str, int] = {}
    for key, n in compute.items():
        precision = key.split(":")[-1]
        out[precision] = out.get(precision, 0) + n
    return out


def placement_summary(record: dict[str, Any]) -> str:
    """What the placement showed, in words: compute nodes per precision on the provider that ran them."""
    rt = record.get("runtime") or {}
    placement = rt.get("placement") or {}
    ran = _compute_by_precision(placement.get("compute") or {})
    if not ran:
        return (
            "this runtime reports no per-node placement" if not placement else "the placement counted no compute nodes"
        )
    counts = ", ".join(f"{n} {p}" for p, n in sorted(ran.items(), key=lambda kv: -kv[1]))
    return f"compute nodes ran as {counts} on {rt.get('provider') or 'the requested provider'}"


def diagnose(record: dict[str, Any], fp32: dict[str, Any]) -> dict[str, Any]:
    """Compare a record with its fp32 baseline (same task, target, runtime); add causes when not faster."""
    lat, flat = record.get("latency") or {}, fp32.get("latency") or {}
    thr, fthr = record.get("throughput") or {}, fp32.get("throughput") or {}
    s_p50 = _speedup(flat.get("p50_ms"), lat.get("p50_ms"), higher_is_better=False)
    s_thr = _speedup(fthr.get("items_per_s"), thr.get("items_per_s"), higher_is_better=True)
    # Faster means faster on every scenario measured: a SingleStream slowdown is what an edge user feels.
    slower_on = [name for name, s in (("latency", s_p50), ("throughput", s_thr)) if s is not None and s < FASTER]
    faster = not slower_on
    out: dict[str, Any] = {
        "baseline_job": fp32.get("job_id"),
        "speedup_p50": s_p50,
        "speedup_items_per_s": s_thr,
        "faster": faster,
        "causes": [],
        "line": None,
    }
    if faster:
        return out
    found = causes(record)
    if not found:
        p50 = lat.get("p50_ms") or 0
        if p50 and p50 < 0.1:
            found = [
                f"no known cause; at {p50 * 1000:.0f} us per call the fixed per-call overhead dominates, not the arithmetic"
            ]
        else:
            found = [f"no known cause found ({placement_summary(record)})"]
    out["causes"] = found
    speed = ", ".join(x for x in (f"{s_p50:.2f}x p50" if s_p50 else "", f"{s_thr:.2f}x items/s" if s_thr else "") if x)
    out["not_faster_on"] = slower_on
    out["line"] = f"not faster than fp32 in {' and '.join(slower_on)} ({speed}): " + "; ".join(found)
    return out
