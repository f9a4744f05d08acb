"""The CPU peak derivation on fake /proc/cpuinfo and cpufreq trees (EDGEQ_SYSROOT)."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.machine.cpu_peak import derive_cpu_peak, resolve_peak
from tests.support.boards import ORIN_CPUINFO_CORE, write

XEON_CORE = (
    "processor\t: {n}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\n"
    "physical id\t: 0\ncore id\t\t: {core}\ncpu MHz\t\t: 1000.000\n"
    "flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512_vnni\n\n"
)
RPI5_CORE = (
    "processor\t: {n}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp "
    "asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU part\t: 0xd0b\n\n"
)


@pytest.fixture
def sysroot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDGEQ_SYSROOT", str(tmp_path))
    return tmp_path


def test_cascade_lake_vnni_counts_physical_cores_at_the_model_name_clock(sysroot: Path) -> None:
    # 2 physical cores with 2 hyper-threads each: 4 processors, 2 cores
    text = "".join(XEON_CORE.format(n=n, core=n // 2) for n in range(4))
    write(sysroot, "/proc/cpuinfo", text)
    peak = derive_cpu_peak()
    assert peak["cores"] == 2 and peak["clock_ghz"] == 2.1 and peak["clock_source"] == "model name"
    assert peak["int8_ops_per_s"]["value"] == 2 * 2.1e9 * 256
    assert "AVX-512 VNNI" in peak["int8_ops_per_s"]["derivation"] and peak["int8_ops_per_s"]["source"] == "derived"
    assert peak["fp32_flops"]["value"] == 2 * 2.1e9 * 64
    assert peak["fp16_flops"]["value"] == peak["fp32_flops"]["value"]  # no avx512_fp16: fp16 at the fp32 rate
    assert peak["per_core"]["int8_ops_per_s"] == 2.1e9 * 256


def test_cpufreq_max_clock_wins_and_arm_dot_product_is_found(sysroot: Path) -> None:
    write(sysroot, "/proc/cpuinfo", "".join(RPI5_CORE.format(n=n) for n in range(4)))
    write(sysroot, "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "2400000\n")
    peak = derive_cpu_peak()
    assert peak["cores"] == 4 and peak["clock_source"] == "cpufreq cpuinfo_max_freq"
    assert peak["int8_ops_per_s"]["value"] == pytest.approx(4 * 2.4e9 * 64)
    assert "SDOT" in peak["int8_ops_per_s"]["derivation"]
    assert peak["fp16_flops"]["value"] == pytest.approx(4 * 2.4e9 * 32)  # asimdhp: fp16 at twice fp32
    assert peak["fp32_flops"]["value"] == pytest.approx(4 * 2.4e9 * 16)


def test_no_clock_gives_a_reason_not_a_number(sysroot: Path) -> None:
    write(sysroot, "/proc/cpuinfo", "".join(ORIN_CPUINFO_CORE.format(n=n) for n in range(6)))
    peak = derive_cpu_peak()
    assert "int8_ops_per_s" not in peak and "cannot derive" in peak["reason"]


def test_profile_figures_win_over_derived_ones(sysroot: Path) -> None:
    write(sysroot, "/proc/cpuinfo", "".join(RPI5_CORE.format(n=n) for n in range(4)))
    write(sysroot, "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "2400000\n")
    typical = {"value": 5.0, "source": "datasheet X", "counts_sparsity": False}
    resolved = resolve_peak({"derived": "cpu", "typical_w": typical, "max_w": None})
    assert resolved["typical_w"] == typical and "max_w" not in resolved
    assert resolved["int8_ops_per_s"]["source"] == "derived"
    assert resolve_peak({"int8_ops_per_s": typical}) == {"int8_ops_per_s": typical}


def test_a_gpu_profile_takes_the_datasheet_figures_of_the_gpu_found() -> None:
    from suite.machine.gpu_peak import gpu_peak

    h100 = resolve_peak({"derived": "gpu"}, ["NVIDIA H100 80GB HBM3"])
    assert h100["int8_ops_per_s"]["value"] == 1979e12 and "H100 SXM" in h100["int8_ops_per_s"]["source"]
    assert gpu_peak("NVIDIA H100 PCIe")["max_w"]["value"] == 350
    assert gpu_peak("NVIDIA L4")["memory_bw_bytes_per_s"]["value"] == 300e9
    assert gpu_peak("NVIDIA L40S") is None  # not the L4
    unknown = resolve_peak({"derived": "gpu"}, ["NVIDIA GeForce GTX 1080"])
    assert "int8_ops_per_s" not in unknown and "GTX 1080" in unknown["reason"]
