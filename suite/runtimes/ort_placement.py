"""Which provider ran each node, in which precision: read from ONNX Runtime's own profiling output.

``SessionOptions.enable_profiling`` makes ONNX Runtime write a Chrome-trace JSON; every node run is an
event with ``cat == "Node"`` whose ``args`` carry ``op_name``, ``provider`` and ``input_type_shape``
(e.g. ``[{"uint8": [1, 8, 8, 1]}, {"float": []}]``). That is the optimised graph as it ran, after
fusion: a QDQ pair that ORT fused into ``QLinearConv`` shows up as one int8 node, one it did not fuse
stays as a ``DequantizeLinear`` + float ``Conv`` + ``QuantizeLinear``. The profile is taken on a
separate session (profiling costs time), with the same options and providers as the timed one.

A node's precision is that of the first input that is not a scalar (the activation): int8 for
int8/uint8 (and integer kernels such as ``ConvInteger`` / ``MatMulInteger`` / ``QLinear*``), fp16,
bf16, fp32; ``QuantizeLinear`` / ``DequantizeLinear`` are counted apart as ``qdq``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

_DTYPE_PRECISION = {
    "int8": "int8",
    "uint8": "int8",
    "int4": "int4",
    "uint4": "int4",
    "float16": "fp16",
    "bfloat16": "bf16",
    "float": "fp32",
    "double": "fp64",
    "int32": "int32",
    "int64": "int64",
    "bool": "bool",
}
QDQ_OPS = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"}
COMPUTE_OPS = {
    "Conv",
    "ConvTranspose",
    "Gemm",
    "MatMul",
    "FusedConv",
    "FusedGemm",
    "FusedMatMul",
    "NhwcFusedConv",
    "QLinearConv",
    "QLinearMatMul",
    "QGemm",
    "ConvInteger",
    "MatMulInteger",
    "MatMulIntegerToFloat",
    "DynamicQuantizeMatMul",
    "MatMulNBits",
    "NhwcConv",
    "QAttention",
    "Attention",
    "LSTM",
    "GRU",
    "DynamicQuantizeLSTM",
}
INTEGER_OPS = {"ConvInteger", "MatMulInteger", "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "DynamicQuantizeLSTM"}


def activation_dtype(args: dict[str, Any]) -> str | None:
    """The raw element type of a node's first non-scalar input (``uint8``, ``int8``, ``float`` ...)."""
    for entry in args.get("input_type_shape") or []:
        for dtype, shape in entry.items():
            if shape:
                return str(dtype)
    return None


def node_precision(op: str, args: dict[str, Any]) -> str:
    if op in QDQ_OPS:
        return "qdq"
    if op == "MatMulNBits":
        return "int4"
    if op in INTEGER_OPS or op.startswith("QLinear") or op == "QGemm":
        return "int8"
    shapes = args.get("input_type_shape") or args.get("output_type_shape") or []
    first: str | None = None
    for entry in shapes:
        for dtype, shape in entry.items():
            if first is None:
                first = str(dtype)
            if shape:  # the first non-scalar input is the activation
                return _DTYPE_PRECISION.get(dtype, str(dtype))
    return _DTYPE_PRECISION.get(first, first or "unknown") if first else "unknown"


def parse_profile(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Count one run's nodes per provider and precision (each node counted once, however many runs)."""
    seen: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.get("cat") != "Node":
            continue
        name = str(event.get("name", "")).removesuffix("_kernel_time")
        args = event.get("args") or {}
        if "op_name" not in args or name in seen:
            continue
        seen[name] = args
    by_provider: dict[str, Counter[str]] = defaultdict(Counter)
    ops: Counter[str] = Counter()
    compute: Counter[str] = Counter()
    activation_dtypes: Counter[str] = Counter()
    for args in seen.values():
        op = str(args["op_name"])
        provider = str(args.get("provider", "unknown"))
        precision = node_precision(op, args)
        by_provider[provider][precision] += 1
        ops[op] += 1
        if op in COMPUTE_OPS:
            compute[f"{op}:{precision}"] += 1
            dtype = activation_dtype(args)
            if dtype:
                activation_dtypes[dtype] += 1
    return {
        "nodes": len(seen),
        "by_provider": {p: dict(c) for p, c in sorted(by_provider.items())},
        "ops": dict(sorted(ops.items())),
        "compute": dict(sorted(compute.items())),
        "qdq_nodes": sum(ops[o] for o in QDQ_OPS),
        "activation_dtypes": dict(sorted(activation_dtypes.items())),
        "source": "onnxruntime profiling",
    }


def read_profile(path: Path) -> dict[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    events = data if isinstance(data, list) else data.get("traceEvents", [])
    return parse_profile(events)


def profile_session(make_session: Any, feed_name: str | dict[str, Any], sample: Any, runs: int = 2) -> dict[str, Any]:
    """Build a profiling session with ``make_session(options_hook)``, run it, parse and delete the trace."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="edgeq-ortprof-") as tmp:

        def hook(options: Any) -> None:
            options.enable_profiling = True
            options.profile_file_prefix = str(Path(tmp) / "ort")

        session = make_session(hook)
        for _ in range(runs):
            session.run(None, feed_name if isinstance(feed_name, dict) else {feed_name: sample})
        trace = session.end_profiling()
        return read_profile(Path(trace))
