"""``qat``: quantization-aware training with torch.ao (eager mode), exported to ONNX QDQ.

PT2E (``torch.ao.quantization.quantize_pt2e``) is not in torch 2.13 and torchao's PT2E QAT does not
export to ONNX, so this is eager-mode QAT: Conv/Linear+ReLU fused (``fuse_modules_qat``), non-fused
``FakeQuantize`` modules (activations quint8 0..255 per tensor, weights qint8 -128..127 symmetric per
channel or per tensor: the fused default qconfig does not export), ranges first calibrated on the
calibration split, then fine-tuned from the fp32 weights on the training split, observers frozen for
the last epochs and before export. ``torch.onnx.export(dynamo=False)`` writes QuantizeLinear/
DequantizeLinear pairs with the learned scales; weight pairs are then folded into int8 initializers
(ONNX QuantizeLinear rounds half-to-even like torch, so the folded values are the fake-quant values),
which makes the file the same shape as ``ptq-static``'s, fused by ONNX Runtime into integer kernels.

After export the method checks that every scale and zero point in the ONNX file equals the one its
FakeQuantize module learned (``details.scale_check``) and fails otherwise. ``simulated_top1`` is the
fake-quant accuracy in torch on the eval split; ``top1`` is measured on the deployed ONNX file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from suite.errors import JobFailed
from suite.methods.base import Method, Params, PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.ort_qdq import ort_kernels
from suite.methods.torch_common import clone_sequential, export, finetune, torch_top1


class QatParams(Params):
    epochs: int = Field(4, ge=0, description="fine-tuning epochs with fake quantization")
    observer_epochs: int = Field(2, ge=0, description="epochs whose ranges keep updating; later ones train with frozen ranges")
    lr: float = Field(2e-4, gt=0)
    batch_size: int = Field(64, ge=2)
    per_channel: bool = True
    seed: int = 0


def qat_model(reference: Any, per_channel: bool) -> Any:
    """The reference model wrapped in Quant/DeQuant stubs, fused and prepared for QAT (train mode)."""
    import torch
    import torch.ao.quantization as tq
    from torch import nn

    class Wrapped(nn.Module):
        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.quant = tq.QuantStub()
            self.model = model
            self.dequant = tq.DeQuantStub()

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.dequant(self.model(self.quant(x)))

    model = clone_sequential(reference)
    if isinstance(model, nn.Sequential):
        pairs = []
        children = list(model.named_children())
        for (a, ma), (b, mb) in zip(children, children[1:]):
            if isinstance(ma, (nn.Conv2d, nn.Linear)) and isinstance(mb, nn.ReLU):
                pairs.append([a, b])
        if pairs:
            model.train()
            tq.fuse_modules_qat(model, pairs, inplace=True)
    activation = tq.FakeQuantize.with_args(
        observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=torch.quint8, qscheme=torch.per_tensor_affine
    )
    if per_channel:
        weight = tq.FakeQuantize.with_args(
            observer=tq.MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127, dtype=torch.qint8,
            qscheme=torch.per_channel_symmetric, ch_axis=0,
        )  # fmt: skip
    else:
        weight = tq.FakeQuantize.with_args(
            observer=tq.MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=torch.qint8, qscheme=torch.per_tensor_symmetric
        )
    wrapped = Wrapped(model)
    wrapped.qconfig = tq.QConfig(activation=activation, weight=weight)
    for module in wrapped.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.qconfig = None  # eager mode has no QAT BatchNorm without a conv to fold into
    wrapped.train()
    tq.prepare_qat(wrapped, inplace=True)
    return wrapped


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


def fold_weight_quantize(path: Path) -> int:
    """Replace QuantizeLinear(float initializer) by its int8 result: the DequantizeLinear then reads an
    integer initializer, as in ORT's own QDQ files. Returns the number of weights folded."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}

    def constant(name: str):  # an initializer, possibly behind Identity nodes
        while name not in inits and name in producer and producer[name].op_type == "Identity":
            name = producer[name].input[0]
        return numpy_helper.to_array(inits[name]) if name in inits else None

    remove, folded = [], 0
    for node in graph.node:
        if node.op_type != "QuantizeLinear" or node.input[0] not in inits:
            continue
        w = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
        scale = constant(node.input[1]).astype(np.float32)
        zp = constant(node.input[2])
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [1] * w.ndim
        if scale.size > 1:
            shape[axis] = -1
        info = np.iinfo(zp.dtype)
        q = np.clip(np.round(w / scale.reshape(shape)) + zp.astype(np.int32).reshape(shape), info.min, info.max).astype(zp.dtype)
        q_name = node.input[0] + "_quantized"
        graph.initializer.append(numpy_helper.from_array(q, q_name))
        for consumer in graph.node:
            for i, name in enumerate(consumer.input):
                if name == node.output[0]:
                    consumer.input[i] = q_name
        remove.append(node)
        folded += 1
    for node in remove:
        graph.node.remove(node)
    used = {name for n in graph.node for name in n.input}
    for t in list(graph.initializer):
        if t.name not in used:
            graph.initializer.remove(t)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return folded


SCALE_PRESERVING = ("MaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze")


def requantize_passthrough(path: Path) -> int:
    """Eager-mode QAT puts no FakeQuantize after MaxPool/Flatten, so the Linear after them would read
    a float tensor and ORT could not fuse it. These ops do not change a tensor's scale (the max or
    reshape of quantized values is a quantized value), so a Q/DQ pair with the incoming scale and zero
    point after them is exact; ORT's own quantizer does the same. Returns the pairs inserted."""
    import onnx
    from onnx import helper

    model = onnx.load(str(path))
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    nodes, inserted = [], 0
    for node in graph.node:
        nodes.append(node)
        if node.op_type not in SCALE_PRESERVING:
            continue
        source = producer.get(node.input[0])
        while source is not None and source.op_type in SCALE_PRESERVING:
            source = producer.get(source.input[0])
        consumers = [n for n in graph.node if node.output[0] in n.input]
        if source is None or source.op_type != "DequantizeLinear" or not consumers or any(c.op_type == "QuantizeLinear" for c in consumers):
            continue
        if any(a.name == "axis" for a in source.attribute):
            continue  # per-channel: not an activation
        scale, zp = source.input[1], source.input[2]
        q_out, dq_out = node.output[0] + "_requantized", node.output[0] + "_dequantized"
        dq = helper.make_node("DequantizeLinear", [q_out, scale, zp], [dq_out], name=node.name + "_DequantizeLinear")
        nodes.append(helper.make_node("QuantizeLinear", [node.output[0], scale, zp], [q_out], name=node.name + "_QuantizeLinear"))
        nodes.append(dq)
        producer[dq_out] = dq  # a chain (MaxPool -> Flatten) requantizes each link
        for consumer in consumers:
            for i, name in enumerate(consumer.input):
                if name == node.output[0]:
                    consumer.input[i] = dq_out
        inserted += 1
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return inserted


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

    fake_quants = {name: m for name, m in wrapped.named_modules() if hasattr(m, "scale") and hasattr(m, "zero_point") and hasattr(m, "fake_quant_enabled")}
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
            raise JobFailed(f"QAT export: {node.name} has scale/zero point of shape {stored.shape} / {zp_stored.tolist()[:4]}, its FakeQuantize learned {learned.shape} / {zp_learned.tolist()[:4]}")
        worst = max(worst, float(np.max(np.abs(stored - learned) / learned)))
        checked += 1
    if missing or not checked or worst > 1e-6:
        raise JobFailed(f"QAT export: scales do not match the learned FakeQuantize scales (max rel diff {worst:.2g}, unmatched {missing[:3]})")
    return {"qdq_nodes_checked": checked, "max_rel_diff": worst, "fake_quant_modules": len(fake_quants)}


def train_qat(ctx: PrepareContext, params: QatParams) -> Any:
    """The fine-tuned, frozen QAT model (eval mode)."""
    import torch
    import torch.ao.quantization as tq

    from suite.methods.torch_common import single_thread

    wrapped = qat_model(ctx.reference.module, params.per_channel)
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
        folded = fold_weight_quantize(out)
        requantized = requantize_passthrough(out)
        check = scale_check(wrapped, out)
        return onnx_artifact(
            out,
            simulated=False,
            weight_bits=8,
            activation_bits=8,
            simulated_top1=simulated_top1,
            details={"granularity": "per-channel" if params.per_channel else "per-tensor", "symmetric_weights": True,
                     "activations": "quint8 0..255 affine, per tensor", "weights_folded": folded, "requantized_passthrough": requantized,
                     "scale_check": check,
                     "ort_cpu": ort_kernels(out)},
        )  # fmt: skip
