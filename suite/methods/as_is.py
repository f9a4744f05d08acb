"""``as-is``: the task's own model file, measured as it is on every runtime of the target that loads
its format (a ``.tflite`` on LiteRT, an ``.onnx`` on ONNX Runtime and OpenVINO, an OpenVINO IR on
OpenVINO, a ``.pte`` program on ExecuTorch).

Edge users often start from a model someone else already quantized (a vendor's full-integer TFLite
classifier with uint8 input, a QDQ ONNX file). Converting it first would measure the converter, not
the model, so nothing is converted here: the file is copied (an ONNX file as the benchable copy every
ONNX method starts from: the same graph with a symbolic batch axis and its weights inline) and
described from its own contents (``suite.zoo.source_precision``): the record says what it is,
``int8 full-integer, uint8 I/O``, with the bits the file declares, never ``fp32``.

The method is of the baseline family: for a pre-quantized source it *is* the reference the other rows
of the task are compared with (``fp32`` refuses such a source), and ``artifact.details.baseline_reason``
says so; for a float source it measures the graph ``fp32`` measures.
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
