"""Every format conversion EdgeQ makes, checked against its source before a number is recorded.

A converter can write a graph that loads and runs and computes something else, and a record made
from it would publish the converter's error as the model's accuracy. So each converted
artifact is run beside its source, on a handful of the task's own inputs, the source in its own
runtime (a TFLite file on LiteRT, a torch module in torch, an ONNX file in ONNX Runtime), and the
agreement is recorded as ``artifact.details.conversion_check``: the largest output difference relative
to the range of the source's outputs, and for classifiers the share of inputs whose top-1 class agrees.
A conversion beyond its tolerance is refused with one line naming it and the disagreement.

Causal LMs (:func:`compare_lm`) are compared by their next-token distributions over a few dozen positions
of the task's own text (:func:`lm_check_tokens`: a prefill, then cached decode steps, so the converted
KV cache is checked too): the KL divergence (source || converted) in nats from the two log-softmaxes
(suite.measure.lm_fidelity, the measure the LM records use), the share of positions whose most likely
token agrees, and the largest logit difference relative to the source's logit range.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from suite.errors import BadInput

N_INPUTS = 8  # the task's first eval inputs each conversion is checked on
FLOAT_TOLERANCE = {"max_rel_diff": 1e-3, "top1_agreement": 1.0}  # a float format change must not change numbers
LM_TOKENS = 64  # positions of the task's text an LM conversion is checked on: the first eval window's first 64
LM_STEPS = 4  # of which the last ones are cached decode steps (one token each) after a prefill of the rest
#: A float -> float LM conversion (fp32 to fp32: ONNX on ONNX Runtime, the f32 GGUF on llama.cpp with its f16 KV
#: cache) must not move the next-token distributions. What correct conversions gave (LM_MEASURED): the f32 GGUF of
#: smollm2-135m-wiki is the worst, KLD mean 1.8e-6 / max 1.5e-5 nats, logits within 5.5e-4 of their range; the
#: tolerance is 50x those (18x for the logits), and one top-1 flip in 64 positions (a near-tie) is let pass.
LM_TOLERANCE = {"kld_mean": 1e-4, "kld_max": 1e-3, "top1_agreement": 0.98, "max_rel_diff": 1e-2}
#: Correct conversions checked by compare_lm on the 64 positions of lm_check_tokens, measured on the 2-core Xeon
#: VM (loaded): (kld_mean, kld_max, top1_agreement, max_rel_diff).
LM_MEASURED = {
    "gpt-tiny-wiki transformers -> onnx": (9.2e-14, 4.1e-13, 1.0, 1.6e-7),
    "gpt-tiny-wiki -> gguf f32 on llama.cpp": (3.8e-9, 2.3e-8, 1.0, 4.9e-5),
    "smollm2-135m-wiki transformers -> onnx": (2.2e-11, 8.1e-11, 1.0, 2.1e-6),
    "smollm2-135m-wiki -> gguf f32 on llama.cpp": (1.8e-6, 1.5e-5, 1.0, 5.5e-4),
    "gpt-tiny-wiki torch -> pte (executorch-fp32, 256 positions)": (1.2e-13, 1.7e-12, 1.0, 3.6e-7),
}


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


def compare_lm(
    source: str,
    converted: str,
    ref_logits: np.ndarray,
    got_logits: np.ndarray,
    tolerance: dict[str, float] | None = None,
    positions: str | None = None,
) -> dict[str, Any]:
    """The agreement of a converted causal LM's logits ``got_logits`` with its source's ``ref_logits``
    (``[positions, vocab]``, the same tokens): mean and max KL(source || converted) in nats, top-1 token
    agreement, max |logit difference| relative to the source's logit range; ``ok`` against ``tolerance``
    (default :data:`LM_TOLERANCE`). ``positions`` says which tokens they are, in words."""
    from suite.measure.lm_fidelity import kl_full, log_softmax

    tolerance = dict(tolerance or LM_TOLERANCE)
    ref = np.asarray(ref_logits, dtype=np.float64)
    got = np.asarray(got_logits, dtype=np.float64)
    ref, got = ref.reshape(-1, ref.shape[-1]), got.reshape(-1, got.shape[-1])
    check: dict[str, Any] = {"from": source, "to": converted, "n": int(len(ref)), "positions": positions}
    if ref.shape != got.shape:
        return {
            **check,
            "kld_mean": None,
            "kld_max": None,
            "top1_agreement": None,
            "max_rel_diff": None,
            "tolerance": tolerance,
            "ok": False,
            "problem": f"logits of shape {list(got.shape)} != the source's {list(ref.shape)}",
        }
    finite = bool(np.isfinite(got).all())
    kl = np.maximum(kl_full(log_softmax(ref), log_softmax(got)), 0.0) if finite else np.full(len(ref), np.inf)
    span = float(ref.max() - ref.min()) or 1.0
    check.update(
        kld_mean=float(kl.mean()),
        kld_max=float(kl.max()),
        top1_agreement=float((ref.argmax(-1) == got.argmax(-1)).mean()),
        max_rel_diff=float(np.abs(ref - got).max() / span) if finite else float("inf"),
    )
    ok = finite and all(check[k] <= tolerance[k] for k in ("kld_mean", "kld_max", "max_rel_diff") if k in tolerance)
    ok = ok and check["top1_agreement"] >= tolerance.get("top1_agreement", 0.0)
    check.update(tolerance=tolerance, ok=bool(ok))
    return check


def refusal(check: dict[str, Any]) -> str:
    """The one line that refuses a conversion that disagrees with its source."""
    if check.get("problem"):
        what = check["problem"]
    elif "kld_mean" in check:  # a causal LM: next-token distributions over positions of the task's text
        agree = round(check["top1_agreement"] * check["n"])
        what = (
            f"mean KL divergence {check['kld_mean']:.3g} nats (max {check['kld_max']:.3g}), top-1 token agreement "
            f"{agree}/{check['n']}, max logit difference {check['max_rel_diff']:.3g} of the source's logit range"
        )
        return (
            f"the {check['from']} -> {check['to']} conversion disagrees with its source on {check['n']} token "
            f"positions of the task's text: {what} (tolerance {check['tolerance']}); no number is recorded from it"
        )
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


def lm_check_tokens(x_eval: np.ndarray) -> np.ndarray:
    """The token ids an LM conversion is checked on: the first eval window's first :data:`LM_TOKENS` (padding
    dropped), so the check reads the task's own text, the same for every conversion of the task."""
    row = np.asarray(x_eval[0])
    return np.ascontiguousarray(row[row >= 0][:LM_TOKENS], dtype=np.int64)


def lm_positions(ids: np.ndarray) -> str:
    """What the positions of an LM check are, in the record's words."""
    steps = min(LM_STEPS, len(ids) - 1)
    return f"the first eval window's first {len(ids)} tokens: a prefill of {len(ids) - steps} and {steps} cached steps"


def lm_logits(graph: Any, run: Callable[..., Any], ids: np.ndarray) -> np.ndarray:
    """Logits ``[len(ids), vocab]`` through a runtime's KV-cache interface (``prefill`` / ``step``, as the LM
    evaluator and timing use it): a prefill of all but the last :data:`LM_STEPS` ids, then one cached step
    per remaining id (the text's next token, so both sides see the same tokens)."""
    steps = min(LM_STEPS, len(ids) - 1)
    head = len(ids) - steps
    logits, past = graph.prefill(run, ids[None, :head])
    rows = [np.asarray(logits)[0]]
    for token in ids[head:]:
        logits, past = graph.step(run, np.array([[token]], dtype=np.int64), past)
        rows.append(np.asarray(logits)[0])
    return np.concatenate(rows).astype(np.float32)


def ort_lm_logits(path: Path, ids: np.ndarray) -> np.ndarray:
    """A causal-LM ONNX graph's logits of ``ids`` on ONNX Runtime's CPU provider (:func:`lm_logits`)."""
    import onnxruntime as ort

    from suite.runtimes.lm_feeds import LmGraph

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lm_logits(LmGraph.of_ort(session), lambda feeds: session.run(None, feeds), ids)


def llamacpp_lm_logits(path: Path, ids: np.ndarray) -> np.ndarray:
    """A GGUF's logits of ``ids`` on the llamacpp runtime, one thread (:func:`lm_logits`)."""
    from suite.config.schemas import RuntimeSpec
    from suite.runtimes.llamacpp_rt import LlamaCppSession

    session = LlamaCppSession(path, RuntimeSpec(name="llamacpp", threads=1))
    try:
        return lm_logits(session.lm_graph(), session.run_feeds, ids)
    finally:
        session.llm.close()


def transformers_lm_logits(model: Any, ids: np.ndarray) -> np.ndarray:
    """A transformers causal LM's logits of ``ids`` in eager torch, one forward over all of them."""
    import torch

    with torch.no_grad():
        return np.asarray(model(torch.from_numpy(ids[None])).logits[0].float().numpy())


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
