"""``brevitas-qat``: quantization-aware training with AMD's Brevitas, exported as QCDQ ONNX.

Brevitas rewrites the traced torch model into its quantized layers (``preprocess_for_quantize`` folds
BatchNorm into the convolutions; ``quantize`` swaps Conv/Linear for ``QuantConv2d``/``QuantLinear``
with ``w_bits``-bit weights, per channel by default, int32 biases, quantizes ReLU outputs unsigned and
aligns the inputs of residual adds to one scale), calibrates the activation ranges on the calibration
split, then fine-tunes on the training split. ``export_onnx_qcdq`` writes QuantizeLinear / Clip /
DequantizeLinear: the Clip holds a weight to its ``w_bits`` range inside an int8 container.
``suite.methods.qdq_passes`` folds those constant Clips and QuantizeLinears into int8 initializers
and writes per-tensor parameters as scalars, so ORT and OpenVINO fuse the groups into int8 kernels.

Below 8 bits (``w_bits`` 4 or 2) no CPU runtime here has a kernel that computes in 4 or 2 bits: the
weights sit in int8 kernels at int8 speed and size. Such an artifact is ``simulated`` (its accuracy is
real; no speed or size gain is claimed for it), and ``details.theoretical`` gives the size its weights
would have at ``w_bits``. Brevitas' binary (1-bit) quantizer has no ONNX QCDQ export, so 1 bit is not
offered. ``simulated_top1`` is the fake-quant accuracy in torch on the eval split.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.ort_qdq import ort_kernels
from suite.methods.qdq_passes import deployable_qdq
from suite.methods.toolkits import require, toolkit_errors


class BrevitasParams(Params):
    w_bits: Literal[8, 4, 2] = 8
    per_channel: bool = True
    epochs: int = Field(3, ge=0, description="fine-tuning epochs with fake quantization")
    lr: float = Field(1e-4, gt=0)
    batch_size: int = Field(64, ge=2)
    seed: int = 0


def brevitas_model(module: Any, w_bits: int, per_channel: bool) -> Any:
    """The module rewritten into Brevitas quantized layers (BatchNorm merged into the convolutions)."""
    import warnings

    from brevitas.graph.quantize import COMPUTE_LAYER_MAP, preprocess_for_quantize, quantize
    from brevitas.quant import Int8WeightPerChannelFloat, Int8WeightPerTensorFloat
    from torch import nn

    weight = Int8WeightPerChannelFloat if per_channel else Int8WeightPerTensorFloat
    layers = dict(COMPUTE_LAYER_MAP)
    for cls in (nn.Conv1d, nn.Conv2d, nn.Linear):
        quant_cls, kwargs = layers[cls]
        layers[cls] = (quant_cls, {**kwargs, "weight_quant": weight, "weight_bit_width": w_bits})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Brevitas' FX backport and optional-kernel notices
        graph = preprocess_for_quantize(module.eval(), trace_model=True, merge_bn=True)
        return quantize(graph, compute_layer_map=layers)


def calibrate(model: Any, x: Any, batch_size: int = 64) -> None:
    import torch
    from brevitas.graph.calibrate import calibration_mode

    model.eval()
    with torch.no_grad(), calibration_mode(model):
        for start in range(0, len(x), batch_size):
            model(torch.from_numpy(x[start : start + batch_size]))


def theoretical(path: Any, w_bits: int) -> dict[str, Any]:
    """Size of the weights at ``w_bits`` (what a real low-bit kernel would store), from the file."""
    import math

    import onnx

    model = onnx.load(str(path))
    n = sum(
        math.prod(t.dims) for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims) > 1
    )
    return {"bits_per_weight": w_bits, "quantized_weights": n, "size_bytes": n * w_bits // 8}


class BrevitasQat(Method):
    Params = BrevitasParams

    def apply(self, ctx: PrepareContext, params: BrevitasParams):  # type: ignore[override, no-untyped-def]
        import copy
        import warnings

        import torch

        from suite.methods.torch_common import finetune, single_thread, torch_top1

        require("brevitas", "brevitas")
        require("onnxoptimizer", "onnxoptimizer")  # Brevitas' ONNX export needs it
        module = copy.deepcopy(
            ctx.reference.torch_module("method 'brevitas-qat' (it fine-tunes the torch model with Brevitas)")
        )
        shape = ctx.task.input.shape
        out = ctx.workdir / "model.onnx"
        with toolkit_errors("brevitas"):
            torch.manual_seed(params.seed)
            model = brevitas_model(module, params.w_bits, params.per_channel)
            with single_thread():
                calibrate(model, ctx.splits.x_cal)
            finetune(model, ctx.splits, params.epochs, params.lr, params.seed, params.batch_size)
            model.eval()
            simulated_top1 = torch_top1(model, ctx.splits.x_eval, ctx.splits.y_eval)
        with toolkit_errors("brevitas", "export this model to QCDQ ONNX"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from brevitas.export import export_onnx_qcdq

            export_onnx_qcdq(
                model,
                args=torch.zeros(1, *shape),
                export_path=str(out),
                opset_version=17,
                dynamo=False,
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            )
        passes = deployable_qdq(out)
        details: dict[str, Any] = {
            "w_bits": params.w_bits,
            "granularity": "per-channel" if params.per_channel else "per-tensor",
            "export": "QCDQ (QuantizeLinear/Clip/DequantizeLinear)",
            **passes,
            "ort_cpu": ort_kernels(out),
        }
        if params.w_bits < 8:
            details["theoretical"] = theoretical(out, params.w_bits)
        return onnx_artifact(
            out,
            simulated=params.w_bits < 8,
            weight_bits=params.w_bits,
            activation_bits=8,
            simulated_top1=simulated_top1,
            details=details,
        )
