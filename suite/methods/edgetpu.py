"""``edgetpu-int8``: TFLite full-integer int8 (the ``tflite-int8`` method) compiled for the Coral Edge TPU.

The compile step needs ``edgetpu_compiler`` (x86-64 Linux): prepare on such a host, then carry the
artifact to the board (``edgeq run``). Ops the compiler could not map stay on the host CPU; the fraction
that was mapped is recorded in ``artifact.details.edgetpu.mapped_fraction`` (see ``suite.methods.edgetpu_compiler``).
"""

from __future__ import annotations

from suite.methods.edgetpu_compiler import compile_for_edgetpu
from suite.methods.base import Artifact, Method, PrepareContext
from suite.methods.tflite_int8 import TfliteInt8, TfliteInt8Params
from suite.registry import methods


@methods.register("edgetpu-int8", family="ptq", simulated=False, format="tflite")
class EdgeTpuInt8(Method):
    name = "edgetpu-int8"
    family = "ptq"
    artifact_format = "tflite"
    summary = "TFLite full-int8 compiled by edgetpu_compiler for the Coral Edge TPU"

    Params = TfliteInt8Params  # the same knobs as tflite-int8: the compiler adds none that change numerics

    def apply(self, ctx: PrepareContext, params: TfliteInt8Params) -> Artifact:  # type: ignore[override]
        base = TfliteInt8().apply(ctx, params)
        compiled, report = compile_for_edgetpu(base.path, ctx.workdir / "edgetpu")
        return Artifact.for_file(
            "tflite",
            compiled,
            simulated=False,
            weight_bits=base.weight_bits,
            activation_bits=base.activation_bits,
            precision_map=base.precision_map,
            details={**base.details, "edgetpu": report, "cpu_model_sha256": base.sha256},
        )
