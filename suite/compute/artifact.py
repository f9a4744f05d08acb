"""The ``compute`` block of a built artifact, written into ``artifact.details`` when it is built.

An ONNX artifact is counted from its own graph; every other format (TFLite, .pte, a torch program) from
the fp32 ONNX it was made from, and the block says so. A causal LM (a task with ``generation``) is
counted per token at its prompt and decode stages. Counting never fails a job: any error becomes the
block's ``reason``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def artifact_compute(
    artifact_format: str, artifact_path: Path, fp32_onnx: Callable[[], Path], task: Any
) -> dict[str, Any]:
    """The compute block for one artifact of ``task`` (a TaskConfig)."""
    try:
        made_from = artifact_format != "onnx"
        path = fp32_onnx() if made_from else artifact_path
        if task.generation is not None:
            from suite.compute.lm import lm_compute_block

            generation = task.generation
            return lm_compute_block(path, generation.prompt_tokens, generation.new_tokens, made_from=made_from)
        from suite.compute.graph import compute_block

        return compute_block(path, task.input.shape, task.input.names, made_from=made_from)
    except Exception as exc:  # noqa: BLE001 - a count that fails says why in the block, the job goes on
        return {
            "macs_per_item": None,
            "ops_per_item": None,
            "reason": f"not counted: {type(exc).__name__}: {exc}"[:300],
        }
