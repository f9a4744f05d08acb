"""What every ``.pte`` method shares: lowering an exported program to the XNNPACK delegate, counting what
the delegate took (``artifact.details.delegation``), the compute nodes' precision, and the Artifact of a
written program. Used by the classifier programs (``executorch.py``) and the causal-LM programs
(``executorch_lm.py``), which import this and not each other.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from suite.methods.base import Artifact

COMPUTE = ("convolution", "conv2d", "conv1d", "linear", "addmm", ".mm.", "bmm", "matmul")


def _is_compute(node: Any) -> bool:
    return node.op == "call_function" and any(key in str(node.target) for key in COMPUTE)


def precision_of(graph_module: Any) -> dict[str, int]:
    """Compute nodes per precision: int8 where the activation input comes from a dequantize node."""
    counts: Counter[str] = Counter()
    for node in graph_module.graph.nodes:
        if _is_compute(node):
            source = node.args[0] if node.args else None
            quantized = getattr(source, "op", None) == "call_function" and "dequantize" in str(
                getattr(source, "target", "")
            )
            counts["int8" if quantized else "fp32"] += 1
    return dict(counts)


def delegation(edge: Any) -> dict[str, Any]:
    """Compute nodes inside the XNNPACK delegate(s) and left outside, from the lowered edge program."""
    program = edge.exported_program()
    graph_module = program.graph_module
    inside, partitions = 0, 0
    for name, sub in graph_module.named_children():
        if name.startswith("lowered_module"):
            partitions += 1
            original = getattr(sub, "original_module", None)
            nodes = original.graph_module.graph.nodes if original is not None else []
            inside += sum(1 for n in nodes if _is_compute(n))
    outside = [str(n.target) for n in graph_module.graph.nodes if _is_compute(n)]
    total = inside + len(outside)
    return {
        "partitions": partitions,
        "delegated_compute_nodes": inside,
        "total_compute_nodes": total,
        "delegated_fraction": inside / total if total else 0.0,
        "not_delegated": sorted(set(outside)),
    }


def lower(program: Any, path: Path, constant_methods: dict[str, Any] | None = None) -> dict[str, Any]:
    """XNNPACK-lower an exported program and write the ``.pte``; returns the delegation facts.

    ``constant_methods`` (a causal LM's ``get_max_seq_len``, ``use_kv_cache``, ...: what ExecuTorch's LLM
    runner reads) are written into the program; such a program's static-cache buffer updates do not pass
    the edge IR validity check, so it is skipped for them, as ExecuTorch's LLM export does."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import EdgeCompileConfig, to_edge_transform_and_lower

    extra: dict[str, Any] = {}
    if constant_methods is not None:
        extra = {"constant_methods": constant_methods, "compile_config": EdgeCompileConfig(_check_ir_validity=False)}
    edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()], **extra)
    facts = delegation(edge)
    path.write_bytes(edge.to_executorch().buffer)
    return facts


def pte_artifact(path: Path, precision: dict[str, int], bits: int, details: dict[str, Any]) -> Artifact:
    order = sorted(precision.items(), key=lambda kv: (-kv[1], kv[0]))
    names = {"fp32": "f32", "int8": "int8"}
    details = {**details, "inference_precision": "+".join(names.get(p, p) for p, _ in order) or None}
    return Artifact.for_file(
        "pte", path, simulated=False, weight_bits=bits, activation_bits=bits, precision_map=precision, details=details
    )
