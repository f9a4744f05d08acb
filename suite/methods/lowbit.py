"""Shared machinery of the simulated low-bit weight methods (binary, ternary, log2): swap the chosen
Conv2d/Linear layers for versions whose forward uses quantized weights (straight-through estimator for
the gradient), fine-tune from the fp32 weights, then bake the quantized weights into plain layers and
export an ONNX file that reproduces the low-bit numerics in float32.

Hand-written because no maintained library does this for torch on this stack: Larq (binarization) is
Keras-only, BiBench and the TWN/LQ-Nets code are research repositories, and Brevitas' export targets
FINN/QONNX graphs that ONNX Runtime does not run. The quantizers are a few lines each and are tested
on their numerics (two values per channel, three per tensor, powers of two).

Nothing here runs faster on a CPU: there are no 1-bit, 2-bit or shift kernels in ORT. The artifact is
``simulated``; its accuracy is real (measured on the exported file), its size and bit-operations are
the theoretical ones of the quantized layers (``details.theoretical``; ``compressed_size_bytes`` is
that packed size, the zlib size of the float file is ``details.zlib_size_bytes``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from suite.errors import BadInput
from suite.methods.base import PrepareContext
from suite.methods.onnx_graph import onnx_artifact
from suite.methods.torch_common import clone_sequential, export, finetune, torch_top1, weight_layers

Quantizer = Callable[[Any], Any]  # float weight tensor -> quantized weight tensor (same shape)


def ste(w: Any, quantizer: Quantizer) -> Any:
    """Straight-through estimator: forward the quantized value, backward the identity."""
    return w + (quantizer(w) - w).detach()


def make_layer(layer: Any, quantizer: Quantizer) -> Any:
    """A Conv2d/Linear whose forward uses ``quantizer(weight)`` (STE); same parameters as ``layer``."""
    import torch.nn.functional as F
    from torch import nn

    if isinstance(layer, nn.Conv2d):

        class QConv2d(nn.Conv2d):
            def forward(self, x):  # type: ignore[no-untyped-def]
                return self._conv_forward(x, ste(self.weight, quantizer), self.bias)

        new = QConv2d(
            layer.in_channels,
            layer.out_channels,
            layer.kernel_size,
            layer.stride,
            layer.padding,
            layer.dilation,
            layer.groups,
            layer.bias is not None,
        )
    else:

        class QLinear(nn.Linear):
            def forward(self, x):  # type: ignore[no-untyped-def]
                return F.linear(x, ste(self.weight, quantizer), self.bias)

        new = QLinear(layer.in_features, layer.out_features, layer.bias is not None)
    new.load_state_dict(layer.state_dict())
    return new


def choose_layers(module: Any, keep_first_last: bool) -> list[str]:
    names = [name for name, _ in weight_layers(module)]
    if keep_first_last:
        names = names[1:-1]
    if not names:
        raise BadInput(
            "no Conv2d/Linear layer left to quantize (the model has only a first and a last layer; set keep_first_last: false)"
        )
    return names


def replace(module: Any, name: str, new: Any) -> None:
    parent = module
    parts = name.split(".")
    for part in parts[:-1]:
        parent = getattr(parent, part)
    setattr(parent, parts[-1], new)


def bake(module: Any, quantizer: Quantizer, names: list[str]) -> None:
    """Quantized layers -> plain layers holding the quantized weights (what gets exported)."""
    import torch
    from torch import nn

    lookup = dict(module.named_modules())
    for name in names:
        q = lookup[name]
        plain = (
            nn.Conv2d(
                q.in_channels,
                q.out_channels,
                q.kernel_size,
                q.stride,
                q.padding,
                q.dilation,
                q.groups,
                q.bias is not None,
            )
            if isinstance(q, nn.Conv2d)
            else nn.Linear(q.in_features, q.out_features, q.bias is not None)
        )
        with torch.no_grad():
            plain.weight.copy_(quantizer(q.weight))
            if q.bias is not None:
                plain.bias.copy_(q.bias)
        replace(module, name, plain)


def theoretical(
    module: Any, names: list[str], bits: float, input_shape: list[int], activation_bits: int = 32
) -> dict[str, Any]:
    """Theoretical size and bit-operations: quantized layers at ``bits`` per weight (plus one fp32
    scale per output channel), everything else fp32; BOPs = MACs x weight bits x activation bits."""
    import torch
    from torch import nn

    macs: dict[str, int] = {}
    hooks = []
    for name, m in module.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):

            def hook(mod, inp, out, name=name):  # type: ignore[no-untyped-def]
                per_output = mod.weight[0].numel()  # MACs per output element
                macs[name] = int(out[0].numel() * per_output)

            hooks.append(m.register_forward_hook(hook))
    with torch.no_grad():
        module.eval()(torch.zeros(1, *input_shape))
    for h in hooks:
        h.remove()
    size_bits = 0.0
    bops = 0.0
    fp32_bops = 0.0
    quantized = set(names)
    for name, m in module.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            n = m.weight.numel()
            if name in quantized:
                size_bits += n * bits + m.weight.shape[0] * 32
                bops += macs[name] * bits * activation_bits
            else:
                size_bits += n * 32
                bops += macs[name] * 32 * 32
            fp32_bops += macs[name] * 32 * 32
            if m.bias is not None:
                size_bits += m.bias.numel() * 32
    others = (
        sum(
            p.numel()
            for m in module.modules()
            if not isinstance(m, (nn.Conv2d, nn.Linear))
            for p in m.parameters(recurse=False)
        )
        * 32
    )
    return {
        "size_bytes": int((size_bits + others + 7) // 8),
        "bit_operations": int(bops),
        "bit_operations_fp32": int(fp32_bops),
        "quantized_layers": names,
        "bits_per_weight": bits,
    }


def lowbit_artifact(
    ctx: PrepareContext,
    quantizer: Quantizer,
    *,
    bits: float,
    keep_first_last: bool,
    epochs: int,
    lr: float,
    seed: int,
    prepare: Callable[[Any, list[str]], tuple[list[str], list[str]]] | None = None,
    activation_bits: int = 32,
    details: dict[str, Any] | None = None,
):  # -> Artifact
    """The whole recipe: choose layers, swap in STE layers, (optionally) adapt the graph, fine-tune,
    bake, export; accuracy in torch before export goes to ``simulated_top1``. Layers are named by
    their module path (``named_modules``)."""
    module = clone_sequential(ctx.reference.module)
    names = choose_layers(module, keep_first_last)
    lookup = dict(module.named_modules())
    for name in names:
        replace(module, name, make_layer(lookup[name], quantizer))
    extra: list[str] = []
    if prepare is not None:  # may wrap layers (binary activations): returns their new names
        names, extra = prepare(module, names)
    before = torch_top1(module, ctx.splits.x_eval, ctx.splits.y_eval)
    finetune(module, ctx.splits, epochs, lr, seed)
    simulated_top1 = torch_top1(module, ctx.splits.x_eval, ctx.splits.y_eval)
    bake(module, quantizer, names)
    out = export(module, ctx.task.input.shape, ctx.workdir / "model.onnx")
    theory = theoretical(module, names, bits, ctx.task.input.shape, activation_bits)
    return onnx_artifact(
        out,
        simulated=True,
        weight_bits=int(bits) if float(bits).is_integer() else None,
        activation_bits=activation_bits,
        simulated_top1=simulated_top1,
        compressed_size_bytes=theory["size_bytes"],  # the packed low-bit form; the file's zlib size stays in details
        details={
            "quantized_layers": names,
            "kept_float": [n for n, _ in weight_layers(module) if n not in names],
            "layer_shapes": {n: list(m.weight.shape) for n, m in weight_layers(module)},
            "finetune_epochs": epochs,
            "top1_before_finetune": before,
            "theoretical": theory,
            "graph_changes": extra,
            **(details or {}),
        },
    )
