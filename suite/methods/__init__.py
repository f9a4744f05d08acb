"""Quantization methods: one module per method (torch, onnx and TensorFlow are imported inside functions).

``PLUGINS`` below is the one place a built-in method's metadata is written: its module, family,
artifact format, the library that does the quantizing (``toolkit``: a distribution name, whose
installed version the record carries as ``method.toolkit``), usual label (``simulated``: no integer kernels on a CPU, so speed is never claimed;
the artifact still decides for itself from the file) and the summary ``edgeq list methods`` prints.
The registry reads this table without importing any method module, as lm-evaluation-harness keeps
its name -> path map beside its plugins.
"""

# name: (module:attr relative to this package, metadata)
PLUGINS: dict[str, tuple[str, dict[str, object]]] = {
    "fp32": (
        "fp32:Fp32",
        dict(
            toolkit="torch",
            family="baseline",
            format="onnx",
            simulated=False,
            summary="float32 reference exported to ONNX",
        ),
    ),
    "as-is": (
        "as_is:AsIs",
        dict(
            toolkit=None,
            family="baseline",
            format="source",
            simulated=False,
            summary="the task's own .tflite/.onnx/OpenVINO IR/.pte/.gguf file as it is (pre-quantized or not) on every runtime that loads it; precision read from the file",
        ),
    ),
    "ptq-static": (
        "ort_ptq:PtqStatic",
        dict(
            toolkit="onnxruntime",
            family="ptq",
            format="onnx",
            simulated=False,
            summary="ONNX Runtime quantize_static, QDQ int8 (minmax / entropy / percentile calibration)",
        ),
    ),
    "dynamic": (
        "ort_dynamic:Dynamic",
        dict(
            toolkit="onnxruntime",
            family="dynamic",
            format="onnx",
            simulated=False,
            summary="ONNX Runtime quantize_dynamic: int8 weights, activations quantized per batch at run time",
        ),
    ),
    "fp16": (
        "fp16:Fp16",
        dict(
            toolkit="onnxruntime",
            family="fp16",
            format="onnx",
            simulated=False,
            summary="ONNX float16 conversion (ORT CPU on x86 casts back to fp32: recorded)",
        ),
    ),
    "hybrid": (
        "hybrid:Hybrid",
        dict(
            toolkit="onnx",
            family="hybrid",
            format="onnx",
            simulated=False,
            summary="int8 weights (DequantizeLinear), float activations and compute; ORT weight-only",
        ),
    ),
    "int4": (
        "int4:Int4",
        dict(
            toolkit="onnxruntime",
            family="weight-only",
            format="onnx",
            simulated=True,
            summary="4-bit weights: INT4 QDQ for Conv/Gemm (no ORT CPU kernel: simulated), MatMulNBits for MatMul",
        ),
    ),
    "nncf-weights": (
        "nncf_weights:NncfWeights",
        dict(
            toolkit="nncf",
            family="weight-only",
            format="onnx",
            simulated=False,
            summary="NNCF compress_weights: int4 sym/asym groups as MatMulNBits (AWQ, scale estimation), int8 backup layers",
        ),
    ),
    "fixed-point": (
        "fixed_point:FixedPoint",
        dict(
            toolkit="onnxruntime",
            family="fixed-point",
            format="onnx",
            simulated=False,
            summary="Qm.n int8: power-of-two scales per tensor for weights and activations (ORT QDQ)",
        ),
    ),
    "qat": (
        "qat:Qat",
        dict(
            toolkit="torch",
            family="qat",
            format="onnx",
            simulated=False,
            summary="torch.ao FX QAT (BatchNorm folded first, residual adds quantized, fine-tuned from fp32), ONNX QDQ int8 that ORT fuses",
        ),
    ),
    "mixed-precision": (
        "mixed:MixedPrecision",
        dict(
            toolkit="onnxruntime",
            family="mixed",
            format="onnx",
            simulated=False,
            summary="int8 QDQ with float fallback for the layers that break an accuracy budget (sensitivity + greedy)",
        ),
    ),
    "mixed-hawq": (
        "hawq:MixedHawq",
        dict(
            toolkit="onnxruntime",
            family="mixed",
            format="onnx",
            simulated=True,
            summary="Hessian-trace (HAWQ) 4/8-bit weight allocation by ILP; int4 layers simulated on CPU",
        ),
    ),
    "binary": (
        "binary:Binary",
        dict(
            toolkit="torch",
            family="binary",
            format="onnx",
            simulated=True,
            summary="BNN/XNOR-Net: sign weights (per-channel scale) and sign activations, STE fine-tuning",
        ),
    ),
    "ternary": (
        "ternary:Ternary",
        dict(
            toolkit="torch",
            family="ternary",
            format="onnx",
            simulated=True,
            summary="TWN ternary weights {-a, 0, +a} (threshold 0.7 mean|W|), STE fine-tuning",
        ),
    ),
    "log2": (
        "log2:Log2",
        dict(
            toolkit="torch",
            family="log",
            format="onnx",
            simulated=True,
            summary="power-of-two weights (multiplies become shifts), STE fine-tuning",
        ),
    ),
    "kmeans": (
        "kmeans:Kmeans",
        dict(
            toolkit="scikit-learn",
            family="vector",
            format="onnx",
            simulated=False,
            summary="weight clustering: k centroids per layer (scikit-learn k-means), size benefit only",
        ),
    ),
    "product-quantization": (
        "pq:ProductQuantization",
        dict(
            toolkit="scikit-learn",
            family="product",
            format="onnx",
            simulated=True,
            summary="product quantization of weight rows (k-means codebook of sub-vectors per layer)",
        ),
    ),
    "tflite-fp32": (
        "tflite:TfliteFp32",
        dict(
            toolkit="tensorflow",
            family="baseline",
            format="tflite",
            simulated=False,
            summary="float32 TFLite (TFLiteConverter), run by LiteRT",
        ),
    ),
    "tflite-fp16": (
        "tflite:TfliteFp16",
        dict(
            toolkit="tensorflow",
            family="fp16",
            format="tflite",
            simulated=False,
            summary="TFLite float16 weights (dequantized to fp32 compute on x86 CPU)",
        ),
    ),
    "tflite-dynamic": (
        "tflite:TfliteDynamic",
        dict(
            toolkit="tensorflow",
            family="dynamic",
            format="tflite",
            simulated=False,
            summary="TFLite dynamic-range: int8 weights, hybrid kernels quantize activations on the fly",
        ),
    ),
    "tflite-int8": (
        "tflite:TfliteInt8",
        dict(
            toolkit="tensorflow",
            family="ptq",
            format="tflite",
            simulated=False,
            summary="TFLite full-integer int8 PTQ (representative dataset = calibration split)",
        ),
    ),
    "tflite-16x8": (
        "tflite:Tflite16x8",
        dict(
            toolkit="tensorflow",
            family="ptq",
            format="tflite",
            simulated=False,
            summary="TFLite int16 activations x int8 weights (no XNNPACK kernels: reference kernels)",
        ),
    ),
    "edgetpu-int8": (
        "tflite:EdgeTpuInt8",
        dict(
            toolkit="tensorflow",
            family="ptq",
            format="tflite",
            simulated=False,
            summary="TFLite full-int8 compiled by edgetpu_compiler for the Coral Edge TPU",
        ),
    ),
    "fp32-torch": (
        "torch_export:Fp32Torch",
        dict(
            toolkit="torch",
            family="baseline",
            format="torch",
            simulated=False,
            summary="float32 reference as a torch.export program (torch runtime)",
        ),
    ),
    # Third-party toolkits (extra `toolkits`): the same task, evaluator and timing harness as the rows above.
    "nncf-ptq": (
        "nncf_ptq:NncfPtq",
        dict(
            toolkit="nncf",
            family="ptq",
            format="onnx",
            simulated=False,
            summary="NNCF nncf.quantize on the ONNX model (preset, fast/full bias correction, SmoothQuant alpha), QDQ int8",
        ),
    ),
    "nncf-accuracy-control": (
        "nncf_ptq:NncfAccuracyControl",
        dict(
            toolkit="nncf",
            family="mixed",
            format="onnx",
            simulated=False,
            summary="NNCF quantize_with_accuracy_control: int8 QDQ, layers reverted to float until the validation drop is within max_drop",
        ),
    ),
    "aimet-adaround": (
        "aimet:AimetAdaround",
        dict(
            toolkit="aimet-onnx",
            family="ptq",
            format="onnx",
            simulated=False,
            summary="AIMET (aimet-onnx) AdaRound: learned weight rounding per layer, QDQ int8",
        ),
    ),
    "aimet-cle": (
        "aimet:AimetCle",
        dict(
            toolkit="aimet-onnx",
            family="ptq",
            format="onnx",
            simulated=False,
            summary="AIMET (aimet-onnx) cross-layer equalization + high-bias fold, then QuantSim min-max, QDQ int8",
        ),
    ),
    "aimet-seqmse": (
        "aimet:AimetSeqMse",
        dict(
            toolkit="aimet-onnx",
            family="ptq",
            format="onnx",
            simulated=False,
            summary="AIMET (aimet-onnx) sequential MSE: weight encodings searched layer by layer on the outputs, QDQ int8",
        ),
    ),
    "brevitas-qat": (
        "brevitas_qat:BrevitasQat",
        dict(
            toolkit="brevitas",
            family="qat",
            format="onnx",
            simulated=False,
            summary="Brevitas QAT (W8A8 default; w_bits 4/2 simulated on CPU), exported as QCDQ ONNX",
        ),
    ),
    "executorch-fp32": (
        "executorch:ExecutorchFp32",
        dict(
            toolkit="executorch",
            family="baseline",
            format="pte",
            simulated=False,
            summary="float32 torch.export program lowered to XNNPACK, an ExecuTorch .pte (causal LMs: with its KV cache)",
        ),
    ),
    "executorch-int8": (
        "executorch:ExecutorchInt8",
        dict(
            toolkit="executorch",
            family="ptq",
            format="pte",
            simulated=False,
            summary="PT2E int8 with ExecuTorch's XNNPACK quantizer (per-channel symmetric), lowered to XNNPACK, .pte",
        ),
    ),
    "gguf-f32": (
        "gguf:GgufF32",
        dict(
            toolkit="llama-cpp-python",
            family="baseline",
            format="gguf",
            simulated=False,
            summary="llama.cpp F32 GGUF: the task's fp32 weights as llama.cpp's converter writes them, the llamacpp entry's fp32 baseline (its logits are the KLD reference)",
        ),
    ),
    "gguf-f16": (
        "gguf:GgufF16",
        dict(
            toolkit="llama-cpp-python",
            family="fp16",
            format="gguf",
            simulated=False,
            summary="llama.cpp F16 GGUF (the float baseline llama.cpp's own KLD tools compare with), from the f32 conversion",
        ),
    ),
    "gguf-q8_0": (
        "gguf:GgufQ8",
        dict(
            toolkit="llama-cpp-python",
            family="weight-only",
            format="gguf",
            simulated=False,
            summary="llama.cpp Q8_0 GGUF (llama-quantize from the f32 conversion), blocks of 32 int8 weights with an f16 scale",
        ),
    ),
    "gguf-q4_0": (
        "gguf:GgufQ4",
        dict(
            toolkit="llama-cpp-python",
            family="weight-only",
            format="gguf",
            simulated=False,
            summary="llama.cpp Q4_0 GGUF (llama-quantize), blocks of 32 4-bit weights with an f16 scale",
        ),
    ),
    "gguf-q4_k_m": (
        "gguf:GgufQ4KM",
        dict(
            toolkit="llama-cpp-python",
            family="weight-only",
            format="gguf",
            simulated=False,
            summary="llama.cpp Q4_K_M GGUF (llama-quantize's K-quant mix); tensors whose rows 256 does not divide fall back, recorded",
        ),
    ),
    "gguf-q4_k_m-imatrix": (
        "gguf:GgufQ4KMImatrix",
        dict(
            toolkit="llama-cpp-python",
            family="weight-only",
            format="gguf",
            simulated=False,
            summary="llama.cpp Q4_K_M GGUF with an importance matrix from the task's calibration text (llama-imatrix)",
        ),
    ),
    "gguf-iq4_xs-imatrix": (
        "gguf:GgufIq4XsImatrix",
        dict(
            toolkit="llama-cpp-python",
            family="weight-only",
            format="gguf",
            simulated=False,
            summary="llama.cpp IQ4_XS GGUF (non-linear 4-bit, 4.25 bpw nominal) with an importance matrix from the calibration text",
        ),
    ),
    "gguf": (
        "gguf:Gguf",
        dict(
            toolkit="llama-cpp-python",
            family="weight-only",
            format="gguf",
            simulated=False,
            summary="any llama-quantize type (param type) of the task's causal LM, with or without the calibration importance matrix (param imatrix)",
        ),
    ),
    "executorch-8da4w": (
        "executorch_lm:Executorch8da4w",
        dict(
            toolkit="executorch",
            family="dynamic",
            format="pte",
            simulated=False,
            summary="causal LMs: ExecuTorch's 8da4w (torchao int8 dynamic activations x int4 grouped weights), KV-cache program lowered to XNNPACK, .pte",
        ),
    ),
}
