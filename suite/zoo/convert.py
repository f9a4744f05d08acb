"""Keras and TFLite models -> ONNX, each in a child process, so ONNX-side methods can start from them.

Why a child process: Keras 3 picks its backend once per process. The export uses the torch backend
(``KERAS_BACKEND=torch``: a Keras model is then a torch module and ``model.export(format="onnx")``
goes through torch's exporter, no TensorFlow graph tools needed), while the LiteRT methods in the
same worker use Keras on TensorFlow. TFLite files go through tf2onnx's TFLite reader, which imports
TensorFlow; keeping that out of the worker keeps its memory and threads out of the timing too.

Run as ``python -m suite.zoo.convert keras|tflite SRC DST [--name N --classes K --shape H W C]``;
``--check X.npy Y.npy`` (Keras) also writes the Keras model's own outputs on the inputs ``X`` to ``Y``,
so the parent can check the exported graph against its source (``suite.zoo.conversion_check``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from suite.errors import BadInput

OPSET = 17


def run_child(kind: str, src: Path, dst: Path, *extra: str, timeout: float = 900) -> None:
    """Convert in a child process; one line from its stderr if it fails."""
    env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp.onnx")
    proc = subprocess.run(
        [sys.executable, "-m", "suite.zoo.convert", kind, str(src), str(tmp), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if proc.returncode != 0 or not tmp.is_file():
        lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith((" ", "\t"))]
        marked = [line for line in lines if line.startswith("edgeq-convert:")]
        reason = (marked or lines or [f"exit {proc.returncode}"])[-1].removeprefix("edgeq-convert:").strip()
        raise BadInput(f"{src}: cannot convert the {kind} model to ONNX: {reason[:300]}")
    tmp.replace(dst)


def _keras(
    src: str,
    dst: str,
    name: str | None,
    classes: int | None,
    shape: list[int] | None,
    check: tuple[str, str] | None = None,
) -> None:
    import keras
    import numpy as np

    if src.endswith(".keras"):
        model = keras.saving.load_model(src, compile=False)
    else:
        if not name or not hasattr(keras.applications, name):
            raise SystemExit(f"edgeq-convert: model.name {name!r} is not a keras.applications model")
        builder = getattr(keras.applications, name)
        kwargs = {"weights": src, "input_shape": tuple(shape) if shape else None}
        if classes and classes != 1000:
            kwargs["classes"] = classes
        model = builder(**kwargs)
    sample_shape = tuple(int(d) for d in model.inputs[0].shape[1:]) if shape is None else tuple(shape)
    model.predict(np.zeros((1, *sample_shape), dtype="float32"), verbose=0)  # export needs a called model
    model.export(dst, format="onnx", verbose=False)
    if check:  # the source's own outputs on the given inputs, for the conversion check in the parent
        np.save(check[1], np.asarray(model.predict(np.load(check[0]), verbose=0)))


def _tflite(src: str, dst: str) -> None:
    import tf2onnx

    tf2onnx.convert.from_tflite(src, opset=OPSET, output_path=dst)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["keras", "tflite"])
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--name")
    parser.add_argument("--classes", type=int)
    parser.add_argument("--shape", type=int, nargs="*")
    parser.add_argument("--check", nargs=2, metavar=("INPUTS_NPY", "OUTPUTS_NPY"))
    args = parser.parse_args()
    try:
        if args.kind == "keras":
            _keras(args.src, args.dst, args.name, args.classes, args.shape or None, args.check)
        else:
            _tflite(args.src, args.dst)
    except SystemExit:
        raise
    except Exception as exc:
        line = " ".join(str(exc).split())[:300] or type(exc).__name__
        print(f"edgeq-convert: {type(exc).__name__}: {line}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
