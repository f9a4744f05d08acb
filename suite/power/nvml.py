"""NVIDIA GPU energy through NVML (``nvidia-ml-py``, ``import pynvml``; docs/formats.md, "NVIDIA GPUs: NVML").

Preferred: ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the driver loaded; Volta and newer),
differenced over the window: method ``energy_counter``. The counter updates every ~20-100 ms, so a
window shorter than about a second carries that much edge error (recorded as ``counter_resolution``).
Older GPUs: ``nvmlDeviceGetPowerUsage`` (mW) polled and integrated; on Ampere (except GA100) and newer
that value is a 1 s moving average, so it lags the load (the record says so). The boundary is the GPU
board (``gpu_board``): the host CPU, memory and PSU losses are outside it. Jetson modules have no
NVML power (``nvidia-smi`` shows N/A): use ``ina3221`` there.
"""

from __future__ import annotations

import os
import time
from typing import Any

from suite.power.base import EnergyReading, PowerSensor, Probe, WindowError
from suite.power.sampling import PolledSampler, integrate

INSTALL_HINT = "pip install nvidia-ml-py (the 'gpu' extra: pip install -e '.[gpu]')"


def _default_index() -> int:
    """The first GPU that CUDA sees, when CUDA_VISIBLE_DEVICES names it by number (else NVML's 0)."""
    first = (os.environ.get("CUDA_VISIBLE_DEVICES") or "").split(",")[0].strip()
    return int(first) if first.isdigit() else 0


class NvmlSensor(PowerSensor):
    name = "nvml"
    boundary = "gpu_board"
    method = "energy_counter"

    def __init__(self, index: int | None = None, period_s: float = 0.1) -> None:
        self.index = _default_index() if index is None else index
        self.period_s = period_s
        self._nvml: Any = None
        self._handle: Any = None
        self._counter = False
        self._e0 = 0
        self._t0 = 0.0
        self._sampler: PolledSampler | None = None
        self._name = ""

    def _init(self) -> None:
        import pynvml

        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(self.index)
        name = pynvml.nvmlDeviceGetName(self._handle)
        self._name = name.decode() if isinstance(name, bytes) else str(name)
        try:
            pynvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
            self._counter = True
        except pynvml.NVMLError:
            self._counter = False
            pynvml.nvmlDeviceGetPowerUsage(self._handle)  # raises NotSupported where there is no power reading

    def probe(self) -> Probe:
        try:
            import pynvml  # noqa: F401
        except ImportError:
            return Probe("unavailable", f"nvidia-ml-py is not installed ({INSTALL_HINT})")
        try:
            self._init()
        except Exception as exc:  # pynvml.NVMLError subclasses: LibraryNotFound, DriverNotLoaded, NotSupported ...
            text = str(exc) or type(exc).__name__
            if "Permission" in text or "NoPermission" in type(exc).__name__:
                return Probe(
                    "needs_privilege", f"NVML GPU {self.index}: {text}", "run as a user with access to /dev/nvidia*"
                )
            return Probe("unavailable", f"NVML GPU {self.index}: {text}")
        return Probe("available")

    def start(self) -> None:
        if self._handle is None:
            self._init()
        nvml, handle = self._nvml, self._handle
        if self._counter:
            self.method = "energy_counter"
            self._e0 = nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            self._t0 = time.time()
        else:
            self.method = "integrated_samples"
            self._sampler = PolledSampler(
                lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0, self.period_s, "nvml-poll"
            )
            self._t0 = self._sampler.start()

    def stop(self) -> EnergyReading:
        detail: dict[str, Any] = {"gpu": self._name, "index": self.index}
        if self._counter:
            e1 = self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
            t1 = time.time()
            energy = (e1 - self._e0) / 1000.0
            if energy < 0:
                raise WindowError(f"the NVML energy counter went backwards ({self._e0} -> {e1} mJ; driver reloaded?)")
            samples = 2
            detail["counter_resolution"] = (
                "the counter updates every ~20-100 ms: windows under ~1 s carry that edge error"
            )
        else:
            assert self._sampler is not None
            t1 = self._sampler.stop()
            energy, samples = integrate(self._sampler.samples, self._t0, t1)
            detail["averaging"] = (
                "nvmlDeviceGetPowerUsage is a 1 s moving average on Ampere and newer (except GA100): it lags the load"
            )
        detail.update(t_start_unix=self._t0, t_end_unix=t1)
        return EnergyReading(energy, t1 - self._t0, samples, self.boundary, self.method, detail)
