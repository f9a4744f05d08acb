"""Quantization methods. Each module registers one method; none imports torch/onnx at import time."""
