"""``dynamic``: ONNX Runtime ``quantize_dynamic``: int8 weights, activations quantized at run time.

By default every supported op is quantized, convolutions included, because that is what users try
first; on x86 ORT runs dynamic ConvInteger far slower than float Conv, and the leaderboard shows it.
"""

from __future__ import annotations

from typing import Literal

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.ort_common import preprocess


class DynamicParams(Params):
    weight_type: Literal["int8", "uint8"] = "int8"
    per_channel: bool = False
    op_types: list[str] | None = None  # None = all ops ORT can quantize dynamically


class Dynamic(Method):
    Params = DynamicParams

    def apply(self, ctx: PrepareContext, params: DynamicParams):  # type: ignore[override, no-untyped-def]
        from onnxruntime.quantization import QuantType, quantize_dynamic

        src = preprocess(ctx.fp32_onnx(), ctx.workdir / "preprocessed.onnx")
        out = ctx.workdir / "model.onnx"
        quantize_dynamic(
            str(src),
            str(out),
            weight_type={"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}[params.weight_type],
            per_channel=params.per_channel,
            op_types_to_quantize=params.op_types,
        )
        src.unlink(missing_ok=True)
        return onnx_artifact(out, simulated=False, weight_bits=8, activation_bits=8)
