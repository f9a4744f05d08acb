"""ONNX Runtime: execution providers and threads from the profile, the provider really used read back.

ONNX Runtime silently drops a requested provider that is not built into the installed wheel (and can
fall back node by node). We request the profile's providers in order, keep the ones this build has,
run one real inference, then read ``session.get_providers()``: the first entry is the provider that
ran the graph, and anything the profile asked for that is missing is reported as a fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import RuntimeSpec
from suite.errors import BadInput, JobFailed
from suite.runtimes.base import Runtime, RuntimeStatus, Session, threads_label


def _installed(metadata: Any, dist: str) -> bool:
    try:
        metadata.version(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


def provider_options(spec: RuntimeSpec) -> dict[str, dict[str, Any]]:
    """``options.provider_options`` of the profile: provider -> its options (``{cache}`` in a string
    value becomes the results cache folder, e.g. for TensorRT's engine cache)."""
    raw = spec.options.get("provider_options") or {}
    if not isinstance(raw, dict):
        raise BadInput(f"runtime ort: options.provider_options: got {raw!r}, expected a mapping provider -> options")
    out: dict[str, dict[str, Any]] = {}
    for provider, opts in raw.items():
        if not isinstance(opts, dict):
            raise BadInput(f"runtime ort: options.provider_options.{provider}: got {opts!r}, expected a mapping")
        resolved = {}
        for key, value in opts.items():
            if isinstance(value, str) and "{cache}" in value:
                from suite.paths import cache_dir

                value = value.replace("{cache}", str(cache_dir("ort")))
                Path(value).mkdir(parents=True, exist_ok=True)
            resolved[key] = value
        out[provider] = resolved
    return out


class OrtSession(Session):
    def __init__(self, path: Path, spec: RuntimeSpec) -> None:
        import onnxruntime as ort

        self.path = path
        self.spec = spec
        available = ort.get_available_providers()
        requested = list(spec.providers) or ["CPUExecutionProvider"]
        usable = [p for p in requested if p in available]
        if "CPUExecutionProvider" not in usable:
            usable.append("CPUExecutionProvider")
        self.usable = usable
        self.provider_options = provider_options(spec)
        self.session = self._make_session()
        self.requested = requested
        self.missing = [p for p in requested if p not in available]
        self.threads = spec.threads
        inputs = self.session.get_inputs()
        self.input_name = inputs[0].name
        self.input_names = [i.name for i in inputs]
        self.output_names = [self.session.get_outputs()[0].name]
        session_run = self.session.run
        feed_name = self.input_name
        outs = self.output_names
        if len(inputs) == 1:
            self.run = lambda x: session_run(outs, {feed_name: x})
        else:  # several inputs: packed along the sample's first axis (text), or a causal LM's prompt
            feeds = self.feeds
            self.run = lambda x: session_run(outs, feeds(x))
        self._used: list[str] | None = None
        self._graph: Any = None
        self._feeds: Callable[[np.ndarray], dict[str, np.ndarray]] | None = None

    def feeds(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The feed dict of a batch: one input; inputs packed along axis 1 (``input.names``); or, for a
        causal LM with a KV cache, ``x`` as the prompt with an empty cache."""
        if self._feeds is None:
            from suite.runtimes.lm_feeds import batch_feeds

            self._feeds = batch_feeds(
                [(i.name, list(i.shape), i.type) for i in self.session.get_inputs()],
                [o.name for o in self.session.get_outputs()],
            )
        return self._feeds(x)

    def outputs(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of the model for a batch, by name (encoders: logits and embedding)."""
        names = [o.name for o in self.session.get_outputs()]
        values: list[np.ndarray] = self.session.run(names, self.feeds(batch))
        return dict(zip(names, values))

    def lm_graph(self) -> Any:
        """The KV-cache interface of a causal LM (suite/runtimes/lm_feeds.py)."""
        if self._graph is None:
            from suite.runtimes.lm_feeds import LmGraph

            self._graph = LmGraph.of_ort(self.session)
        return self._graph

    def run_feeds(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """All outputs, in graph order, for named feeds (what the LM loops call)."""
        values: list[np.ndarray] = self.session.run(None, feeds)
        return values

    def _make_session(self, options_hook: Any = None) -> Any:
        """An InferenceSession with the profile's threads and providers (``options_hook`` may add profiling)."""
        import onnxruntime as ort

        spec = self.spec
        options = ort.SessionOptions()
        if spec.threads:
            options.intra_op_num_threads = spec.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if options_hook is not None:
            options_hook(options)
        providers = [(p, self.provider_options[p]) if p in self.provider_options else p for p in self.usable]
        try:
            return ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
            raise JobFailed(f"{self.path}: ONNX Runtime cannot load it: {str(exc).splitlines()[0]}") from None

    def placement(self, sample: np.ndarray) -> dict[str, Any]:
        """Nodes per provider and precision, from a profiled run of a twin session (see ort_placement)."""
        from suite.runtimes.ort_placement import profile_session

        feeds = self.input_name if len(self.input_names) == 1 else self.feeds(np.ascontiguousarray(sample))
        return profile_session(self._make_session, feeds, np.ascontiguousarray(sample))

    def predict(self, batch: np.ndarray) -> np.ndarray:
        out = self.run(batch)[0]
        if self._used is None:
            self._used = list(self.session.get_providers())
        return np.asarray(out)

    def info(self) -> dict[str, Any]:
        import onnxruntime as ort

        used = self._used or list(self.session.get_providers())
        provider = used[0] if used else None
        fallback = bool(self.requested) and provider != self.requested[0]
        return {
            "name": "ort",
            "version": ort.__version__,
            "provider": provider,
            "providers_requested": self.requested,
            "providers_session": used,
            "providers_missing": self.missing,
            "provider_options": self.provider_options or None,
            "fallback": fallback,
            "threads": self.threads,
            "delegate": None,
        }


class OrtRuntime(Runtime):
    def version(self) -> str:
        import onnxruntime as ort

        return str(ort.__version__)

    def status(self, spec: RuntimeSpec) -> RuntimeStatus:
        """Which of the profile's providers this onnxruntime build has; the first usable one runs."""
        from importlib import metadata

        try:
            import onnxruntime as ort
        except ImportError as exc:
            return RuntimeStatus("ort", False, f"onnxruntime does not import ({exc})")
        available = ort.get_available_providers()
        requested = list(spec.providers) or ["CPUExecutionProvider"]
        missing = [p for p in requested if p not in available]
        usable = [p for p in requested if p in available] or ["CPUExecutionProvider"]
        dists = [d for d in ("onnxruntime-gpu", "onnxruntime") if _installed(metadata, d)]
        summary = f"onnxruntime {ort.__version__} ({dists[0] if dists else 'onnxruntime'}); providers in this build: {', '.join(available)}"
        fallback = None
        if missing:
            fallback = (
                f"{', '.join(missing)} not in this onnxruntime build: {usable[0]} will run these jobs "
                f"(recorded as a fallback)"
                if usable[0] != requested[0]
                else f"{', '.join(missing)} not in this build"
            )
        return RuntimeStatus("ort", True, summary, fallback)

    def label(self, spec: dict[str, Any]) -> str:
        trt = ((spec.get("options") or {}).get("provider_options") or {}).get("TensorrtExecutionProvider") or {}
        dla = f"DLA{trt.get('trt_dla_core', 0)}" if trt.get("trt_dla_enable") else None
        return " ".join(p for p in ("ort", dla, threads_label(spec.get("threads"))) if p)

    def load(self, path: Path, spec: RuntimeSpec) -> OrtSession:
        return OrtSession(path, spec)
