"""``as-is``: the task's own model file, measured as it is on every runtime of the target that loads
its format (a ``.tflite`` on LiteRT, an ``.onnx`` on ONNX Runtime and OpenVINO, an OpenVINO IR on
OpenVINO, a ``.pte`` program on ExecuTorch, a ``.gguf`` on llama.cpp).

Edge users often start from a model someone else already quantized (a vendor's full-integer TFLite
classifier with uint8 input, a QDQ ONNX file). Converting it first would measure the converter, not
the model, so nothing is converted here: the file is copied (an ONNX file as the benchable copy every
ONNX method starts from: the same graph with a symbolic batch axis and its weights inline) and
described from its own contents (``suite.zoo.source_precision``): the record says what it is,
``int8 full-integer, uint8 I/O``, with the bits the file declares, never ``fp32``.

The method is of the baseline family: for a pre-quantized source it *is* the reference the other rows
of the task are compared with (``fp32`` refuses such a source), and ``artifact.details.baseline_reason``
says so; for a float source it measures the graph ``fp32`` measures.

A causal LM whose ``model.path`` is a ``.gguf`` file (``model.source: transformers``, which reads it
dequantized to float32 for the ``fp32`` row) is measured as that file on the llamacpp runtime
(:func:`gguf_as_is`): the row of the original quantized file, its family and bits per weight read from
its tensors. Such a task has a float reference (the file dequantized), so a quantized GGUF's row is not a
baseline but compared with it, as llama.cpp's quant types are (``suite.job.plan.family_of``). A causal LM
trained here has no file, and as-is says so in one line.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from suite.errors import BadInput
from suite.methods.base import Artifact, Method, Params, PrepareContext

# model.source -> the artifact format its file is in (suite.job.plan.artifact_format_of reads the same)
FORMATS = {"tflite": "tflite", "onnx": "onnx", "openvino": "openvino", "executorch": "pte"}


def baseline_reason(facts: dict[str, Any]) -> str:
    """Why this row is the task's baseline, in the record's words."""
    if facts["is_float"]:
        return (
            f"the task's own {facts['format']} file is {facts['family']}: the float reference, the graph fp32 measures"
        )
    return (
        f"the task's own {facts['format']} file is already quantized ({facts['family']}): no float model exists, "
        f"so this row, measured as it is, is the baseline the other rows are compared with"
    )


class AsIs(Method):
    class Params(Params):
        pass

    def apply(self, ctx: PrepareContext, params: Params) -> Artifact:
        from suite.zoo.base import weights_file
        from suite.zoo.source_precision import source_precision

        source = ctx.task.model.source
        if is_gguf(ctx.task.model.path):
            return gguf_as_is(ctx)
        if source == "transformers" and not ctx.task.model.path:
            raise BadInput(
                f"model.path: as-is measures the task's own model file as it is, but task {ctx.task.name!r} has "
                "none (its model is trained here); as-is takes a .tflite, .onnx, OpenVINO IR, .pte or .gguf file"
            )
        if source not in FORMATS:
            raise BadInput(
                f"model.source: as-is measures the task's own model file as it is, but source {source!r} gives "
                f"no file in a runnable format (as-is takes {', '.join(FORMATS)})"
            )
        original = weights_file(ctx.task.model.path, ctx.task)
        facts = source_precision(source, original)
        assert facts is not None
        details: dict[str, Any] = {
            "source_file": str(original),
            "source_precision": facts,
            "baseline_reason": baseline_reason(facts),
        }
        if source == "openvino":
            return ir_artifact(original, ctx.workdir, facts, details)
        if source == "executorch":
            return pte_copy(original, ctx.workdir, facts, details)
        if source == "tflite":
            from suite.methods.tflite_common import analyse_tflite

            out = ctx.workdir / "model.tflite"
            shutil.copyfile(original, out)
            read = analyse_tflite(out)
            precision_map = read.pop("precision_map")
            details.update(read)
        else:
            from suite.methods.onnx_graph import onnx_artifact

            out = ctx.workdir / "model.onnx"
            assert ctx.reference.onnx_path is not None
            shutil.copyfile(ctx.reference.onnx_path, out)
            artifact: Artifact = onnx_artifact(
                out,
                simulated=False,
                weight_bits=facts["weight_bits"],
                activation_bits=facts["activation_bits"],
                details=details,
            )
            return artifact
        return Artifact.for_file(
            "tflite",
            out,
            simulated=False,
            weight_bits=facts["weight_bits"],
            activation_bits=facts["activation_bits"],
            precision_map=precision_map,
            details=details,
        )


def ir_artifact(original: Path, workdir: Path, facts: dict[str, Any], details: dict[str, Any]) -> Artifact:
    """The IR's two files copied side by side (``model.xml`` finds ``model.bin`` by its name). The
    artifact's hash is the ``.xml``'s, its sizes the two files' together: the weights are in the ``.bin``."""
    from suite.methods.base import file_facts

    out = workdir / "model.xml"
    shutil.copyfile(original, out)
    shutil.copyfile(original.with_suffix(".bin"), out.with_suffix(".bin"))
    bin_sha, bin_size, bin_zlib = file_facts(out.with_suffix(".bin"))
    artifact = Artifact.for_file(
        "openvino",
        out,
        simulated=False,
        weight_bits=facts["weight_bits"],
        activation_bits=facts["activation_bits"],
        precision_map=dict(facts["weight_types"]) or dict(facts["tensor_types"]),
        details={**details, "bin_sha256": bin_sha, "xml_size_bytes": out.stat().st_size},
    )
    artifact.size_bytes += bin_size
    artifact.compressed_size_bytes += bin_zlib
    return artifact


def pte_copy(original: Path, workdir: Path, facts: dict[str, Any], details: dict[str, Any]) -> Artifact:
    """The ``.pte`` program copied as it is; its delegation (read from the program) goes with it."""
    out = workdir / "model.pte"
    shutil.copyfile(original, out)
    return Artifact.for_file(
        "pte",
        out,
        simulated=False,
        weight_bits=facts["weight_bits"],
        activation_bits=facts["activation_bits"],
        precision_map=dict(facts["tensor_types"]),
        details={**details, "delegation": facts["delegation"], "inference_precision": facts["inference_precision"]},
    )


def is_gguf(model_path: str | None) -> bool:
    """Is the task's model file a GGUF (whatever ``model.source`` reads it with)?"""
    return str(model_path or "").lower().endswith(".gguf")


def gguf_as_is(ctx: PrepareContext) -> Artifact:
    """The task's own GGUF file, copied as it is, for the llamacpp runtime; precision read from its tensors."""
    from suite.zoo.base import weights_file
    from suite.zoo.source_precision import gguf_precision

    original = weights_file(ctx.task.model.path, ctx.task)
    try:
        facts = gguf_precision(original)
    except (ValueError, OSError) as exc:
        raise BadInput(
            f"model.path: {original}: not a readable GGUF file ({' '.join(str(exc).split())[:200]})"
        ) from None
    out = ctx.workdir / "model.gguf"
    shutil.copyfile(original, out)
    precision = {"F32": "f32", "F16": "f16", "BF16": "bf16"}
    main = next(iter(facts["weights_by_type"]))
    details: dict[str, Any] = {
        "source_file": str(original),
        "source_precision": facts,
        "baseline_reason": (
            baseline_reason(facts)
            if facts["is_float"]
            else (
                f"not the baseline: the task's own gguf file is already quantized ({facts['family']}) and measured as "
                "it is; the task's float reference is this file dequantized to float32 (fp32, and gguf-f32 on "
                "llama.cpp), which this row is compared with as llama.cpp's quant types are"
            )
        ),
        "tensor_types": facts["tensor_types"],
        "inference_precision": precision.get(main, "int8"),
        "source_note": "the task's fp32 rows are this file dequantized to float32; this row is the file itself",
    }
    return Artifact.for_file(
        "gguf",
        out,
        simulated=False,
        weight_bits=facts["weight_bits"],
        activation_bits=facts["activation_bits"],
        precision_map={k.lower(): v for k, v in facts["tensor_types"].items()},
        details=details,
    )
