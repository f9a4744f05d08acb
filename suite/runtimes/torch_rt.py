"""PyTorch as a runtime: a ``torch.export`` program run eagerly on the CPU or a CUDA GPU.

Profile options (``runtimes: - name: torch, options: {...}``):

- ``device``: ``cpu`` (default), ``cuda`` or ``cuda:N``; ``dtype``: ``float32`` (default), ``float16``,
  ``bfloat16`` (weights and inputs are cast; the logits come back as float32);
- ``cuda_graphs`` (default true on CUDA): each input shape is captured once as a CUDA graph and
  replayed. Small-batch GPU inference is launch-bound (a batch-1 ResNet-50 runs several times faster
  replayed as a graph: the figures reported in issue 4 are in docs/benchmarks.md), so SingleStream on a
  GPU means little without graphs;
- ``compile``: false (default) or a ``torch.compile`` mode (``default``, ``reduce-overhead``,
  ``max-autotune``); ``reduce-overhead`` brings its own CUDA graphs, so ours are turned off with it.

Timing honesty: ``run`` copies the numpy input to the device, runs, and copies the output back to the
host; the device-to-host copy blocks until the GPU has finished, so every timed call ends with the
device synchronised (and an explicit ``torch.cuda.synchronize()`` follows a graph replay). A CUDA
device that is not there fails the job with the reason; it never falls back to the CPU silently.
Run side: torch is imported when a session is made, never at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import RuntimeSpec
from suite.errors import BadInput, JobFailed
from suite.runtimes.base import Runtime, RuntimeStatus, Session

DTYPES = ("float32", "float16", "bfloat16")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")
MAX_GRAPHS = 8  # distinct input shapes captured; further shapes run eagerly


def parse_options(options: dict[str, Any]) -> dict[str, Any]:
    """Validated torch runtime options with their defaults (a typo is a BadInput, not a silent default)."""
    known = {"device", "dtype", "cuda_graphs", "compile", "warmup"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise BadInput(f"runtime torch: unknown option {unknown[0]!r} (known: {', '.join(sorted(known))})")
    device = str(options.get("device", "cpu"))
    if not (device == "cpu" or device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
        raise BadInput(f"runtime torch: device: got {device!r}, expected cpu, cuda or cuda:N")
    dtype = str(options.get("dtype", "float32"))
    if dtype not in DTYPES:
        raise BadInput(f"runtime torch: dtype: got {dtype!r}, expected one of {', '.join(DTYPES)}")
    compile_mode = options.get("compile", False)
    if compile_mode not in (False, None, *COMPILE_MODES):
        raise BadInput(
            f"runtime torch: compile: got {compile_mode!r}, expected false or one of {', '.join(COMPILE_MODES)}"
        )
    cuda_graphs = bool(options.get("cuda_graphs", device.startswith("cuda"))) and device.startswith("cuda")
    if compile_mode == "reduce-overhead":
        cuda_graphs = False
    return {
        "device": device,
        "dtype": dtype,
        "cuda_graphs": cuda_graphs,
        "compile": compile_mode or False,
        "warmup": int(options.get("warmup", 3)),
    }


class TorchSession(Session):
    def __init__(self, path: Path, spec: RuntimeSpec) -> None:
        import torch

        self.torch = torch
        self.opts = parse_options(spec.options)
        device = self.opts["device"]
        if device.startswith("cuda"):
            if not torch.cuda.is_available():
                build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
                raise JobFailed(
                    f"torch: device {device} requested but CUDA is not available (torch {torch.__version__} is {build}, or no GPU/driver)"
                )
            index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
            if index >= torch.cuda.device_count():
                raise JobFailed(
                    f"torch: device {device} requested but only {torch.cuda.device_count()} CUDA device(s) are visible"
                )
        if spec.threads and device == "cpu":
            torch.set_num_threads(spec.threads)
        self.device = torch.device(device)
        self.dtype = getattr(torch, self.opts["dtype"])
        try:
            program = torch.export.load(str(path))
        except Exception as exc:
            raise JobFailed(f"{path}: torch.export.load cannot read it: {' '.join(str(exc).split())[:200]}") from None
        # the exported GraphModule, or what torch.compile makes of it: either is called on a batch
        module: Callable[..., Any] = program.module().to(device=self.device, dtype=self.dtype)
        if self.opts["compile"]:
            module = torch.compile(module, mode=self.opts["compile"])
        self.module = module
        self.threads = torch.get_num_threads() if device == "cpu" else None
        self._graphs: dict[tuple[int, ...], tuple[Any, Any, Any]] = {}
        self._use_graphs = bool(self.opts["cuda_graphs"])
        self.run = self._run

    # -- execution ------------------------------------------------------------------------------
    def _eager(self, x: np.ndarray) -> Any:
        torch = self.torch
        with torch.inference_mode():
            xt = torch.from_numpy(np.ascontiguousarray(x)).to(device=self.device, dtype=self.dtype)
            out = self.module(xt)
            if isinstance(out, (tuple, list)):
                out = out[0]
            return out.to(device="cpu", dtype=torch.float32)  # blocks until the device is done

    def _capture(self, shape: tuple[int, ...]) -> tuple[Any, Any, Any]:
        torch = self.torch
        with torch.inference_mode():
            static_in = torch.zeros(shape, device=self.device, dtype=self.dtype)
            side = torch.cuda.Stream(device=self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):  # warm-up outside the graph (allocator, cuDNN autotune)
                for _ in range(max(1, self.opts["warmup"])):
                    self.module(static_in)
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):  # a private memory pool per graph: replays may come in any order
                static_out = self.module(static_in)
            if isinstance(static_out, (tuple, list)):
                static_out = static_out[0]
        torch.cuda.synchronize(self.device)
        return graph, static_in, static_out

    def _run(self, x: np.ndarray) -> Any:
        if not self._use_graphs:
            return self._eager(x)
        shape = tuple(x.shape)
        entry = self._graphs.get(shape)
        if entry is None:
            if len(self._graphs) >= MAX_GRAPHS:
                return self._eager(x)
            entry = self._graphs[shape] = self._capture(shape)
        graph, static_in, static_out = entry
        torch = self.torch
        with torch.inference_mode():
            static_in.copy_(torch.from_numpy(np.ascontiguousarray(x)))
            graph.replay()
            out = static_out.to(device="cpu", dtype=torch.float32)
        torch.cuda.synchronize(self.device)
        return out

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.run(batch).numpy())

    def info(self) -> dict[str, Any]:
        torch = self.torch
        cuda = self.device.type == "cuda"
        provider = f"{self.device.type}:{self.opts['dtype']}"
        if self.opts["cuda_graphs"]:
            provider += "+cudagraphs"
        if self.opts["compile"]:
            provider += f"+compile:{self.opts['compile']}"
        return {
            "name": "torch",
            "version": torch.__version__,
            "provider": provider,
            "providers_requested": [str(self.device)],
            "providers_missing": [],
            "fallback": False,
            "threads": self.threads,
            "delegate": None,
            "dtype": self.opts["dtype"],
            "cuda_graphs": self.opts["cuda_graphs"],
            "graphs_captured": len(self._graphs),
            "compile": self.opts["compile"],
            "device_name": torch.cuda.get_device_name(self.device) if cuda else None,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if cuda else None,
        }


class TorchRuntime(Runtime):
    def version(self) -> str:
        import torch

        return torch.__version__

    def status(self, spec: RuntimeSpec) -> RuntimeStatus:
        """Is torch installed, and for a CUDA entry, is there a GPU (and native bf16 where asked)?"""
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            return RuntimeStatus("torch", False, "torch is not installed")
        opts = parse_options(spec.options)
        import torch

        summary = f"torch {torch.__version__}, {opts['device']} {opts['dtype']}" + (
            " with CUDA graphs" if opts["cuda_graphs"] else ""
        )
        if opts["device"].startswith("cuda"):
            if not torch.cuda.is_available():
                build = (
                    f"CUDA {torch.version.cuda} build, no usable GPU/driver"
                    if torch.version.cuda
                    else "a CPU-only build"
                )
                return RuntimeStatus(
                    "torch", False, f"{summary}: CUDA is not available (torch is {build}); these jobs will fail"
                )
            summary += f" on {torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"
            if opts["dtype"] == "bfloat16" and not torch.cuda.is_bf16_supported():
                return RuntimeStatus(
                    "torch", True, summary, notes=["this GPU has no native bfloat16: bf16 is emulated and slow"]
                )
        return RuntimeStatus("torch", True, summary)

    def label(self, spec: dict[str, Any]) -> str:
        dtype = (spec.get("options") or {}).get("dtype")
        return f"torch {dtype}" if dtype else "torch"

    def load(self, path: Path, spec: RuntimeSpec) -> TorchSession:
        return TorchSession(path, spec)
