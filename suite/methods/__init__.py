"""Quantization methods: one module per method (torch, onnx and TensorFlow are imported inside functions).

``PLUGINS`` below is the one place a built-in method's metadata is written: its module, family,
artifact format, usual label (``simulated``: no integer kernels on a CPU, so speed is never claimed;
the artifact still decides for itself from the file) and the summary ``edgeq list methods`` prints.
The registry reads this table without importing any method module, as lm-evaluation-harness keeps
its name -> path map beside its plugins.
"""

# name: (module:attr relative to this package, metadata)
PLUGINS: dict[str, tuple[str, dict[str, object]]] = {
    "fp32": ("fp32:Fp32", dict(family="baseline", format="onnx", simulated=False, summary="float32 reference exported to ONNX")),
    "ptq-static": ("ort_ptq:PtqStatic", dict(family="ptq", format="onnx", simulated=False, summary="ONNX Runtime quantize_static, QDQ int8 (minmax / entropy / percentile calibration)")),
    "dynamic": ("ort_dynamic:Dynamic", dict(family="dynamic", format="onnx", simulated=False, summary="ONNX Runtime quantize_dynamic: int8 weights, activations quantized per batch at run time")),
    "fp16": ("fp16:Fp16", dict(family="fp16", format="onnx", simulated=False, summary="ONNX float16 conversion (ORT CPU on x86 casts back to fp32: recorded)")),
    "hybrid": ("hybrid:Hybrid", dict(family="hybrid", format="onnx", simulated=False, summary="int8 weights (DequantizeLinear), float activations and compute; ORT weight-only")),
    "int4": ("int4:Int4", dict(family="weight-only", format="onnx", simulated=True, summary="4-bit weights: INT4 QDQ for Conv/Gemm (no ORT CPU kernel: simulated), MatMulNBits for MatMul")),
    "nncf-weights": ("nncf_weights:NncfWeights", dict(family="weight-only", format="onnx", simulated=False, summary="NNCF compress_weights: int4 sym/asym groups as MatMulNBits (AWQ, scale estimation), int8 backup layers")),
    "fixed-point": ("fixed_point:FixedPoint", dict(family="fixed-point", format="onnx", simulated=False, summary="Qm.n int8: power-of-two scales per tensor for weights and activations (ORT QDQ)")),
    "qat": ("qat:Qat", dict(family="qat", format="onnx", simulated=False, summary="torch.ao eager QAT (FakeQuantize, fine-tuned from fp32) exported to ONNX QDQ int8")),
    "mixed-precision": ("mixed:MixedPrecision", dict(family="mixed", format="onnx", simulated=False, summary="int8 QDQ with float fallback for the layers that break an accuracy budget (sensitivity + greedy)")),
    "mixed-hawq": ("hawq:MixedHawq", dict(family="mixed", format="onnx", simulated=True, summary="Hessian-trace (HAWQ) 4/8-bit weight allocation by ILP; int4 layers simulated on CPU")),
    "binary": ("binary:Binary", dict(family="binary", format="onnx", simulated=True, summary="BNN/XNOR-Net: sign weights (per-channel scale) and sign activations, STE fine-tuning")),
    "ternary": ("ternary:Ternary", dict(family="ternary", format="onnx", simulated=True, summary="TWN ternary weights {-a, 0, +a} (threshold 0.7 mean|W|), STE fine-tuning")),
    "log2": ("log2:Log2", dict(family="log", format="onnx", simulated=True, summary="power-of-two weights (multiplies become shifts), STE fine-tuning")),
    "kmeans": ("kmeans:Kmeans", dict(family="vector", format="onnx", simulated=False, summary="weight clustering: k centroids per layer (scikit-learn k-means), size benefit only")),
    "product-quantization": ("pq:ProductQuantization", dict(family="product", format="onnx", simulated=True, summary="product quantization of weight rows (k-means codebook of sub-vectors per layer)")),
    "tflite-fp32": ("tflite:TfliteFp32", dict(family="baseline", format="tflite", simulated=False, summary="float32 TFLite (TFLiteConverter), run by LiteRT")),
    "tflite-fp16": ("tflite:TfliteFp16", dict(family="fp16", format="tflite", simulated=False, summary="TFLite float16 weights (dequantized to fp32 compute on x86 CPU)")),
    "tflite-dynamic": ("tflite:TfliteDynamic", dict(family="dynamic", format="tflite", simulated=False, summary="TFLite dynamic-range: int8 weights, hybrid kernels quantize activations on the fly")),
    "tflite-int8": ("tflite:TfliteInt8", dict(family="ptq", format="tflite", simulated=False, summary="TFLite full-integer int8 PTQ (representative dataset = calibration split)")),
    "tflite-16x8": ("tflite:Tflite16x8", dict(family="ptq", format="tflite", simulated=False, summary="TFLite int16 activations x int8 weights (no XNNPACK kernels: reference kernels)")),
    "edgetpu-int8": ("tflite:EdgeTpuInt8", dict(family="ptq", format="tflite", simulated=False, summary="TFLite full-int8 compiled by edgetpu_compiler for the Coral Edge TPU")),
    "fp32-torch": ("torch_export:Fp32Torch", dict(family="baseline", format="torch", simulated=False, summary="float32 reference as a torch.export program (torch runtime)")),
}  # fmt: skip
