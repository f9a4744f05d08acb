"""TFLite artifacts: the task's model as a Keras twin, converted by ``tf.lite.TFLiteConverter``.

Why a Keras twin and not a torch->TFLite converter: Google's torch->TFLite path (``ai-edge-torch``,
now ``litert-torch``) pins its own torch release and does not install beside this suite's torch
2.13.0, and ONNX->TF converters are unmaintained. The built-in models are ``nn.Sequential`` stacks of a
handful of layer kinds, so we rebuild the same stack in Keras and copy the trained weights (NCHW->NHWC
kernels; the first Dense after a Flatten has its rows permuted from CHW to HWC order). The twin keeps
the task's NCHW input (one leading Transpose) so every runtime is fed the same batches, and it is
checked numerically against the torch model on the eval split before conversion: the record carries
``twin_max_abs_diff``, and a twin that does not reproduce the float model fails the job. Accuracies of
TFLite and ONNX rows are therefore comparable: both start from the same trained weights.

A zoo source that already gives a Keras model is converted as is.
"""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from suite.errors import BadInput
from suite.methods.base import Artifact, PrepareContext

TWIN_TOLERANCE = 1e-3  # max |logit difference| between the torch model and its Keras twin


def keras_twin(module: Any, input_shape: list[int]) -> Any:
    """A Keras model computing what the torch ``nn.Sequential`` computes, with its weights."""
    import keras
    from torch import nn

    if not isinstance(module, nn.Sequential):
        raise BadInput(
            f"TFLite methods need a Keras twin of the model; only nn.Sequential stacks are supported, got {type(module).__name__}"
        )
    inp = keras.Input(tuple(input_shape), batch_size=None, name="input")
    h = inp
    if len(input_shape) == 3:
        h = keras.layers.Permute((2, 3, 1))(h)  # NCHW -> NHWC
    flatten_hwc: tuple[int, int, int] | None = None
    for index, layer in enumerate(module):
        where = f"layer {index} ({type(layer).__name__})"
        if isinstance(layer, nn.Conv2d):
            depthwise = (
                layer.groups == layer.in_channels and layer.groups > 1 and layer.out_channels == layer.in_channels
            )
            if layer.groups != 1 and not depthwise:
                raise BadInput(f"{where}: grouped convolutions other than depthwise have no Keras twin here")
            if layer.dilation != (1, 1) or layer.stride[0] != layer.stride[1]:
                raise BadInput(f"{where}: dilated or anisotropic-stride convolutions have no Keras twin here")
            pad = layer.padding if isinstance(layer.padding, tuple) else (layer.padding, layer.padding)
            k = layer.kernel_size[0]
            if pad[0] == (k - 1) // 2 and k % 2 == 1 and layer.stride[0] == 1:
                padding = "same"
            elif pad == (0, 0):
                padding = "valid"
            else:
                h = keras.layers.ZeroPadding2D(pad)(h)
                padding = "valid"
            w = layer.weight.detach().cpu().numpy()
            bias = layer.bias.detach().cpu().numpy() if layer.bias is not None else np.zeros(w.shape[0], np.float32)
            if depthwise:
                klayer = keras.layers.DepthwiseConv2D(layer.kernel_size, strides=layer.stride, padding=padding)
                h = klayer(h)
                klayer.set_weights([w.transpose(2, 3, 0, 1), bias])  # (C,1,kh,kw) -> (kh,kw,C,1)
            else:
                klayer = keras.layers.Conv2D(
                    layer.out_channels, layer.kernel_size, strides=layer.stride, padding=padding
                )
                h = klayer(h)
                klayer.set_weights([w.transpose(2, 3, 1, 0), bias])  # (O,I,kh,kw) -> (kh,kw,I,O)
        elif isinstance(layer, nn.Linear):
            w = layer.weight.detach().cpu().numpy()
            if flatten_hwc is not None:
                hh, ww, cc = flatten_hwc
                w = w.reshape(w.shape[0], cc, hh, ww).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
                flatten_hwc = None
            bias = layer.bias.detach().cpu().numpy() if layer.bias is not None else np.zeros(w.shape[0], np.float32)
            klayer = keras.layers.Dense(layer.out_features)
            h = klayer(h)
            klayer.set_weights([w.T, bias])
        elif isinstance(layer, nn.ReLU):
            h = keras.layers.ReLU()(h)
        elif isinstance(layer, nn.ReLU6):
            h = keras.layers.ReLU(max_value=6.0)(h)
        elif isinstance(layer, nn.MaxPool2d):
            h = keras.layers.MaxPooling2D(layer.kernel_size, strides=layer.stride)(h)
        elif isinstance(layer, nn.AvgPool2d):
            h = keras.layers.AveragePooling2D(layer.kernel_size, strides=layer.stride)(h)
        elif isinstance(layer, nn.AdaptiveAvgPool2d) and layer.output_size in (1, (1, 1)):
            h = keras.layers.GlobalAveragePooling2D()(h)
        elif isinstance(layer, nn.Flatten):
            if len(h.shape) == 4:
                flatten_hwc = tuple(int(d) for d in h.shape[1:])  # type: ignore[assignment]
                # A constant [-1, n] shape: Keras' Flatten/Reshape compute the batch size at run time
                # (SHAPE, STRIDED_SLICE, PACK), which XNNPACK does not take, splitting the graph.
                size = int(np.prod(h.shape[1:]))
                h = keras.layers.Lambda(lambda t, size=size: keras.ops.reshape(t, (-1, size)), output_shape=(size,))(h)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            klayer = keras.layers.BatchNormalization(epsilon=layer.eps)
            h = klayer(h)
            gamma = layer.weight.detach().cpu().numpy() if layer.affine else np.ones(layer.num_features, np.float32)
            beta = layer.bias.detach().cpu().numpy() if layer.affine else np.zeros(layer.num_features, np.float32)
            klayer.set_weights([gamma, beta, layer.running_mean.cpu().numpy(), layer.running_var.cpu().numpy()])
        elif isinstance(layer, (nn.Dropout, nn.Identity)):
            continue
        else:
            raise BadInput(f"{where}: no Keras twin for this layer kind")
    return keras.Model(inp, h)


def check_twin(module: Any, twin: Any, x: np.ndarray) -> float:
    """max |logits(torch) - logits(Keras)| on ``x``; the twin must reproduce the float model."""
    import torch

    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    got = np.asarray(twin(x, training=False))
    return float(np.abs(ref - got).max())


def keras_model(ctx: PrepareContext) -> tuple[Any, dict[str, Any]]:
    """The Keras model to convert, and how it was obtained (for the record)."""
    module = ctx.reference.module
    if type(module).__module__.startswith("keras"):
        return module, {"keras_source": "zoo"}
    twin = keras_twin(module, ctx.task.input.shape)
    diff = check_twin(module, twin, ctx.splits.x_eval[:256])
    if not diff <= TWIN_TOLERANCE:
        raise BadInput(
            f"the Keras twin does not reproduce the torch model (max |logit diff| {diff:.3g} > {TWIN_TOLERANCE})"
        )
    return twin, {"keras_source": "keras twin of the torch model (weights copied)", "twin_max_abs_diff": diff}


def convert(model: Any, configure: Callable[[Any], None]) -> bytes:
    """``TFLiteConverter.from_keras_model`` with ``configure(converter)``; the converter's chatter muted."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    configure(converter)
    with contextlib.redirect_stdout(io.StringIO()):
        return converter.convert()


def representative(x_cal: np.ndarray) -> Callable[[], Any]:
    def gen():  # type: ignore[no-untyped-def]
        for i in range(len(x_cal)):
            yield [x_cal[i : i + 1].astype(np.float32)]

    return gen


# --------------------------------------------------------------------------------- reading a .tflite
COMPUTE_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL"}
_BITS = {"int8": 8, "uint8": 8, "int16": 16, "float16": 16, "float32": 32, "int4": 4}


def analyse_tflite(path: Path) -> dict[str, Any]:
    """Precision map and weight bits read from the flatbuffer through LiteRT (no delegate applied).

    A compute op is labelled by its input and weight types: int8 x int8 -> ``int8``; int16 x int8 ->
    ``a16w8``; float x int8 -> ``int8-dynamic`` (TFLite's hybrid kernels quantize the input on the fly);
    float weights that come from a DEQUANTIZE of float16 constants compute in float32 (``fp32``) and are
    counted as 16-bit weights."""
    from ai_edge_litert import interpreter as lrt

    it = lrt.Interpreter(
        model_path=str(path), experimental_op_resolver_type=lrt.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    tensors = {t["index"]: t for t in it.get_tensor_details()}
    ops = it._get_ops_details()  # the only reader of the node list LiteRT exposes to Python
    producer = {int(t): op for op in ops for t in op["outputs"]}
    precision: Counter[str] = Counter()
    weight_bits: Counter[int] = Counter()
    layers = []

    def dtype(index: int) -> str:
        return np.dtype(tensors[index]["dtype"]).name

    for op in ops:
        name = op["op_name"]
        if name not in COMPUTE_OPS or len(op["inputs"]) < 2:
            continue
        a, w = int(op["inputs"][0]), int(op["inputs"][1])
        a_t, w_t = dtype(a), dtype(w)
        stored = w_t
        src = producer.get(w)
        if src is not None and src["op_name"] == "DEQUANTIZE":
            stored = dtype(int(src["inputs"][0]))
        n = int(np.prod(tensors[w]["shape"]))
        weight_bits[_BITS.get(stored, 32)] += n
        if a_t == "int8" and w_t == "int8":
            label = "int8"
        elif a_t == "int16" and w_t == "int8":
            label = "a16w8"
        elif a_t == "float32" and w_t == "int8":
            label = "int8-dynamic"
        elif w_t == "float16" and a_t == "float16":
            label = "fp16"
        else:
            label = "fp32"
        precision[label] += 1
        layers.append({"op": name, "precision": label, "weight_storage": stored, "n_weights": n})
    total = sum(weight_bits.values())
    return {
        "precision_map": dict(sorted(precision.items())),
        "weight_bits_hist": {str(b): c for b, c in sorted(weight_bits.items())},
        "mean_weight_bits": (sum(b * c for b, c in weight_bits.items()) / total) if total else None,
        "n_weights": total,
        "layers": layers,
        "ops": dict(sorted(Counter(op["op_name"] for op in ops).items())),
    }


def tflite_artifact(
    ctx: PrepareContext,
    configure: Callable[[Any], None],
    *,
    simulated: bool,
    weight_bits: int | None,
    activation_bits: int | None,
    details: dict[str, Any] | None = None,
) -> Artifact:
    """Convert the task's model with ``configure`` and describe the .tflite file from its contents."""
    model, origin = keras_model(ctx)
    out = ctx.workdir / "model.tflite"
    out.write_bytes(convert(model, configure))
    facts = analyse_tflite(out)
    if weight_bits == 32 and activation_bits == 32:  # a format change, not a quantization: held to its source
        from suite.zoo.conversion_check import N_INPUTS, compare, enforce, keras_outputs, litert_outputs

        x = np.ascontiguousarray(ctx.splits.x_eval[:N_INPUTS], dtype=np.float32)
        origin["conversion_check"] = enforce(
            compare("keras", "tflite (TFLiteConverter)", keras_outputs(model, x), litert_outputs(out, x))
        )
    return Artifact.for_file(
        "tflite",
        out,
        simulated=simulated,
        weight_bits=weight_bits,
        activation_bits=activation_bits,
        precision_map=facts.pop("precision_map"),
        details={**origin, **facts, **(details or {})},
    )
