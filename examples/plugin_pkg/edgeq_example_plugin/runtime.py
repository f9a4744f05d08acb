"""``example-ort``: the example runtime of the plugin guide (docs/plugins.md).

ONNX Runtime on the CPU with every graph optimization turned off and sequential execution: what the
model costs as written, before ORT fuses or folds anything. Threads come from the profile entry
(``threads: 1`` = one core). It answers ``status()`` (for ``edgeq doctor``) and ``label()`` (for the
sweep's table) itself, like the built-in runtimes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import RuntimeSpec
from suite.errors import JobFailed
from suite.runtimes.base import Runtime, RuntimeStatus, Session, threads_label

CPU = "CPUExecutionProvider"


class ExampleOrtSession(Session):
    def __init__(self, path: Path, spec: RuntimeSpec) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = spec.threads  # 0: ONNX Runtime's default
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=[CPU])
        except Exception as exc:  # ORT's own exception types
            raise JobFailed(f"{path}: example-ort cannot load it: {str(exc).splitlines()[0]}") from None
        self.spec = spec
        feed, outs = self.session.get_inputs()[0].name, [self.session.get_outputs()[0].name]
        run = self.session.run
        self.run = lambda x: run(outs, {feed: x})  # the exact call the timing loops time

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.run(batch)[0])

    def info(self) -> dict[str, Any]:
        import onnxruntime as ort

        requested = list(self.spec.providers) or [CPU]
        provider = self.session.get_providers()[0]
        return {
            "name": "example-ort",
            "version": ort.__version__,
            "provider": provider,
            "providers_requested": requested,
            "fallback": provider != requested[0],
            "threads": self.spec.threads,
            "delegate": None,
            "graph_optimization": "disabled",
        }


class ExampleOrt(Runtime):
    plugin_meta = {
        "formats": ["onnx"],
        "summary": "example plugin: ONNX Runtime CPU, graph optimizations off, sequential",
    }

    def version(self) -> str:
        import onnxruntime as ort

        return ort.__version__

    def load(self, path: Path, spec: RuntimeSpec) -> ExampleOrtSession:
        return ExampleOrtSession(path, spec)

    def status(self, spec: RuntimeSpec) -> RuntimeStatus:
        try:
            version = self.version()
        except ImportError as exc:
            return RuntimeStatus(spec.name, False, f"onnxruntime does not import ({exc})")
        others = [p for p in spec.providers if p != CPU]
        fallback = f"example-ort runs {CPU} only, not {', '.join(others)}" if others else None
        return RuntimeStatus(
            spec.name, True, f"example-ort on onnxruntime {version}: {CPU}, graph optimizations off", fallback
        )

    def label(self, spec: dict[str, Any]) -> str:
        return " ".join(p for p in ("example-ort", "noopt", threads_label(spec.get("threads"))) if p)
