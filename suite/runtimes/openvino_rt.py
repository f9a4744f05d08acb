"""OpenVINO: the CPU plugin runs ONNX files (fp32 and QDQ int8) and OpenVINO IR (``.xml`` + ``.bin``).

What the record must not get wrong here is the precision. On a CPU with avx512_bf16 or AMX the CPU
plugin's default ``INFERENCE_PRECISION_HINT`` is bf16,
so an "fp32" row timed with the defaults is a bf16 row. This runtime therefore asks for f32 unless the
profile entry asks for bf16 (or f16) explicitly (``options.precision``), then reads back what the
compiled model says it does: the hint it settled on (``precision_hint``) and, from the execution graph
(``compiled_model.get_runtime_model()``), the ``runtimePrecision`` of every layer that ran, counted
per layer type and precision into ``runtime.placement`` as ONNX Runtime's profile is. The compute
layers' precisions are ``runtime.inference_precision`` (``f32``, ``bf16``, ``int8``, or a mix by layer
count such as ``int8+f32``): a QDQ model whose FakeQuantize groups OpenVINO did not fuse shows up as
f32 convolutions, not as int8.

Profile entry: ``{name: openvino, threads: 1, options: {streams: 1, precision: f32, hint: latency}}``
(``threads`` 0 = the plugin's default, all cores; ``streams`` = ``NUM_STREAMS``; ``hint`` = the
``PERFORMANCE_HINT``, ``latency``, ``throughput`` or ``none``; ``snippets``: ``auto``, ``enable`` or
``disable``, below).

Snippets, the CPU plugin's JIT compiler for fused element-wise groups (FakeQuantize with its
neighbours, in a QDQ graph), can fail to compile a graph that is otherwise fine: its register
allocator runs out of vector registers and the compile stops with "Can't allocate registers for a
snippet: not enough registers" (the message of ``lowered/pass/assign_registers.cpp`` in OpenVINO's
snippets library). Seen with OpenVINO 2026.4.1 on the per-channel QDQ digits CNN that
``tests/zoo/test_as_is.py`` makes, at batch 1 with ``INFERENCE_NUM_THREADS`` 1 only (2 threads, or a
batch of 64, compile). The smallest cut of it found to fail is its 22-node tail after the max-pool:
Transpose, Reshape (flatten), MatMul + Add, MatMul + Add (per-channel int8 weights), every result
QuantizeLinear/DequantizeLinear'd; without the last QuantizeLinear, or starting after the Transpose,
it compiles. With ``snippets: auto`` (the default) such
a compile is retried once with the plugin's ``SNIPPETS_MODE: DISABLE`` (the fused groups then run as
separate nodes) and every compile of the session keeps it, so all batch sizes run the same way; the
record says so in ``runtime.snippets_mode`` and ``runtime.compile_retry``. ``enable`` never retries
(the failure is the job's one line), ``disable`` compiles without snippets from the start. Each batch size gets its own compiled
model with a static input shape, as LiteRT's interpreters do, so no timed call re-plans the graph; a
model with several inputs (text encoders, causal LMs with a KV cache) is compiled once with its own
dynamic shapes and fed by name, with the language-model interface of ``suite/runtimes/lm_feeds.py``.
Run side: imports only numpy and openvino.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import RuntimeSpec
from suite.errors import BadInput, JobFailed, NotAvailableHere
from suite.registry import dist_version
from suite.runtimes.base import Runtime, RuntimeStatus, Session, inference_precision, threads_label

PRECISIONS = {"f32": "f32", "fp32": "f32", "bf16": "bf16", "f16": "f16", "fp16": "f16"}
HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT", "none": None}
SNIPPETS = ("auto", "enable", "disable")
# The CPU plugin's snippets register allocator giving up: the one compile failure retried without snippets.
SNIPPET_REGISTERS = "allocate registers for a snippet"
# OpenVINO element types of runtimePrecision -> the suite's labels (runtime.placement, as for ORT).
_LABELS = {
    "f32": "fp32",
    "bf16": "bf16",
    "f16": "fp16",
    "u8": "int8",
    "i8": "int8",
    "u4": "int4",
    "i4": "int4",
    "i32": "int32",
    "i64": "int64",
    "f64": "fp64",
    "boolean": "bool",
    "u1": "binary",
}
# Layer types of the CPU plugin's execution graph that do the arithmetic.
COMPUTE_LAYERS = {
    "Convolution",
    "GroupConvolution",
    "Deconvolution",
    "FullyConnected",
    "MatMul",
    "RNNSeq",
    "RNNCell",
    "ScaledDotProductAttention",
    "BinaryConvolution",
}
INSTALL = "OpenVINO is not installed: pip install -e '.[toolkits]' (or pip install openvino)"


def _openvino() -> Any:
    try:
        import openvino
    except ImportError as exc:
        raise NotAvailableHere(f"{INSTALL} ({exc})") from None
    return openvino


def ov_version() -> str | None:
    return dist_version("openvino")


def parse_options(spec: RuntimeSpec) -> dict[str, Any]:
    """The profile entry's options, checked: precision, streams, hint."""
    options = dict(spec.options or {})
    unknown = sorted(set(options) - {"precision", "streams", "hint", "snippets"})
    if unknown:
        raise BadInput(
            f"runtime openvino: options.{unknown[0]}: unknown option (known: precision, streams, hint, snippets)"
        )
    precision = str(options.get("precision", "f32")).lower()
    if precision not in PRECISIONS:
        raise BadInput(f"runtime openvino: options.precision: got {precision!r}, expected f32, bf16 or f16")
    streams = options.get("streams", 1)
    if not isinstance(streams, int) or isinstance(streams, bool) or streams < 1:
        raise BadInput(f"runtime openvino: options.streams: got {streams!r}, expected an integer >= 1")
    hint = str(options.get("hint", "latency")).lower()
    if hint not in HINTS:
        raise BadInput(f"runtime openvino: options.hint: got {hint!r}, expected latency, throughput or none")
    snippets = str(options.get("snippets", "auto")).lower()
    if snippets not in SNIPPETS:
        raise BadInput(f"runtime openvino: options.snippets: got {snippets!r}, expected auto, enable or disable")
    return {"precision": PRECISIONS[precision], "streams": streams, "hint": hint, "snippets": snippets}


def compile_config(spec: RuntimeSpec, options: dict[str, Any]) -> dict[str, Any]:
    """The CPU plugin's properties for this entry (the precision is always set: never the bf16 default)."""
    config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": options["precision"], "NUM_STREAMS": options["streams"]}
    if HINTS[options["hint"]]:
        config["PERFORMANCE_HINT"] = HINTS[options["hint"]]
    if spec.threads:
        config["INFERENCE_NUM_THREADS"] = spec.threads
    if options.get("snippets") == "disable":
        config["SNIPPETS_MODE"] = "DISABLE"
    return config


def execution_graph(compiled: Any) -> dict[str, Any]:
    """Layers per precision of the execution graph, in ``runtime.placement``'s shape (ONNX Runtime's)."""
    by_precision: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    compute: Counter[str] = Counter()
    activation: Counter[str] = Counter()
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        layer = str(info["layerType"].astype(str))
        if layer in ("Const", "Input", "Output", "Parameter", "Result"):
            continue
        raw = str(info["runtimePrecision"].astype(str)).lower()
        label = "qdq" if layer == "FakeQuantize" else _LABELS.get(raw, raw or "unknown")
        by_precision[label] += 1
        ops[layer] += 1
        if layer in COMPUTE_LAYERS:
            compute[f"{layer}:{label}"] += 1
            activation[raw] += 1
    return {
        "nodes": sum(ops.values()),
        "by_provider": {"CPU": dict(sorted(by_precision.items()))},
        "ops": dict(sorted(ops.items())),
        "compute": dict(sorted(compute.items())),
        "qdq_nodes": ops.get("FakeQuantize", 0),
        "activation_dtypes": dict(sorted(activation.items())),
        "source": "openvino execution graph (runtimePrecision)",
    }


class OpenVinoSession(Session):
    def __init__(self, path: Path, spec: RuntimeSpec) -> None:
        self._ov = _openvino()
        self.path = path
        self.spec = spec
        self.options = parse_options(spec)
        self.config = compile_config(spec, self.options)
        self.core = self._ov.Core()
        self._by_batch: dict[int, tuple[Any, ...]] = {}
        self._dynamic: tuple[Any, ...] | None = None
        self._named: tuple[Any, ...] | None = None  # (compiled, request, feeds) of a several-input model
        self._graph: Any = None
        self._names: list[str] = []
        self.compile_retry: dict[str, Any] | None = None  # the snippets failure a compile was retried after
        self._recompile = False
        model = self._read()  # read once here (a language model's file is hundreds of MB)
        if len(model.inputs) > 1:
            self._compile_named(model)
            self.run = self._run_named
        else:
            self._compiled(1, model)
            self.run = self._run

    def _read(self) -> Any:
        try:
            return self.core.read_model(str(self.path))
        except Exception as exc:  # OpenVINO raises RuntimeError/its own types for unknown ops and bad files
            raise JobFailed(f"{self.path}: OpenVINO {ov_version()} cannot read it: {_line(exc)}") from None

    def _meta(self, compiled: Any) -> tuple[list[tuple[str, list[Any], str]], list[str]]:
        """(name, shape with None for dynamic dims, element type) of the inputs, and the output names."""
        inputs = [
            (
                i.get_any_name(),
                [d.get_length() if d.is_static else None for d in i.get_partial_shape()],
                i.get_element_type().get_type_name(),
            )
            for i in compiled.inputs
        ]
        return inputs, self._names

    def _compile_named(self, model: Any) -> None:
        """A model with several named inputs (a text encoder's ids and mask, a causal LM's prompt and KV
        cache): compiled once with its own (dynamic) shapes, fed by name as ONNX Runtime is."""
        from suite.runtimes.lm_feeds import batch_feeds

        # The outputs' names as the file gives them, in order: after compiling, OpenVINO may report the
        # producing node's name instead (``graph_output_cast_0`` for the Cast an fp16 conversion put
        # before ``logits``).
        self._names = [o.get_any_name() for o in model.outputs]
        compiled = self._compile(model)
        inputs, outputs = self._meta(compiled)
        self._named = (compiled, compiled.create_infer_request(), batch_feeds(inputs, outputs))

    def _compile(self, model: Any, batch: int | None = None) -> Any:
        """``compile_model`` with this entry's config; the snippets register failure is retried once
        without snippets (``options.snippets: auto``), and the session keeps that config afterwards."""
        try:
            return self.core.compile_model(model, "CPU", self.config)
        except Exception as exc:
            first = _line(exc)
            if SNIPPET_REGISTERS not in first.lower() or self.options["snippets"] != "auto" or self.compile_retry:
                raise JobFailed(f"{self.path}: OpenVINO {ov_version()} cannot compile it for CPU: {first}") from None
        self.config = {**self.config, "SNIPPETS_MODE": "DISABLE"}
        self.compile_retry = {
            "failed_with": first,
            "batch": batch,
            "retried_with": {"SNIPPETS_MODE": "DISABLE"},
            "why": "OpenVINO's snippets register allocator gave up on this graph (a bug of the CPU plugin's JIT, "
            "not of the model); the session runs without snippets (options.snippets: auto)",
        }
        self._recompile = bool(self._by_batch)  # what was compiled before runs without snippets too
        try:
            return self.core.compile_model(model, "CPU", self.config)
        except Exception as exc:
            raise JobFailed(
                f"{self.path}: OpenVINO {ov_version()} cannot compile it for CPU, with snippets ({first}) "
                f"nor without ({_line(exc)})"
            ) from None

    def _run_named(self, x: np.ndarray) -> np.ndarray:
        _, request, feeds = self._named  # type: ignore[misc]
        request.infer(feeds(x))
        out: np.ndarray = request.get_output_tensor(0).data
        return out

    def outputs(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Every output for a batch, by name (encoders: logits and the sentence embedding)."""
        if self._named is None:
            return {"logits": self.predict(batch)}
        compiled, request, feeds = self._named
        request.infer(feeds(batch))
        return {name: np.array(request.get_tensor(o).data) for name, o in zip(self._names, compiled.outputs)}

    def lm_graph(self) -> Any:
        """The KV-cache interface of a causal LM (suite/runtimes/lm_feeds.py), from the compiled model."""
        if self._named is None:
            raise JobFailed(f"{self.path}: the model has one input: not a causal LM with a KV cache")
        if self._graph is None:
            from suite.runtimes.lm_feeds import LmGraph

            self._graph = LmGraph.from_meta(*self._meta(self._named[0]))
        return self._graph

    def run_feeds(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """All outputs, in graph order, for named feeds (the LM loops); copies, as the request reuses its buffers."""
        compiled, request, _ = self._named  # type: ignore[misc]
        request.infer(feeds)
        return [np.array(request.get_tensor(o).data) for o in compiled.outputs]

    def _compiled(self, batch: int, model: Any = None) -> tuple[Any, ...]:
        entry = self._by_batch.get(batch)
        if entry is not None:
            return entry
        model = model if model is not None else self._read()
        shape = model.input(0).get_partial_shape()
        if shape.rank.is_dynamic:
            raise JobFailed(
                f"{self.path}: OpenVINO {ov_version()}: the input has a dynamic rank; expected [batch, ...]"
            )
        dims = [batch, *[d.get_length() if d.is_static else -1 for d in list(shape)[1:]]]  # batch -1: dynamic
        if any(d < 0 for d in dims[1:]):
            raise JobFailed(
                f"{self.path}: OpenVINO {ov_version()}: input dimensions {shape} are dynamic beyond the batch axis"
            )
        try:
            model.reshape(dims)
        except Exception as exc:
            raise JobFailed(f"{self.path}: OpenVINO {ov_version()} cannot compile it for CPU: {_line(exc)}") from None
        compiled = self._compile(model, batch)
        request = compiled.create_infer_request()
        if batch < 0:
            entry = (compiled, request)
        else:
            # Filling the request's own input buffer and calling infer() is the cheapest way in from Python
            # (the per-call times of both ways, measured on digits-cnn: docs/benchmarks.md).
            entry = (compiled, request, request.get_input_tensor(0).data, request.get_output_tensor(0))
        self._by_batch[batch] = entry
        if self._recompile:  # compiled with snippets before a retry turned them off: compiled again
            self._recompile = False
            for other in [b for b in self._by_batch if b != batch]:
                del self._by_batch[other]
                again = self._compiled(other)
                if other < 0 and self._dynamic is not None:
                    self._dynamic = again
        return entry

    def _run(self, x: np.ndarray) -> np.ndarray:
        entry = self._by_batch.get(x.shape[0])
        if entry is None:
            if self._dynamic is None:
                entry = self._compiled(x.shape[0])
            else:  # a size prepare() did not see: the dynamic-batch model, nothing compiled here
                self._dynamic[1].infer({0: x})
                dynamic_out: np.ndarray = self._dynamic[1].get_output_tensor(0).data
                return dynamic_out
        np.copyto(entry[2], x)
        entry[1].infer()
        out: np.ndarray = entry[3].data
        return out

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if self._named is not None:
            return np.array(self._run_named(np.ascontiguousarray(batch)))
        return np.array(self._run(np.ascontiguousarray(batch, dtype=np.float32)))

    def prepare(self, batch_sizes: list[int]) -> None:
        """Static-shape models for the batch sizes timing uses, and one with a dynamic batch axis for
        any other size LoadGen may ask for (a query set that is not a whole number of batches), so no
        timed call compiles."""
        if self._named is not None:  # compiled once with its own shapes
            return
        for batch in batch_sizes:
            self._compiled(batch)
        self._dynamic = self._compiled(-1)

    def placement(self, sample: np.ndarray) -> dict[str, Any]:
        """The batch-1 compiled model's execution graph (what SingleStream times)."""
        return execution_graph(self._main())

    def _main(self) -> Any:
        return self._named[0] if self._named is not None else self._compiled(1)[0]

    def info(self) -> dict[str, Any]:
        compiled = self._main()

        def prop(name: str) -> Any:
            try:
                return compiled.get_property(name)
            except Exception:  # a property this plugin version does not report
                return None

        hint = prop("INFERENCE_PRECISION_HINT")
        precision = getattr(hint, "get_type_name", lambda: str(hint))() if hint is not None else None
        precision = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}.get(str(precision), precision)
        devices = prop("EXECUTION_DEVICES")
        placement = execution_graph(compiled)
        return {
            "name": "openvino",
            "version": ov_version(),
            "provider": ",".join(devices) if devices else "CPU",
            "providers_requested": ["CPU"],
            "fallback": False,  # the CPU plugin runs every layer or the compile fails (JobFailed)
            "threads": self.spec.threads,
            "delegate": None,
            "inference_precision": inference_precision(placement) or precision,
            "precision_hint": precision,
            "precision_requested": self.options["precision"],
            "streams": prop("NUM_STREAMS"),
            "threads_used": prop("INFERENCE_NUM_THREADS"),
            "performance_hint": str(prop("PERFORMANCE_HINT")) if prop("PERFORMANCE_HINT") is not None else None,
            "device_name": self.core.get_property("CPU", "FULL_DEVICE_NAME"),
            "snippets_mode": self.config.get("SNIPPETS_MODE", "plugin default"),
            "compile_retry": self.compile_retry,
        }


def _line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    # OpenVINO prefixes its messages with "Exception from src/...cpp:NN:"; the cause is the last line.
    return (lines[-1] if lines else type(exc).__name__)[:300]


class OpenVinoRuntime(Runtime):
    def version(self) -> str:
        return ov_version() or "not installed"

    def status(self, spec: RuntimeSpec) -> RuntimeStatus:
        """Is OpenVINO installed, does it see a CPU device, and what precision will f32 rows run at."""
        version = ov_version()
        if version is None:
            return RuntimeStatus("openvino", False, f"{INSTALL}; its jobs are recorded as skipped")
        try:
            options = parse_options(spec)
        except BadInput as exc:
            return RuntimeStatus("openvino", False, str(exc))
        ov = _openvino()
        core = ov.Core()
        if "CPU" not in core.available_devices:
            return RuntimeStatus(
                "openvino", False, f"openvino {version}: no CPU device (available: {core.available_devices})"
            )
        caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        summary = f"openvino {version}: CPU plugin on {core.get_property('CPU', 'FULL_DEVICE_NAME')}; float layers at {options['precision']}"
        notes = []
        if "BF16" in caps and options["precision"] == "f32":
            notes.append(
                "this CPU supports bf16: the plugin's default would be bf16; this entry asks for f32 (options.precision: bf16 to time bf16)"
            )
        if options["precision"] == "bf16" and "BF16" not in caps:
            return RuntimeStatus(
                "openvino",
                True,
                summary,
                fallback=f"bf16 asked but this CPU has no bf16 support ({', '.join(caps)}): OpenVINO will run f32 (recorded in runtime.inference_precision)",
            )
        return RuntimeStatus("openvino", True, summary, notes=notes)

    def label(self, spec: dict[str, Any]) -> str:
        options = spec.get("options") or {}
        precision = str(options.get("precision", "f32")).lower()
        streams = options.get("streams", 1)
        parts = [
            "openvino",
            None if precision in ("f32", "fp32") else precision,
            f"{streams}s" if streams != 1 else None,
            "no-snippets" if str(options.get("snippets", "auto")).lower() == "disable" else None,
            threads_label(spec.get("threads")),
        ]
        return " ".join(str(p) for p in parts if p)

    def load(self, path: Path, spec: RuntimeSpec) -> OpenVinoSession:
        return OpenVinoSession(path, spec)
