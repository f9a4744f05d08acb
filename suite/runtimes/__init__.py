"""Runtimes load an Artifact on this machine and run batches. Run side: numpy + the runtime library.

``PLUGINS`` is the one place a built-in runtime's metadata is written (the artifact formats it loads
the line ``edgeq list runtimes`` prints and, for runtimes whose library is not already among the
fingerprinted numeric packages, its distribution ``package``, whose version goes into those jobs' fingerprints); what a runtime can say about this machine (does it load,
what would fall back, how its profile entries are labelled) is asked of the runtime class itself.
"""

PLUGINS: dict[str, tuple[str, dict[str, object]]] = {
    "ort": (
        "ort:OrtRuntime",
        dict(formats=["onnx"], summary="ONNX Runtime (execution providers from the profile, the one used read back)"),
    ),
    "litert": (
        "litert:LiteRtRuntime",
        dict(formats=["tflite"], summary="LiteRT (ai-edge-litert) with the XNNPACK delegate"),
    ),
    "torch": (
        "torch_rt:TorchRuntime",
        dict(formats=["torch"], summary="PyTorch eager, CPU or CUDA (fp32/fp16/bf16, CUDA graphs)"),
    ),
    "openvino": (
        "openvino_rt:OpenVinoRuntime",
        dict(
            formats=["onnx", "openvino"],
            package="openvino",
            summary="OpenVINO CPU plugin: ONNX (fp32, QDQ) and IR; f32 unless bf16 is asked for, precision read back",
        ),
    ),
    "executorch": (
        "executorch_rt:ExecutorchRuntime",
        dict(
            formats=["pte"],
            package="executorch",
            summary="ExecuTorch runtime (XNNPACK delegate) for .pte programs; delegated share read from the program",
        ),
    ),
    "llamacpp": (
        "llamacpp_rt:LlamaCppRuntime",
        dict(
            formats=["gguf"],
            package="llama-cpp-python",
            summary="llama.cpp (llama-cpp-python, built by make llamacpp) for GGUF causal LMs; build and CPU features recorded",
        ),
    ),
}
