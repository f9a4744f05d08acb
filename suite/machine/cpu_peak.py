"""The peak of the CPU found, derived as cores x clock x operations per cycle for the instruction sets present.

No vendor publishes an int8 ops/s figure for a general-purpose CPU, so the profiles of "whatever CPU this is"
(local-cpu, x86-server) derive theirs from ``/proc/cpuinfo`` and cpufreq (read under ``EDGEQ_SYSROOT``), and
say "derived" with the whole derivation, so a reader can check it against the CPU's own documentation.

Operations per cycle per core (one multiply-accumulate = 2 ops), from the vendors' instruction tables:

- AMX (``amx_int8``): 2048 int8 ops/cycle per core (Intel: AMX TMUL, 1024 int8 MACs per cycle), and 1024
  bf16/fp16 FLOPs (``amx_bf16``/``amx_fp16``).
- AVX-512 VNNI (``avx512_vnni``): VPDPBUSD does 64 int8 MACs per 512-bit instruction; two FMA ports
  assumed (server cores; client cores with one 512-bit port reach half) -> 256 ops/cycle.
- AVX-VNNI (``avx_vnni``), 256-bit: 32 MACs per instruction x 2 ports -> 128 ops/cycle.
- AVX-512BW without VNNI: VPMADDUBSW + VPMADDWD + VPADDD, three instructions for 64 MACs, two ports -> 128.
- AVX2: the same three-instruction chain on 256 bits -> 64 ops/cycle.
- Arm i8mm (``i8mm``): SMMLA, 32 MACs per 128-bit instruction x 2 SIMD pipes -> 128 ops/cycle.
- Arm dot product (``asimddp``): SDOT, 16 MACs per 128-bit instruction x 2 pipes -> 64 ops/cycle.
- Arm NEON without dot product: SMLAL/SMLAL2 widening MACs, 8 per instruction x 2 pipes -> 32 ops/cycle.

Float: FMA width x ports x 2 (AVX-512: 64 fp32 FLOPs/cycle, AVX2+FMA: 32, NEON 2 pipes: 16); fp16 at twice
fp32 where the hardware computes in fp16 (``avx512_fp16``, Arm ``asimdhp``), else at the fp32 rate.
Memory bandwidth cannot be read from the CPU and is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from suite.machine.detect import read_text

# (flag, label, ops per cycle per core, assumption), best first: the first flag present decides
INT8_PATHS: list[tuple[str, str, int, str]] = [
    ("amx_int8", "AMX int8", 2048, "one AMX TMUL unit per core"),
    ("avx512_vnni", "AVX-512 VNNI", 256, "2 x 512-bit FMA ports"),
    ("avx_vnni", "AVX-VNNI", 128, "2 x 256-bit ports"),
    ("avx512bw", "AVX-512BW (no VNNI)", 128, "2 x 512-bit ports, 3 instructions per 64 MACs"),
    ("avx2", "AVX2", 64, "2 x 256-bit ports, 3 instructions per 32 MACs"),
    ("i8mm", "Arm i8mm (SMMLA)", 128, "2 x 128-bit SIMD pipes"),
    ("asimddp", "Arm dot product (SDOT)", 64, "2 x 128-bit SIMD pipes"),
    ("asimd", "Arm NEON (SMLAL)", 32, "2 x 128-bit SIMD pipes"),
]
FP32_PATHS: list[tuple[str, str, int]] = [
    ("avx512f", "AVX-512 FMA", 64),
    ("fma", "AVX2 FMA", 32),
    ("asimd", "NEON FMLA", 16),
]
FP16_PATHS: list[tuple[str, str, int]] = [
    ("amx_fp16", "AMX fp16", 1024),
    ("avx512_fp16", "AVX-512 FP16", 128),
    ("asimdhp", "NEON fp16 FMLA", 32),
]


@dataclass(frozen=True)
class CpuFacts:
    """What the derivation needs: the model name, physical cores, max clock (Hz) and where it was read, flags."""

    model: str | None
    cores: int
    clock_hz: float | None
    clock_source: str
    flags: frozenset[str]


def _cores(text: str) -> int:
    """Physical cores: distinct (physical id, core id) pairs where the kernel lists them, else processors
    (a hyper-thread shares its core's vector units, so counting it would double the peak)."""
    pairs, processors = set(), 0
    physical = core = None
    for line in [*text.splitlines(), ""]:
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "processor":
            processors += 1
        elif key == "physical id":
            physical = value.strip()
        elif key == "core id":
            core = value.strip()
        elif not line.strip():
            if core is not None:
                pairs.add((physical, core))
            physical = core = None
    return len(pairs) or processors


def _clock(text: str, model: str | None) -> tuple[float | None, str]:
    """Max clock: cpufreq's cpuinfo_max_freq (kHz), else the GHz in the model name, else cpuinfo's MHz."""
    khz = read_text("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if khz and khz.isdigit() and int(khz) > 0:
        return int(khz) * 1e3, "cpufreq cpuinfo_max_freq"
    named = re.search(r"@\s*([\d.]+)\s*GHz", model or "")
    if named:
        return float(named.group(1)) * 1e9, "model name"
    mhz = re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.MULTILINE)
    if mhz and float(mhz.group(1)) > 0:
        return float(mhz.group(1)) * 1e6, "cpuinfo 'cpu MHz' (the clock at that moment)"
    return None, "not found (no cpufreq, no GHz in the model name, no 'cpu MHz')"


def cpu_facts() -> CpuFacts:
    text = read_text("/proc/cpuinfo") or ""
    model, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "model name" and model is None and value.strip():
            model = value.strip()
        elif key in ("flags", "features"):
            flags.update(value.split())
    clock, clock_source = _clock(text, model)
    return CpuFacts(model, _cores(text), clock, clock_source, frozenset(flags))


def _figure(value: float, derivation: str) -> dict[str, Any]:
    return {"value": value, "source": "derived", "counts_sparsity": False, "derivation": derivation}


def derive_cpu_peak(facts: CpuFacts | None = None) -> dict[str, Any]:
    """The peak block of the CPU found: int8 ops/s, fp16 and fp32 FLOP/s, each with its derivation; the
    per-core figures too, for a job that ran on fewer threads than there are cores. ``reason`` instead of
    figures when the cores or the clock cannot be read."""
    facts = facts or cpu_facts()
    block: dict[str, Any] = {
        "derived": "cpu",
        "cpu": facts.model,
        "cores": facts.cores,
        "clock_source": facts.clock_source,
    }
    if not facts.cores or not facts.clock_hz:
        return {**block, "reason": f"cannot derive: {facts.cores} cores, clock {facts.clock_source}"}
    ghz = facts.clock_hz / 1e9
    block["clock_ghz"] = round(ghz, 3)
    base = f"{facts.cores} cores x {ghz:.3g} GHz x"
    int8 = next((p for p in INT8_PATHS if p[0] in facts.flags), None)
    per_core: dict[str, float] = {}
    if int8 is not None:
        flag, label, ops, assumption = int8
        block["int8_ops_per_s"] = _figure(
            facts.cores * facts.clock_hz * ops, f"{base} {ops} int8 ops/cycle ({label}: {flag}; {assumption})"
        )
        per_core["int8_ops_per_s"] = facts.clock_hz * ops
    fp32 = next((p for p in FP32_PATHS if p[0] in facts.flags), None)
    if fp32 is not None:
        flag, label, flops = fp32
        block["fp32_flops"] = _figure(
            facts.cores * facts.clock_hz * flops, f"{base} {flops} fp32 FLOPs/cycle ({label}: {flag}; 2 ports)"
        )
        per_core["fp32_flops"] = facts.clock_hz * flops
    fp16 = next((p for p in FP16_PATHS if p[0] in facts.flags), None)
    if fp16 is not None:
        flag, label, flops = fp16
        block["fp16_flops"] = _figure(
            facts.cores * facts.clock_hz * flops, f"{base} {flops} fp16 FLOPs/cycle ({label}: {flag})"
        )
        per_core["fp16_flops"] = facts.clock_hz * flops
    elif fp32 is not None:
        block["fp16_flops"] = {
            **block["fp32_flops"],
            "derivation": block["fp32_flops"]["derivation"] + "; no fp16 arithmetic: fp16 runs at the fp32 rate",
        }
        per_core["fp16_flops"] = per_core["fp32_flops"]
    block["per_core"] = per_core
    return block


def resolve_peak(profile_peak: dict[str, Any] | None, gpu_names: list[str] | None = None) -> dict[str, Any] | None:
    """A profile's peak block as plain data, with the derived figures filled in: ``derived: cpu`` from the
    CPU found, ``derived: gpu`` from the datasheet table of the first GPU named (``suite.machine.gpu_peak``).
    Figures written in the profile win."""
    if profile_peak is None:
        return None
    written = {key: value for key, value in profile_peak.items() if value not in (None, "")}
    if written.get("derived") == "cpu":
        return {**derive_cpu_peak(), **written}
    if written.get("derived") == "gpu":
        from suite.machine.gpu_peak import gpu_peak

        found = next((peak for peak in map(gpu_peak, gpu_names or []) if peak), None)
        reason = {"reason": f"no datasheet peak for the GPU found ({', '.join(gpu_names or []) or 'none'})"}
        return {**(found or reason), **written}
    return written
