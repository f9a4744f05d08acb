"""``qat``: quantization-aware training with torch.ao (FX graph mode), exported to ONNX QDQ that ONNX
Runtime runs as integer kernels, like ``ptq-static``'s files.

Why FX graph mode and the steps below: an eager-mode QAT model keeps its BatchNorms and residual adds
float, so its export puts Q/DQ pairs where ORT cannot fuse them and the file runs slower than fp32
(measured on mnist5k-resnet: docs/benchmarks.md). This one deploys the way ORT's own quantizer lays a
graph out:

1. BatchNorm is folded into the preceding convolution before any fake quantization
   (``torch.fx.experimental.optimization.fuse``, eval-mode statistics): the weights that are
   fake-quantized are the folded ones that the exported Conv holds, as in ``ptq-static``'s file;
2. ``prepare_qat_fx`` places FakeQuantize by torch.ao's backend patterns: Conv+ReLU fused, an
   observer on each residual add's output (``quantize_adds``), MaxPool/Flatten sharing their input's
   scale; activations quint8 0..255 per tensor, weights qint8 symmetric per channel (or per tensor);
3. ranges calibrated on the calibration split, then fine-tuned from the fp32 weights on the training
   split (observers frozen for the last epochs and before export);
4. ``torch.onnx.export(dynamo=False)`` writes Q/DQ pairs with the learned scales, and
   ``suite.methods.qdq_passes`` puts them in the form ORT fuses (initializer scalars, int8 weight
   initializers): ORT then runs QLinearConv, QLinearAdd and QGemm for every layer (``details.ort_cpu``).

PT2E QAT (torchao's ``prepare_qat_pt2e``) has no ONNX export path here, which is why FX is used.
After export every scale and zero point in the file is checked against the FakeQuantize module it came
from (``details.scale_check``); the job fails otherwise. ``simulated_top1`` is the fake-quant accuracy
in torch on the eval split; ``top1`` is measured on the deployed file. A task whose model is an ONNX
file has no torch module to train: the job fails with one line saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from suite.errors import JobFailed
from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.ort_qdq import ort_kernels
from suite.methods.qdq_passes import deployable_qdq
from suite.methods.torch_common import clone_sequential, export, finetune, torch_top1


class QatParams(Params):
    epochs: int = Field(4, ge=0, description="fine-tuning epochs with fake quantization")
    observer_epochs: int = Field(
        2, ge=0, description="epochs whose ranges keep updating; later ones train with frozen ranges"
    )
    lr: float = Field(2e-4, gt=0)
    batch_size: int = Field(64, ge=2)
    per_channel: bool = True
    seed: int = 0
    quantize_adds: bool = Field(
        True, description="fake-quantize residual adds, so ORT runs them as QLinearAdd (false: float adds)"
    )


def qat_model(reference: Any, input_shape: list[int], per_channel: bool, quantize_adds: bool = True) -> Any:
    """The reference model with BatchNorm folded, prepared for QAT by torch.ao's FX patterns (train mode)."""
    import operator
    import warnings

    import torch
    import torch.ao.quantization as tq
    from torch.ao.quantization import QConfig, QConfigMapping
    from torch.ao.quantization.quantize_fx import prepare_qat_fx
    from torch.fx.experimental.optimization import fuse as fold_batchnorm

    model = fold_batchnorm(clone_sequential(reference).eval())  # Conv+BN -> Conv (eval statistics)
    activation = tq.FakeQuantize.with_args(
        observer=tq.MovingAverageMinMaxObserver,
        quant_min=0,
        quant_max=255,
        dtype=torch.quint8,
        qscheme=torch.per_tensor_affine,
    )
    if per_channel:
        weight = tq.FakeQuantize.with_args(
            observer=tq.MovingAveragePerChannelMinMaxObserver,
            quant_min=-128,
            quant_max=127,
            dtype=torch.qint8,
            qscheme=torch.per_channel_symmetric,
            ch_axis=0,
        )
    else:
        weight = tq.FakeQuantize.with_args(
            observer=tq.MovingAverageMinMaxObserver,
            quant_min=-128,
            quant_max=127,
            dtype=torch.qint8,
            qscheme=torch.per_tensor_symmetric,
        )
    mapping = QConfigMapping().set_global(
        QConfig(activation=activation, weight=weight)
    )  # non-fused FakeQuantize: it exports
    if not quantize_adds:
        mapping = mapping.set_object_type(operator.add, None).set_object_type(torch.add, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's FX deprecation notice
        prepared = prepare_qat_fx(model.train(), mapping, (torch.zeros(1, *input_shape),))
    return prepared


def calibrate(wrapped: Any, x_cal: Any, batch_size: int = 64) -> None:
    """Observers see the calibration split with fake quantization off (the PTQ starting point)."""
    import torch
    import torch.ao.quantization as tq

    wrapped.apply(tq.disable_fake_quant)
    wrapped.apply(tq.enable_observer)
    wrapped.eval()
    with torch.no_grad():
        for start in range(0, len(x_cal), batch_size):
            wrapped(torch.from_numpy(x_cal[start : start + batch_size]))
    wrapped.apply(tq.enable_fake_quant)


def scale_check(wrapped: Any, path: Path) -> dict[str, Any]:
    """Every Q/DQ scale and zero point in the file against the FakeQuantize module it came from (the
    exporter names scale initializers after the module's state-dict keys)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}

    def constant(name: str):
        while name not in inits and name in producer and producer[name].op_type == "Identity":
            name = producer[name].input[0]
        return inits.get(name)

    fake_quants = {
        name: m
        for name, m in wrapped.named_modules()
        if hasattr(m, "scale") and hasattr(m, "zero_point") and hasattr(m, "fake_quant_enabled")
    }
    checked, worst = 0, 0.0
    missing = []
    for node in model.graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        module_name = node.input[1].rsplit(".scale", 1)[0]
        fq = fake_quants.get(module_name)
        if fq is None:
            missing.append(node.input[1])
            continue
        learned = fq.scale.detach().numpy().astype(np.float64).reshape(-1)
        stored = np.asarray(constant(node.input[1]), dtype=np.float64).reshape(-1)
        zp_learned = fq.zero_point.detach().numpy().astype(np.int64).reshape(-1)
        zp_stored = np.asarray(constant(node.input[2]), dtype=np.int64).reshape(-1)
        if stored.shape != learned.shape or not np.array_equal(zp_stored, zp_learned):
            raise JobFailed(
                f"QAT export: {node.name} has scale/zero point of shape {stored.shape} / {zp_stored.tolist()[:4]}, its FakeQuantize learned {learned.shape} / {zp_learned.tolist()[:4]}"
            )
        worst = max(worst, float(np.max(np.abs(stored - learned) / learned)))
        checked += 1
    if missing or not checked or worst > 1e-6:
        raise JobFailed(
            f"QAT export: scales do not match the learned FakeQuantize scales (max rel diff {worst:.2g}, unmatched {missing[:3]})"
        )
    return {"qdq_nodes_checked": checked, "max_rel_diff": worst, "fake_quant_modules": len(fake_quants)}


def train_qat(ctx: PrepareContext, params: QatParams) -> Any:
    """The fine-tuned, frozen QAT model (eval mode)."""
    import torch
    import torch.ao.quantization as tq

    from suite.methods.torch_common import single_thread

    module = ctx.reference.torch_module("method 'qat' (it fine-tunes the torch model with fake quantization)")
    wrapped = qat_model(module, ctx.task.input.shape, params.per_channel, params.quantize_adds)
    with single_thread():
        calibrate(wrapped, ctx.splits.x_cal)

    def freeze(epoch: int) -> None:
        if epoch + 1 >= params.observer_epochs:
            wrapped.apply(tq.disable_observer)

    if params.observer_epochs == 0:
        wrapped.apply(tq.disable_observer)
    torch.manual_seed(params.seed)
    finetune(wrapped, ctx.splits, params.epochs, params.lr, params.seed, params.batch_size, after_epoch=freeze)
    wrapped.apply(tq.disable_observer)
    wrapped.eval()
    return wrapped


class Qat(Method):
    Params = QatParams

    def apply(self, ctx: PrepareContext, params: QatParams):  # type: ignore[override, no-untyped-def]
        wrapped = train_qat(ctx, params)
        simulated_top1 = torch_top1(wrapped, ctx.splits.x_eval, ctx.splits.y_eval)
        out = export(wrapped, ctx.task.input.shape, ctx.workdir / "model.onnx")
        passes = deployable_qdq(out)
        check = scale_check(wrapped, out)
        return onnx_artifact(
            out,
            simulated=False,
            weight_bits=8,
            activation_bits=8,
            simulated_top1=simulated_top1,
            details={
                "granularity": "per-channel" if params.per_channel else "per-tensor",
                "symmetric_weights": True,
                "activations": "quint8 0..255 affine, per tensor",
                "batchnorm": "folded into conv before fake quantization",
                "quantize_adds": params.quantize_adds,
                "graph": "torch.ao FX (prepare_qat_fx)",
                **passes,
                "scale_check": check,
                "ort_cpu": ort_kernels(out),
            },
        )
