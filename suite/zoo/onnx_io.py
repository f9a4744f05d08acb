"""Read an ONNX model's interface from the file (onnx), check it against the task, make it benchable.

A user's ONNX file says what it takes: input name, shape (fixed or symbolic dims), element type, and
how many class scores it returns. A task that disagrees (a wrong size, NHWC data for an NCHW model,
uint8 pixels for a float model, 1001 outputs for 1000 labels) gets one line naming both sides instead
of an ONNX Runtime stack trace mid-sweep. Files exported with a fixed batch of 1 get a symbolic batch
axis (the accuracy loop and the Offline scenario run batches); if the graph hard-codes the batch
elsewhere (a Reshape to [1, -1]) that is said in one line too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from suite.errors import BadInput

_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 10: "float16", 11: "float64", 7: "int64", 6: "int32"}


def _dims(value_info: Any) -> list[int | str]:
    dims: list[int | str] = []
    for d in value_info.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        else:
            dims.append(d.dim_param or "?")
    return dims


def describe(model_or_path: Any) -> dict[str, Any]:
    """{input: {name, dims, dtype}, output: {name, dims}, opset} of an ONNX model (weights not loaded)."""
    from suite.zoo.checks import load_onnx  # a truncated or corrupt file: one line naming it

    model = (
        load_onnx(model_or_path, load_external_data=False) if isinstance(model_or_path, (str, Path)) else model_or_path
    )
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if not inputs:
        raise BadInput(f"{model_or_path}: the ONNX graph has no input")
    first = inputs[0]
    out = model.graph.output[0]
    return {
        "input": {
            "name": first.name,
            "dims": _dims(first),
            "dtype": _DTYPES.get(first.type.tensor_type.elem_type, str(first.type.tensor_type.elem_type)),
        },
        "n_inputs": len(inputs),
        "output": {"name": out.name, "dims": _dims(out)},
        "opset": next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None),
    }


def layout_of(sample_dims: list[int | str]) -> str | None:
    """NCHW or NHWC guessed from a per-sample shape: channels (1 or 3) first or last."""
    if len(sample_dims) != 3:
        return None
    first, last = sample_dims[0], sample_dims[-1]
    if first in (1, 3, 4) and last not in (1, 3, 4):
        return "NCHW"
    if last in (1, 3, 4) and first not in (1, 3, 4):
        return "NHWC"
    return None


def check_against_task(path: Path, task: Any, what: str | None = None) -> dict[str, Any]:
    """One clear line if the model's input or output disagrees with the task; the description if not."""
    info = describe(path)
    name = what or str(path)
    dims = info["input"]["dims"]
    want = list(task.input.shape)
    if info["n_inputs"] != 1:
        raise BadInput(f"{name}: the model has {info['n_inputs']} inputs; EdgeQ feeds one image tensor")
    sample = dims[1:]
    if len(dims) != len(want) + 1:
        raise BadInput(
            f"{name}: input {info['input']['name']!r} has shape {dims}, but the task's input.shape {want} (plus batch) has rank {len(want) + 1}"
        )
    fixed_mismatch = [i for i, (m, t) in enumerate(zip(sample, want)) if isinstance(m, int) and m != t]
    if fixed_mismatch:
        model_layout = layout_of(sample)
        if model_layout and model_layout != task.input.layout:
            raise BadInput(
                f"{name}: layout mismatch: the model's input {info['input']['name']!r} is {model_layout} {dims}, "
                f"but the task declares input.layout {task.input.layout} with shape {want}; set input.layout: {model_layout} "
                f"and input.shape: {[d for d in sample]}"
            )
        raise BadInput(
            f"{name}: wrong input shape: the model's input {info['input']['name']!r} is {dims}, but the task's input.shape is {want}"
        )
    if info["input"]["dtype"] != task.input.dtype:
        raise BadInput(
            f"{name}: the model's input {info['input']['name']!r} is {info['input']['dtype']}, but the task's input.dtype is {task.input.dtype}"
        )
    out_dims = info["output"]["dims"]
    classes = out_dims[-1] if out_dims else None
    if isinstance(classes, int) and classes != task.num_classes:
        raise BadInput(
            f"{name}: the model returns {classes} class scores ({info['output']['name']!r} {out_dims}), "
            f"but the task's num_classes is {task.num_classes}"
        )
    return info


def _set_batch(value_info: Any, name: str = "batch") -> None:
    dim = value_info.type.tensor_type.shape.dim[0]
    dim.ClearField("dim_value")
    dim.dim_param = name


def _free_reshape_batch(model: Any, batch: int) -> int:
    """Reshape targets that pin the exported batch (``[1, -1]`` from ``x.view(bs, -1)``) get ``0``
    (ONNX: copy that dimension from the input) in place of it. Returns how many were changed; the
    caller checks numerically that the result is unchanged."""
    from onnx import numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    constants = {out: node for node in model.graph.node if node.op_type == "Constant" for out in node.output}
    changed = 0
    for node in model.graph.node:
        if node.op_type != "Reshape" or len(node.input) < 2:
            continue
        name = node.input[1]
        if name in inits:
            shape = numpy_helper.to_array(inits[name]).copy()
            if shape.ndim == 1 and len(shape) >= 2 and shape[0] == batch:
                shape[0] = 0
                inits[name].CopyFrom(numpy_helper.from_array(shape.astype(np.int64), name))
                changed += 1
        elif name in constants:
            attr = next((a for a in constants[name].attribute if a.name == "value"), None)
            if attr is None:
                continue
            shape = numpy_helper.to_array(attr.t).copy()
            if shape.ndim == 1 and len(shape) >= 2 and shape[0] == batch:
                shape[0] = 0
                attr.t.CopyFrom(numpy_helper.from_array(shape.astype(np.int64), attr.t.name))
                changed += 1
    for node in model.graph.node:  # allowzero=1 would make 0 mean an empty dimension
        if node.op_type == "Reshape":
            for a in node.attribute:
                if a.name == "allowzero" and a.i == 1 and changed:
                    raise BadInput(
                        "the model's Reshape uses allowzero=1 with a fixed batch; export it with a dynamic batch axis"
                    )
    return changed


def _session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def benchable_copy(src: Path, dst: Path, task: Any) -> Path:
    """``src`` as one self-contained file with a symbolic batch axis, checked by running a batch of 2
    against the same two samples run one by one."""
    import onnx

    model = onnx.load(str(src))  # loads external data too: the copy is self-contained
    info = describe(model)
    fixed = info["input"]["dims"][0] if info["input"]["dims"] and isinstance(info["input"]["dims"][0], int) else None
    dtype = np.uint8 if task.input.dtype == "uint8" else np.float32
    rng = np.random.default_rng(0)
    if dtype == np.uint8:
        x = rng.integers(0, 256, size=(2, *task.input.shape)).astype(np.uint8)
    else:
        x = rng.standard_normal((2, *task.input.shape)).astype(np.float32)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp.onnx")

    def one_by_one(path: Path) -> np.ndarray:
        session = _session(path)
        name = session.get_inputs()[0].name
        return np.concatenate([session.run(None, {name: x[i : i + 1]})[0] for i in range(2)])

    def batched(path: Path) -> np.ndarray:
        session = _session(path)
        out = session.run(None, {session.get_inputs()[0].name: x})[0]
        if out.shape[0] != 2:
            raise ValueError(f"a batch of 2 gave output shape {list(out.shape)}")
        return out

    try:
        reference = one_by_one(src) if fixed == 1 else None
        if fixed is not None:
            inits = {t.name for t in model.graph.initializer}
            for value_info in model.graph.input:
                if value_info.name not in inits and value_info.type.tensor_type.shape.dim:
                    _set_batch(value_info)
            for value_info in model.graph.output:
                if value_info.type.tensor_type.shape.dim:
                    _set_batch(value_info)
            del model.graph.value_info[:]  # stale intermediate shapes would pin the batch again
        onnx.save(model, str(tmp))
        try:
            out = batched(tmp)
        except Exception:
            if fixed is None or not _free_reshape_batch(model, fixed):
                raise
            onnx.save(model, str(tmp))
            out = batched(tmp)
        if reference is not None and not np.allclose(out, reference, rtol=1e-4, atol=1e-4):
            raise ValueError("a batch of 2 does not give the same outputs as the two samples one by one")
    except BadInput:
        tmp.unlink(missing_ok=True)
        raise
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if fixed is not None:
            raise BadInput(
                f"{src}: the model is exported with a fixed batch of {fixed} and does not run "
                f"with a batch of 2 ({line[:200]}); export it with a dynamic batch axis"
            ) from None
        raise BadInput(
            f"{src}: ONNX Runtime cannot run it on a batch of 2 of input.shape {task.input.shape}: {line[:200]}"
        ) from None
    tmp.replace(dst)
    return dst
