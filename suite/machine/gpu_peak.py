"""Datasheet peaks of the NVIDIA GPUs the ``nvidia-gpu`` profile may find, looked up by the name the
driver reports (``/proc/driver/nvidia/gpus/*/information`` or ``nvidia-smi``, ``suite.machine.detect``).

One profile stands for many cards, so its ``peak: {derived: gpu}`` is resolved here at run time. NVIDIA's
datasheets print the Tensor Core figures with 2:4 sparsity; the dense figure (half) is the one kept, and
a card not in the table has no peak (the efficiency block then says so) rather than a guess.
"""

from __future__ import annotations

import re
from typing import Any

# (substring of the driver's name, datasheet, int8 dense ops/s, fp16 dense FLOP/s, fp32 FLOP/s, bytes/s, max W)
# Most specific names first: "H100 PCIe" before "H100".
GPUS: list[tuple[str, str, float, float, float, float, float]] = [
    (
        "H100 PCIe",
        "NVIDIA H100 Tensor Core GPU datasheet (H100 PCIe: INT8 3,026 TOPS and FP16 1,513 TFLOPS with sparsity, "
        "FP32 51 TFLOPS, 2,000 GB/s), as tabulated by HPC Tech (archive-lib.hpctech.co.jp); 350 W: NVIDIA H100 "
        "PCIe product brief PB-11133-001",
        1513e12,
        756.5e12,
        51e12,
        2.0e12,
        350,
    ),
    (
        "H100 NVL",
        "not confirmed here: NVIDIA H100 Tensor Core GPU datasheet (H100 NVL: INT8 3,341 TOPS and FP16 1,671 "
        "TFLOPS with sparsity, FP32 60 TFLOPS, 3.9 TB/s, 350-400 W); no search result gave these figures",
        1670.5e12,
        835e12,
        60e12,
        3.9e12,
        400,
    ),
    (
        "H100",
        "NVIDIA H100 Tensor Core GPU datasheet (H100 SXM: INT8 3,958 TOPS and FP16 1,979 TFLOPS with sparsity, "
        "FP32 67 TFLOPS, 3,350 GB/s, 700 W), as tabulated by HPC Tech (archive-lib.hpctech.co.jp)",
        1979e12,
        989.5e12,
        67e12,
        3.35e12,
        700,
    ),
    (
        "H200",
        "NVIDIA H200 Tensor Core GPU datasheet (H200 SXM: the H100 SXM's compute, 4.8 TB/s HBM3e, 700 W), as "
        "tabulated by lzwjava.github.io, 'NVIDIA H200 GPU Specifications' and aiminingco.com",
        1979e12,
        989.5e12,
        67e12,
        4.8e12,
        700,
    ),
    (
        "A100-SXM4-80GB",
        "NVIDIA A100 Tensor Core GPU datasheet (nvidia-a100-datasheet-us-nvidia-1758950-r4; A100 80GB SXM: INT8 "
        "1,248 TOPS and FP16 624 TFLOPS with sparsity, FP32 19.5 TFLOPS, 2,039 GB/s, 400 W), as tabulated by "
        "G. Lockwood, 'A100'",
        624e12,
        312e12,
        19.5e12,
        2.039e12,
        400,
    ),
    (
        "A100 80GB PCIe",
        "NVIDIA A100 Tensor Core GPU datasheet (A100 80GB PCIe: compute as the SXM part, as tabulated by "
        "G. Lockwood, 'A100'); not confirmed here: 1,935 GB/s and 300 W (a launch report, nvplay.ru after "
        "Videocardz, gives 250 W)",
        624e12,
        312e12,
        19.5e12,
        1.935e12,
        300,
    ),
    (
        "L4",
        "NVIDIA L4 Tensor Core GPU datasheet (INT8 485 TOPS and FP16 242 TFLOPS with sparsity, FP32 30.3 TFLOPS, "
        "300 GB/s, 72 W), as listed by Source Code (store.sourcecode.com) and Grokipedia, 'NVIDIA L4 vs L40S'",
        242.5e12,
        121e12,
        30.3e12,
        300e9,
        72,
    ),
]


def gpu_peak(name: str) -> dict[str, Any] | None:
    """The peak block of the GPU called ``name`` (e.g. ``NVIDIA H100 80GB HBM3``), or None if unknown."""
    for needle, sheet, int8, fp16, fp32, bandwidth, watts in GPUS:
        if re.search(r"(?<![\w-])" + re.escape(needle) + r"(?!\w)", name, re.IGNORECASE):  # L4 is not L40S
            source = f"datasheet: {sheet}"

            def figure(value: float, what: str = "", source: str = source) -> dict[str, Any]:
                return {"value": value, "source": source + what, "counts_sparsity": False}

            return {
                "derived": "gpu",
                "gpu": name,
                "int8_ops_per_s": figure(int8, "; dense, half the sparse figure printed"),
                "fp16_flops": figure(fp16, "; Tensor Core, dense, half the sparse figure printed"),
                "fp32_flops": figure(fp32),
                "memory_bw_bytes_per_s": figure(bandwidth),
                "max_w": figure(float(watts)),
            }
    return None
