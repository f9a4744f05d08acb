"""EdgeQ: benchmark quantization methods across model zoos and edge hardware.

The package is split in two sides (docs/design.md): *prepare* (``zoo``, ``data``, ``methods``: torch,
onnx, TensorFlow) and *run* (``runtimes``, ``measure``, ``power``, ``records``: numpy, pydantic, LoadGen
and the runtime library only). Nothing here imports a heavy library at import time.
"""

__version__ = "0.1.0"
