"""``nncf-weights``: NNCF weight compression (``nncf.compress_weights``) of an ONNX model's MatMul weights.

NNCF's ONNX backend writes the compressed weights as ONNX Runtime ``MatMulNBits`` nodes (4-bit
groups of ``group_size``, symmetric or asymmetric), so the artifact runs on ORT's 4-bit CPU kernels
and is deployable; the layers NNCF keeps out of 4 bits (by default the embedding and the LM head,
``all_layers: false``) get its ``backup_mode`` (int8, per channel). Data-aware options (``awq``,
``scale_estimation``) run NNCF's statistics over the calibration split, fed as the model's own inputs
(a causal LM's windows with an empty KV cache). What the file holds is read back from it
(``precision_map``, weight-bit histogram), as for every ONNX method.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact


class NncfWeightsParams(Params):
    mode: Literal["int4_sym", "int4_asym", "int8_sym", "int8_asym"] = "int4_sym"
    group_size: int = Field(32, ge=-1, description="weights per quantization group (-1: per channel)")
    ratio: float = Field(
        1.0, gt=0, le=1, description="share of the ratio-defining layers in 4 bits (the rest in backup_mode)"
    )
    all_layers: bool = Field(False, description="4 bits also for the embedding and the LM head")
    backup_mode: Literal["int8_asym", "int8_sym", "none"] = "int8_asym"
    awq: bool = Field(False, description="activation-aware weight quantization (needs calibration data)")
    scale_estimation: bool = Field(False, description="NNCF's scale estimation (needs calibration data)")
    subset_size: int = Field(32, ge=1, description="calibration samples for awq / scale estimation")


class NncfWeights(Method):
    Params = NncfWeightsParams

    def apply(self, ctx: PrepareContext, params: NncfWeightsParams):  # type: ignore[override, no-untyped-def]
        import logging
        from importlib import metadata

        import nncf
        import onnx

        from suite.methods.int4 import four_bit_deployable
        from suite.methods.ort_common import calibration_reader

        src = ctx.fp32_onnx()
        data_aware = params.awq or params.scale_estimation
        dataset = None
        if data_aware:
            x_cal = ctx.splits.x_cal[: params.subset_size]
            dataset = nncf.Dataset(list(calibration_reader(src, x_cal)))
        logging.getLogger("nncf").setLevel(logging.ERROR)
        model = nncf.compress_weights(
            onnx.load(str(src)),
            mode=nncf.CompressWeightsMode(params.mode),
            group_size=params.group_size,
            ratio=params.ratio,
            all_layers=params.all_layers,
            backup_mode=nncf.BackupMode(params.backup_mode),
            awq=params.awq,
            scale_estimation=params.scale_estimation,
            dataset=dataset,
            subset_size=params.subset_size,
        )
        repacked = pack_zero_points(model)
        flattened = flatten_per_axis_scales(model)
        out = ctx.workdir / "model.onnx"
        onnx.save(model, str(out))
        bits = 4 if params.mode.startswith("int4") else 8
        from suite.methods.onnx_graph import analyse

        facts = analyse(out)
        return onnx_artifact(
            out,
            simulated=bits == 4 and not four_bit_deployable(facts),
            weight_bits=bits,
            activation_bits=32,
            details={
                "toolkit": {"name": "nncf", "version": metadata.version("nncf")},
                "mode": params.mode,
                "group_size": params.group_size,
                "awq": params.awq,
                "scale_estimation": params.scale_estimation,
                "calibration_samples": params.subset_size if data_aware else 0,
                "zero_points_repacked": repacked,
                "per_axis_scales_flattened": flattened,
            },
        )


def pack_zero_points(model: Any) -> int:
    """Pack the 4-bit zero points of NNCF's MatMulNBits nodes two to a byte, as ONNX Runtime reads them.

    NNCF 3.4.0's ONNX backend writes asymmetric zero points one per byte (``[N, blocks]`` uint8), while
    ONNX Runtime 1.32's MatMulNBits takes uint8 zero points packed two 4-bit values per byte (first in
    the low nibble, ``[N, ceil(blocks / 2)]``) and refuses the model otherwise. The values are NNCF's;
    only their layout changes (checked end to end: int4_asym's perplexity is int4_sym's neighbour, not
    garbage). Returns how many nodes were repacked."""
    import numpy as np
    from onnx import numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    repacked = 0
    for node in model.graph.node:
        if node.op_type != "MatMulNBits" or len(node.input) < 4 or node.input[3] not in inits:
            continue
        attrs = {a.name: a.i for a in node.attribute}
        if attrs.get("bits", 4) != 4:
            continue
        zp = numpy_helper.to_array(inits[node.input[3]])
        n, k, block = attrs["N"], attrs["K"], attrs["block_size"]
        blocks = (k + block - 1) // block
        if zp.dtype != np.uint8 or zp.shape != (n, blocks):
            continue
        if blocks % 2:
            zp = np.concatenate([zp, np.zeros((n, 1), dtype=np.uint8)], axis=1)
        packed = (zp[:, 0::2] & 0x0F) | ((zp[:, 1::2] & 0x0F) << 4)
        inits[node.input[3]].CopyFrom(
            numpy_helper.from_array(np.ascontiguousarray(packed.astype(np.uint8)), node.input[3])
        )
        repacked += 1
    return repacked


def flatten_per_axis_scales(model: Any) -> int:
    """Give NNCF's per-channel ``DequantizeLinear`` scales and zero points the 1-D shape ONNX Runtime reads.

    On a network with convolutions (digits-cnn), NNCF 3.4.0 compresses each Conv weight to its int8
    ``backup_mode`` with a ``DequantizeLinear`` whose scale keeps the weight's rank (``[16, 1, 1]`` for a
    ``[16, 1, 3, 3]`` weight, ``axis: 0``); the ONNX spec and ONNX Runtime 1.32 take per-axis scales and
    zero points as 1-D tensors of the axis's length, and ORT refuses the model otherwise ("For per axis
    quantization, scale must be 1D tensor"). The values are NNCF's; only the shape changes. Returns how
    many nodes were changed."""
    import numpy as np
    from onnx import numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    changed = 0
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or len(node.input) < 2 or node.input[0] not in inits:
            continue
        weight = inits[node.input[0]]
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        length = weight.dims[axis] if -len(weight.dims) <= axis < len(weight.dims) else None
        touched = False
        for name in node.input[1:3]:
            tensor = inits.get(name)
            if tensor is None or len(tensor.dims) < 2:
                continue
            values = numpy_helper.to_array(tensor)
            if values.size != length or sorted(values.shape)[:-1] != [1] * (values.ndim - 1):
                continue
            tensor.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(values.reshape(-1)), name))
            touched = True
        changed += touched
    return changed
