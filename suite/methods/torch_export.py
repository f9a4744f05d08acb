"""``fp32-torch``: the float reference as a ``torch.export`` program (``.pt2``), for the ``torch`` runtime.

``torch.export`` writes the graph and weights without the model's Python code, and ``torch.export.load``
reads them without unpickling code, so the run side needs only torch (not the zoo that built the model).
The batch dimension is exported as dynamic (SingleStream runs batch 1, Offline the profile's batch).
Precision is a runtime option (``dtype: float16`` / ``bfloat16`` in the profile's torch runtime entry),
as it is for TensorRT's fp16 mode: the artifact stays fp32 and the record says what ran.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from suite.methods.base import Artifact, Method, Params, PrepareContext

COMPUTE_TARGETS = ("conv", "linear", "addmm", "mm.default", "bmm", "matmul", "lstm", "gru")


def export_program(module: Any, sample_shape: list[int], path: Path) -> dict[str, int]:
    """Export ``module`` with a dynamic batch axis to ``path``; returns its compute layers per precision."""
    import torch

    module = module.eval()
    batch = torch.export.Dim("batch", min=1, max=65536)
    example = torch.zeros(2, *sample_shape)  # 2, not 1: a size-1 dimension would be specialised
    with torch.no_grad():
        program = torch.export.export(module, (example,), dynamic_shapes=({0: batch},))
    tmp = path.with_suffix(".tmp.pt2")
    torch.export.save(program, str(tmp))
    tmp.replace(path)
    layers: Counter[str] = Counter()
    for node in program.graph.nodes:
        if node.op == "call_function" and any(key in str(node.target) for key in COMPUTE_TARGETS):
            layers["fp32"] += 1
    return dict(layers)


class Fp32Torch(Method):
    class Params(Params):
        pass

    def apply(self, ctx: PrepareContext, params: Params) -> Artifact:
        out = ctx.workdir / "model.pt2"
        precision = export_program(ctx.reference.module, ctx.task.input.shape, out)
        return Artifact.for_file(
            "torch",
            out,
            simulated=False,
            weight_bits=32,
            activation_bits=32,
            precision_map=precision,
            details={"exporter": "torch.export", "dynamic_batch": True},
        )
