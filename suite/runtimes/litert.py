"""LiteRT (``ai-edge-litert``): runs ``.tflite`` artifacts with the XNNPACK delegate, and says how much
of the graph XNNPACK really took.

The interpreter applies XNNPACK by default and silently leaves the nodes it cannot run (16x8 kernels,
dynamic-shape plumbing) on the built-in reference kernels. The record must show that, so after the
delegate is applied we read the interpreter's node list: the nodes a ``DELEGATE`` node replaced are
found by walking back from its outputs to its inputs through the original nodes, and their fraction of
all original nodes is ``delegated_fraction`` (0 when XNNPACK took nothing, e.g. an int16x8 model).

Profile options (``runtimes: [{name: litert, threads: 1, options: {delegate: none}}]``):
``delegate``: ``xnnpack`` (default), ``none`` (reference kernels only) or ``edgetpu`` (the Coral Edge TPU:
LiteRT's external-delegate loading, ``load_delegate``, of ``delegate_library``, default
``libedgetpu.so.1``, with ``delegate_options`` such as ``{device: usb}``). An external delegate is
applied alone (no default XNNPACK), so the record's ``delegation`` counts the nodes it really took: a
model not compiled for the Edge TPU gives 0 and runs on the reference kernels, flagged as a fallback.
A library that cannot be loaded skips the job with one line naming it and how to install it.

Each batch size gets its own interpreter, sized once: resizing an interpreter between the accuracy
loop's batches and LoadGen's single samples would re-plan the graph inside the timed calls.
Run side: imports only numpy and ai_edge_litert.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import RuntimeSpec
from suite.errors import BadInput, JobFailed, NotAvailableHere
from suite.runtimes.base import Runtime, RuntimeStatus, Session, threads_label

EDGETPU_LIBRARY = "libedgetpu.so.1"
EDGETPU_INSTALL = "sudo apt-get install libedgetpu1-std (from Coral's apt repository, packages.cloud.google.com/apt coral-edgetpu-stable)"
DELEGATES = ("xnnpack", "none", "edgetpu")


def load_external_delegate(lrt: Any, library: str, options: dict[str, Any]) -> Any:
    """LiteRT's ``load_delegate`` (the TFLite external-delegate plugin ABI). The library is opened with
    ctypes first, so a missing one is told apart from one whose delegate refused to start (libedgetpu
    does when no accelerator answers); either skips the job with one line naming the library."""
    import ctypes

    try:
        ctypes.CDLL(library)
    except OSError as exc:
        reason = " ".join(str(exc).split())
        raise NotAvailableHere(
            f"LiteRT could not load the Edge TPU delegate {library} ({reason}): {EDGETPU_INSTALL}"
        ) from None
    try:
        return lrt.load_delegate(library, {str(k): str(v) for k, v in options.items()})
    except (ValueError, RuntimeError, AttributeError) as exc:  # AttributeError: no plugin entry points
        reason = " ".join(str(exc).split())
        raise NotAvailableHere(
            f"{library} loaded but its delegate did not start ({reason}): is the Coral USB Accelerator plugged in "
            "(lsusb lists 1a6e:089a or 18d1:9302)?"
        ) from None


def delegation(ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Original nodes, the ones replaced by ``DELEGATE`` nodes, and the partitions, from op details."""
    original = [op for op in ops if op["op_name"] != "DELEGATE"]
    delegates = [op for op in ops if op["op_name"] == "DELEGATE"]
    producer = {int(t): op["index"] for op in original for t in op["outputs"]}
    by_index = {op["index"]: op for op in original}
    replaced: set[int] = set()
    for d in delegates:
        stop = {int(t) for t in d["inputs"]}
        stack = [int(t) for t in d["outputs"]]
        seen: set[int] = set()
        while stack:
            tensor = stack.pop()
            if tensor in stop or tensor in seen or tensor not in producer:
                continue
            seen.add(tensor)
            node = producer[tensor]
            if node not in replaced:
                replaced.add(node)
                stack.extend(int(t) for t in by_index[node]["inputs"] if int(t) >= 0)
    kept = sorted({by_index[i]["op_name"] for i in by_index if i not in replaced})
    return {
        "total_nodes": len(original),
        "delegated_nodes": len(replaced),
        "partitions": len(delegates),
        "delegated_fraction": (len(replaced) / len(original)) if original else 0.0,
        "not_delegated_ops": kept,
    }


COMPUTE_OPS = {
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "TRANSPOSE_CONV",
    "BATCH_MATMUL",
    "CONV_3D",
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
}
_DTYPE_NAMES = {"float32": "f32", "float16": "f16", "int8": "int8", "uint8": "int8", "int16": "int16"}


def compute_precision(ops: list[dict[str, Any]], dtypes: dict[int, str]) -> str | None:
    """The precision the compute ops run in, from their tensors' types: the activation's, or ``int8``
    for a float activation with int8 weights (dynamic-range kernels quantize it on the fly); a mix is
    joined by layer count, most first (``int8+f32``), as ``runtime.inference_precision`` is for ORT."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for op in ops:
        if op["op_name"] not in COMPUTE_OPS or len(op["inputs"]) < 2:
            continue
        act, weight = dtypes.get(int(op["inputs"][0]), "?"), dtypes.get(int(op["inputs"][1]), "?")
        label = "int8" if act == "float32" and weight == "int8" else _DTYPE_NAMES.get(act, act)
        counts[label] += 1
    return "+".join(p for p, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or None


def quantize_input(x: np.ndarray, dtype: np.dtype, quantization: tuple[float, int] | None) -> np.ndarray:
    """Float samples as an integer input tensor: ``round(x / scale) + zero_point``, clipped, with the
    scale and zero point the file declares for that tensor (TFLite's own rule for its inputs)."""
    scale, zero_point = quantization or (0.0, 0)
    if not scale:
        raise JobFailed(f"the model takes {dtype.name} input without a scale: feed it {dtype.name} data (input.dtype)")
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, dtype=np.float32) / np.float32(scale)) + zero_point
    return np.ascontiguousarray(np.clip(q, info.min, info.max).astype(dtype))


def dequantize_output(y: np.ndarray, quantization: tuple[float, int] | None) -> np.ndarray:
    """An integer output tensor as the float scores it stands for, ``(q - zero_point) * scale``."""
    scale, zero_point = quantization or (0.0, 0)
    if y.dtype.kind not in "iu" or not scale:
        return y
    return ((y.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)


class LiteRtSession(Session):
    def __init__(self, path: Path, spec: RuntimeSpec) -> None:
        from ai_edge_litert import interpreter as lrt

        self.path = path
        self.threads = spec.threads or None
        self.delegate_name = str(spec.options.get("delegate", "xnnpack")).lower()
        if self.delegate_name not in DELEGATES:
            raise BadInput(
                f"runtimes.litert.options.delegate: got {self.delegate_name!r}, expected one of {', '.join(DELEGATES)}"
            )
        self._resolver = (
            lrt.OpResolverType.AUTO
            if self.delegate_name == "xnnpack"
            else lrt.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        )
        self._lrt = lrt
        self.delegate_library: str | None = None
        self._external: Any = None
        if self.delegate_name == "edgetpu":
            self.delegate_library = str(spec.options.get("delegate_library") or EDGETPU_LIBRARY)
            self._external = load_external_delegate(
                lrt, self.delegate_library, spec.options.get("delegate_options") or {}
            )
        self._by_batch: dict[int, Any] = {}
        first = self._interpreter(1)
        ops = first._get_ops_details()
        self.delegation = delegation(ops) if self.delegate_name != "none" else None
        dtypes = {int(t["index"]): np.dtype(t["dtype"]).name for t in first.get_tensor_details()}
        self.precision = compute_precision([op for op in ops if op["op_name"] != "DELEGATE"], dtypes)
        self.run = self._run

    def _interpreter(self, batch: int) -> Any:
        entry = self._by_batch.get(batch)
        if entry is not None:
            return entry[0]
        try:
            it = self._lrt.Interpreter(
                model_path=str(self.path),
                num_threads=self.threads,
                experimental_op_resolver_type=self._resolver,
                experimental_delegates=[self._external] if self._external is not None else None,
            )
            inp = it.get_input_details()[0]
            if list(inp["shape"])[0] != batch:
                it.resize_tensor_input(inp["index"], [batch, *list(inp["shape"])[1:]])
            it.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise JobFailed(f"{self.path}: LiteRT cannot load it: {str(exc).splitlines()[0]}") from None
        out = it.get_output_details()[0]
        entry = (it, inp["index"], out["index"], inp["dtype"], inp.get("quantization"), out.get("quantization"))
        self._by_batch[batch] = entry
        return it

    def _run(self, x: np.ndarray) -> np.ndarray:
        entry = self._by_batch.get(x.shape[0])
        if entry is None:
            self._interpreter(x.shape[0])
            entry = self._by_batch[x.shape[0]]
        it, in_index, out_index, in_dtype, in_q, _ = entry
        if x.dtype != in_dtype:  # a full-integer model fed float data: quantized as its input declares
            x = self._feed(x, in_dtype, in_q)
        it.set_tensor(in_index, x)
        it.invoke()
        out: np.ndarray = it.get_tensor(out_index)
        return out

    @staticmethod
    def _feed(x: np.ndarray, dtype: Any, quantization: tuple[float, int] | None) -> np.ndarray:
        if np.dtype(dtype).kind in "iu":
            return quantize_input(x, np.dtype(dtype), quantization)
        return np.ascontiguousarray(x.astype(dtype))

    def feed(self, x: np.ndarray) -> np.ndarray:
        """``x`` as the model's input tensor takes it (a float sample quantized for a full-integer model),
        so the timing loops time the model, not the quantizing of their samples: a deployed int8 model
        gets its input in that type already."""
        _, _, _, in_dtype, in_q, _ = self._by_batch.get(x.shape[0]) or self._by_batch[1]
        return x if x.dtype == in_dtype else self._feed(x, in_dtype, in_q)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch if batch.dtype == np.uint8 else batch.astype(np.float32, copy=False))
        out = np.asarray(self._run(batch))
        _, _, _, _, _, out_q = self._by_batch[batch.shape[0]]
        return dequantize_output(out, out_q)

    def prepare(self, batch_sizes: list[int]) -> None:
        for batch in batch_sizes:
            self._interpreter(batch)

    def info(self) -> dict[str, Any]:
        delegated = self.delegation or {}
        # What really ran the graph: all of it on XNNPACK, part of it, or none (reference kernels).
        fraction = delegated.get("delegated_fraction", 0.0)
        name = {"xnnpack": "XNNPACK", "edgetpu": "EdgeTPU", "none": None}[self.delegate_name]
        provider = name if fraction >= 1.0 else (f"{name}+builtin" if fraction > 0 else "builtin kernels")
        return {
            "name": "litert",
            "version": litert_version(),
            "provider": provider,
            "providers_requested": [name or "builtin kernels"],
            "fallback": name is not None and fraction < 1.0,
            "threads": self.threads,
            "delegate": name,
            "delegate_library": self.delegate_library,
            "delegation": self.delegation,
            "inference_precision": self.precision,
        }


def litert_version() -> str:
    try:
        return metadata.version("ai-edge-litert")
    except metadata.PackageNotFoundError:
        return "unknown"


class LiteRtRuntime(Runtime):
    def version(self) -> str:
        return litert_version()

    def status(self, spec: RuntimeSpec) -> RuntimeStatus:
        """Is ai-edge-litert installed, and for the Edge TPU delegate, is libedgetpu there?"""
        import ctypes

        version = litert_version()
        if version == "unknown":
            return RuntimeStatus("litert", False, "ai-edge-litert is not installed (pip install ai-edge-litert)")
        summary = f"ai-edge-litert {version}"
        options = spec.options or {}
        if options.get("delegate") == "edgetpu":
            library = str(options.get("delegate_library") or EDGETPU_LIBRARY)
            try:
                ctypes.CDLL(library)
            except OSError:
                return RuntimeStatus(
                    "litert", False, f"{summary}; the Edge TPU delegate {library} is not loadable: {EDGETPU_INSTALL}"
                )
            summary += f"; Edge TPU delegate {library}"
        return RuntimeStatus("litert", True, summary)

    def label(self, spec: dict[str, Any]) -> str:
        delegate = (spec.get("options") or {}).get("delegate")
        return " ".join(str(p) for p in ("litert", delegate, threads_label(spec.get("threads"))) if p)

    def load(self, path: Path, spec: RuntimeSpec) -> LiteRtSession:
        return LiteRtSession(path, spec)
