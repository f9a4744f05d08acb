"""Every format conversion EdgeQ makes, checked against its source before a number is recorded.

A converter can write a graph that loads and runs and computes something else, and a record made
from it would publish the converter's error as the model's accuracy. So each converted
artifact is run beside its source, on a handful of the task's own inputs, the source in its own
runtime (a TFLite file on LiteRT, a torch module in torch, an ONNX file in ONNX Runtime), and the
agreement is recorded as ``artifact.details.conversion_check``: the largest output difference relative
to the range of the source's outputs, and for classifiers the share of inputs whose top-1 class agrees.
A conversion beyond its tolerance is refused with one line naming it and the disagreement.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from suite.errors import BadInput

N_INPUTS = 8  # the task's first eval inputs each conversion is checked on
FLOAT_TOLERANCE = {"max_rel_diff": 1e-3, "top1_agreement": 1.0}  # a float format change must not change numbers


def compare(
    source: str,
    converted: str,
    ref: np.ndarray,
    got: np.ndarray,
    tolerance: dict[str, float] | None = None,
    classifier: bool = True,
) -> dict[str, Any]:
    """The agreement of ``got`` (the converted artifact's outputs) with ``ref`` (the source's)."""
    tolerance = dict(tolerance or FLOAT_TOLERANCE)
    ref = np.asarray(ref, dtype=np.float64).reshape(len(ref), -1)
    got = np.asarray(got, dtype=np.float64).reshape(len(got), -1)
    if ref.shape != got.shape:
        return {
            "from": source,
            "to": converted,
            "n": int(len(ref)),
            "max_rel_diff": None,
            "top1_agreement": None,
            "tolerance": tolerance,
            "ok": False,
            "problem": f"output shape {list(got.shape)} != the source's {list(ref.shape)}",
        }
    span = float(ref.max() - ref.min()) or 1.0
    rel = float(np.abs(ref - got).max() / span)
    check: dict[str, Any] = {"from": source, "to": converted, "n": int(len(ref)), "max_rel_diff": rel}
    ok = rel <= tolerance["max_rel_diff"]
    if classifier:
        agree = float((ref.argmax(1) == got.argmax(1)).mean())
        check["top1_agreement"] = agree
        ok = ok and agree >= tolerance["top1_agreement"]
    check.update(tolerance=tolerance, ok=bool(ok and np.isfinite(got).all()))
    return check


def refusal(check: dict[str, Any]) -> str:
    """The one line that refuses a conversion that disagrees with its source."""
    if check.get("problem"):
        what = check["problem"]
    else:
        what = f"max output difference {check['max_rel_diff']:.3g} of the source's output range"
        if check.get("top1_agreement") is not None:
            what += f", top-1 agreement {round(check['top1_agreement'] * check['n'])}/{check['n']}"
    return (
        f"the {check['from']} -> {check['to']} conversion disagrees with its source on {check['n']} of the task's "
        f"inputs: {what} (tolerance {check['tolerance']}); no number is recorded from it"
    )


def enforce(check: dict[str, Any]) -> dict[str, Any]:
    """``check``, or a one-line BadInput when it is beyond its tolerance."""
    if not check["ok"]:
        raise BadInput(refusal(check))
    return check


def one_by_one(run: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Outputs sample by sample (files exported with a fixed batch of 1 run too)."""
    return np.concatenate([np.asarray(run(x[i : i + 1])).reshape(1, -1) for i in range(len(x))])


def litert_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    """A ``.tflite`` file's outputs on LiteRT's built-in kernels (integer I/O (de)quantized as declared)."""
    from ai_edge_litert import interpreter as lrt

    from suite.runtimes.litert import dequantize_output, quantize_input

    it = lrt.Interpreter(
        model_path=str(path), experimental_op_resolver_type=lrt.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]

    def run(sample: np.ndarray) -> np.ndarray:
        if sample.dtype != inp["dtype"]:
            sample = (
                quantize_input(sample, np.dtype(inp["dtype"]), inp.get("quantization"))
                if np.dtype(inp["dtype"]).kind in "iu"
                else sample.astype(inp["dtype"])
            )
        it.set_tensor(inp["index"], sample.reshape(inp["shape"]))
        it.invoke()
        return dequantize_output(it.get_tensor(out["index"]), out.get("quantization"))

    return one_by_one(run, x)


def ort_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    """An ONNX file's first output on ONNX Runtime's CPU provider."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return one_by_one(lambda sample: session.run(None, {name: sample})[0], x)


def torch_outputs(module: Any, x: np.ndarray) -> np.ndarray:
    """A torch module's outputs in eager torch."""
    import torch

    with torch.no_grad():
        return np.asarray(module(torch.from_numpy(np.ascontiguousarray(x))).float().numpy())


def keras_outputs(model: Any, x: np.ndarray) -> np.ndarray:
    """A Keras model's outputs in Keras (its own backend)."""
    return np.asarray(model(x, training=False))


def pte_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    """An ExecuTorch ``.pte`` program's outputs on the ExecuTorch runtime (one sample at a time)."""
    from suite.config.schemas import RuntimeSpec
    from suite.runtimes.executorch_rt import ExecutorchSession

    return np.asarray(ExecutorchSession(path, RuntimeSpec(name="executorch", threads=1)).predict(x))


def check_torch_export(reference: Any, path: Path, x_eval: np.ndarray) -> dict[str, Any]:
    """The torch -> ONNX export every ONNX method starts from, against the torch module; kept on the
    reference (its artifacts record it) or refused in one line."""
    x = np.ascontiguousarray(x_eval[:N_INPUTS])
    check = compare("torch", "onnx (torch.onnx)", torch_outputs(reference.module, x), ort_outputs(path, x))
    reference.conversion_check = enforce(check)
    return check
