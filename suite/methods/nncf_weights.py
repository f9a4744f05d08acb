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

from typing import Literal

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact


class NncfWeightsParams(Params):
    mode: Literal["int4_sym", "int4_asym", "int8_sym", "int8_asym"] = "int4_sym"
    group_size: int = Field(32, ge=-1, description="weights per quantization group (-1: per channel)")
    ratio: float = Field(1.0, gt=0, le=1, description="share of the ratio-defining layers in 4 bits (the rest in backup_mode)")
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
                "mode": params.mode, "group_size": params.group_size, "awq": params.awq,
                "scale_estimation": params.scale_estimation, "calibration_samples": params.subset_size if data_aware else 0,
            },
        )  # fmt: skip
