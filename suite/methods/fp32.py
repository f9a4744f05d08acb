"""``fp32``: the float baseline, the reference model exported to ONNX (TorchScript exporter, opset 17).

The TorchScript exporter (``dynamo=False``) is used because the eager-mode QAT path needs it too and
it gives one graph for both; the export is cached per task so every method starts from the same file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact

OPSET = 17


def export_onnx(module, sample_shape: list[int], path: Path, opset: int = OPSET) -> Path:  # type: ignore[no-untyped-def]
    """Export a torch module with a dynamic batch axis; input ``input``, output ``logits``."""
    import warnings

    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, *sample_shape)
    tmp = path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (dummy,),
            str(tmp),
            dynamo=False,
            opset_version=opset,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
    tmp.replace(path)
    return path


def refuse_quantized_source(ctx: PrepareContext) -> None:
    """``fp32`` of a model file that is not float would be a mislabelled row: it is skipped with one line
    naming what the file is (read from it) and the method that measures it as it is."""
    from suite.errors import NotAvailableHere
    from suite.zoo.base import weights_file
    from suite.zoo.source_precision import source_precision

    source = ctx.task.model.source
    if source not in ("tflite", "onnx", "openvino", "executorch"):
        return
    path = weights_file(ctx.task.model.path, ctx.task)
    facts = source_precision(source, path)
    if facts is not None and not facts["is_float"]:
        raise NotAvailableHere(
            f"fp32: {path} is not a float model ({facts['family']}, read from the file); fp32 measures float "
            f"sources only: measure this file with --methods as-is"
        )


class Fp32(Method):
    class Params(Params):
        pass

    def apply(self, ctx: PrepareContext, params: Params):  # type: ignore[no-untyped-def]
        refuse_quantized_source(ctx)
        out = ctx.workdir / "model.onnx"
        shutil.copyfile(ctx.fp32_onnx(), out)
        return onnx_artifact(out, simulated=False, weight_bits=32, activation_bits=32)
