"""Which QDQ activation type does this CPU prefer? uint8 vs int8 activations (int8 weights, per-channel).

A MobileNetV2-shaped network (random weights: speed does not depend on their values) at 1x3x224x224,
ONNX Runtime CPU, one intra-op thread, median of 30 runs. Its answer sets ``method_defaults`` of
``hardware/local-cpu.yaml``. Run: ``.venv/bin/python tools/qdq_activation_types.py``.
"""

import tempfile
import time

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

D = tempfile.mkdtemp()

torch.manual_seed(0)


def cbr(i, o, s=1, g=1, k=3):
    return nn.Sequential(nn.Conv2d(i, o, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(o), nn.ReLU6())


class IR(nn.Module):
    def __init__(s, i, o, st, e):
        super().__init__()
        h = i * e
        s.res = st == 1 and i == o
        s.b = nn.Sequential(
            *([cbr(i, h, k=1)] if e != 1 else []), cbr(h, h, st, h), nn.Conv2d(h, o, 1, bias=False), nn.BatchNorm2d(o)
        )

    def forward(s, x):
        return x + s.b(x) if s.res else s.b(x)


cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
layers = [cbr(3, 32, 2)]
c = 32
for t, o, n, s in cfg:
    for i in range(n):
        layers.append(IR(c, o, s if i == 0 else 1, t))
        c = o
layers += [cbr(c, 1280, k=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, 1000)]
m = nn.Sequential(*layers).eval()
torch.onnx.export(
    m,
    torch.zeros(1, 3, 224, 224),
    f"{D}/fp32.onnx",
    dynamo=False,
    opset_version=17,
    input_names=["x"],
    output_names=["y"],
)
quant_pre_process(f"{D}/fp32.onnx", f"{D}/pre.onnx")
X = np.random.rand(16, 3, 224, 224).astype(np.float32)


class R(CalibrationDataReader):
    def __init__(s):
        s.i = iter([{"x": X[i : i + 1]} for i in range(16)])

    def get_next(s):
        return next(s.i, None)


for a in ["uint8", "int8"]:
    quantize_static(
        f"{D}/pre.onnx",
        f"{D}/q_{a}.onnx",
        R(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8 if a == "uint8" else QuantType.QInt8,
        weight_type=QuantType.QInt8,
    )


def bench(p):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])
    x = X[:1]
    for _ in range(5):
        s.run(None, {"x": x})
    t = []
    for _ in range(30):
        a = time.perf_counter()
        s.run(None, {"x": x})
        t.append(time.perf_counter() - a)
    return np.median(t) * 1e3


for rep in range(2):
    for name in ["fp32", "q_uint8", "q_int8"]:
        print(rep, name, round(bench(f"{D}/{name}.onnx"), 2), "ms")
