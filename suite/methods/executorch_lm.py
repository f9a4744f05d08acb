"""ExecuTorch programs of a causal LM with its KV cache: ``executorch-fp32`` on a causal-LM task, and
``executorch-8da4w`` (8-bit dynamic activations x 4-bit grouped weights, XNNPACK).

The program follows ExecuTorch's LLM export (``executorch/extension/llm/export`` and
``examples/models/llama``) so that ExecuTorch's own runner could load it: transformers' exportable
static-cache wrapper (``transformers.integrations.executorch.TorchExportableModuleWithStaticCache``)
turns the task's fp32 Hugging Face model into ``forward(input_ids [1, seq], cache_position [seq]) ->
logits``, its per-layer key/value caches mutable buffers of ``max_positions`` positions (the task's
window, or its prompt plus new tokens if longer); ``seq`` is dynamic (1 .. max_positions), so one
method serves the prefill of a window and each decode step. Exported as the LLM builder does it
(``torch.export`` strict, SDPA math kernel, no grad, ``run_decompositions({})``), lowered with the
``XnnpackPartitioner``, with the constant methods its runner reads (``use_kv_cache``,
``get_max_seq_len``, ``get_vocab_size``, ...). The run side: ``suite/runtimes/executorch_lm.py``.

8da4w is the quantizer ExecuTorch's ``export_llama -qmode 8da4w -G <group>`` applies
(``examples/models/llama/source_transformation/quantize.py``): torchao's ``quantize_`` with
``Int8DynamicActivationIntxWeightConfig(weight_dtype=int4, PerGroup(group_size), hqq_scale_only)`` on
every ``nn.Linear`` whose input width the group size divides; the others stay fp32, and the artifact
lists them (``details.skipped_linears``) with their widths. XNNPACK runs the quantized ones as dynamic
int8 x blockwise int4 kernels. The embedding table is not quantized (as without ``-E``).

The LM head is untied from the embedding table before export: with one tensor in two places,
``torch.export``'s decomposition fails (AOTAutograd's duplicate-argument wrapper), and ExecuTorch's
llama checkpoints keep ``output.weight`` separate too. The fp32 program is checked against transformers
(the first calibration window's logits and four cached decode steps) and refused beyond
``FLOAT_TOLERANCE``; the 8da4w program's deviation is recorded, not enforced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from suite.errors import BadInput
from suite.methods.base import Artifact, Method, Params, PrepareContext
from suite.methods.executorch_program import lower, pte_artifact
from suite.methods.toolkits import quiet, require, toolkit_errors

NOISY = ("torchao", "torch.utils._pytree", "transformers", "torch._dynamo", "torch.export")
CHECK_STEPS = 4  # cached decode steps compared with transformers after the prefill


def is_causal_lm(ctx: PrepareContext) -> bool:
    return ctx.task.model.name == "causal-lm" and ctx.task.metric == "perplexity"


def max_positions(task: Any) -> int:
    """The static cache's length: a whole evaluated window, or the timed prompt plus its new tokens."""
    window = int(task.input.shape[0])
    gen = task.generation
    return max(window, gen.prompt_tokens + gen.new_tokens) if gen is not None else window


def load_fp32(ctx: PrepareContext) -> Any:
    """The task's fp32 Hugging Face model (the folder trained here, or the task's file), head untied."""
    import torch

    from suite.zoo.transformers_source import _load_causal

    path = ctx.reference.origin.get("path")
    if not path:
        raise BadInput(
            f"task {ctx.task.name!r}: an ExecuTorch LM program exports the task's Hugging Face model, "
            "but the reference names no model folder or file (origin.path)"
        )
    model = _load_causal(Path(str(path)))
    head = model.get_output_embeddings()
    if head is not None and head.weight is model.get_input_embeddings().weight:
        head.weight = torch.nn.Parameter(head.weight.detach().clone())
    model.generation_config.cache_implementation = "static"
    return model


def quantize_8da4w(model: Any, group_size: int) -> dict[str, Any]:
    """ExecuTorch's 8da4w in place (see the module docstring); which linear layers it took and skipped."""
    import torch
    from torchao.quantization import Int8DynamicActivationIntxWeightConfig, quantize_
    from torchao.quantization.granularity import PerGroup

    linears = {name: m for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    taken = [name for name, m in linears.items() if m.weight.shape[1] % group_size == 0]
    skipped = {name: int(m.weight.shape[1]) for name, m in linears.items() if name not in taken}
    weights = {name: int(m.weight.numel()) for name, m in linears.items()}
    quantize_(
        model,
        Int8DynamicActivationIntxWeightConfig(
            weight_dtype=torch.int4,
            weight_granularity=PerGroup(group_size),
            intx_choose_qparams_algorithm="hqq_scale_only",
        ),
        filter_fn=lambda m, _fqn: isinstance(m, torch.nn.Linear) and m.weight.shape[1] % group_size == 0,
    )
    return {
        "group_size": group_size,
        "quantized_linears": len(taken),
        "quantized_weights": sum(weights[n] for n in taken),
        "skipped_linears": [
            {"name": n, "in_features": w, "reason": f"{w} is not a multiple of the group size {group_size}"}
            for n, w in skipped.items()
        ],
        "skipped_weights": sum(weights[n] for n in skipped),
        "embedding": "fp32 (not quantized)",
    }


def export_program(model: Any, positions: int) -> Any:
    """``torch.export`` of the static-cache wrapper, sequence length dynamic up to ``positions``."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from transformers.integrations.executorch import TorchExportableModuleWithStaticCache

    wrapper = TorchExportableModuleWithStaticCache(model, batch_size=1, max_cache_len=positions)
    seq = torch.export.Dim("seq", min=1, max=positions)
    example = {"input_ids": torch.zeros(1, 2, dtype=torch.long), "cache_position": torch.arange(2)}
    with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]):
        program = torch.export.export(
            wrapper,
            args=(),
            kwargs=example,
            dynamic_shapes={"input_ids": {1: seq}, "cache_position": {0: seq}},
            strict=True,
        )
        return program.run_decompositions({})


def constant_methods(model: Any, positions: int) -> dict[str, Any]:
    """What ExecuTorch's LLM runner reads from a program (names as ``export_llama`` writes them)."""
    config = model.config
    eos = config.eos_token_id
    return {
        "use_kv_cache": True,
        "use_sdpa_with_kv_cache": False,
        "enable_dynamic_shape": True,
        "get_max_seq_len": positions,
        "get_max_context_len": positions,
        "get_vocab_size": int(config.vocab_size),
        "get_n_layers": int(config.num_hidden_layers),
        "get_bos_id": int(config.bos_token_id if config.bos_token_id is not None else 0),
        "get_eos_ids": [int(e) for e in (eos if isinstance(eos, list) else [eos] if eos is not None else [])],
    }


def lower_program(program: Any, path: Path, constants: dict[str, Any]) -> dict[str, Any]:
    """XNNPACK-lower with the LLM runner's constant methods, attention in plain math (as exported)."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]):
        return lower(program, path, constants)


def reference_logits(model: Any, ids: np.ndarray, steps: int) -> np.ndarray:
    """transformers' logits of ``ids`` [L] then of ``steps`` greedy tokens, one row per position."""
    import torch

    with torch.no_grad():
        out = model(torch.from_numpy(ids[None]), use_cache=True)
        rows = [out.logits[0]]
        past = out.past_key_values
        for _ in range(steps):
            token = rows[-1][-1:].argmax(-1)[None]
            out = model(token, past_key_values=past, use_cache=True)
            past = out.past_key_values
            rows.append(out.logits[0])
    return torch.cat(rows).numpy()


def program_logits(path: Path, ids: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The same through the written program with the run side's prefill/step, fed the reference's greedy
    ``steps`` (so a near-tie cannot send the two down different tokens)."""
    from suite.config.schemas import RuntimeSpec
    from suite.runtimes.executorch_rt import ExecutorchSession

    session = ExecutorchSession(path, RuntimeSpec(name="executorch"))
    graph = session.lm_graph()
    logits, past = graph.prefill(session.run_feeds, ids[None])
    rows = [logits[0]]
    for token in steps:
        logits, past = graph.step(session.run_feeds, np.array([[token]], dtype=np.int64), past)
        rows.append(logits[0])
    return np.concatenate(rows)


def first_window(ctx: PrepareContext, positions: int) -> np.ndarray:
    """The first calibration window's tokens (never the evaluated text), short enough for the check's steps."""
    x = np.asarray(ctx.splits.x_cal if len(ctx.splits.x_cal) else ctx.splits.x_eval)
    ids = x[0][x[0] >= 0]
    return np.ascontiguousarray(ids[: positions - CHECK_STEPS], dtype=np.int64)


def lm_program(ctx: PrepareContext, method: str, group_size: int | None) -> Artifact:
    """Export, (8da4w: quantize,) lower and check a causal-LM program; the artifact describing it."""
    import time

    with quiet(*NOISY):
        require("executorch.exir", "executorch")
        require("transformers.integrations.executorch", "transformers")
    from suite.zoo.conversion_check import compare_lm, enforce

    out = ctx.workdir / "model.pte"
    positions = max_positions(ctx.task)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    with quiet(*NOISY), toolkit_errors("executorch", f"export this causal LM ({method})"):
        model = load_fp32(ctx)
        ids = first_window(ctx, positions)
        reference = reference_logits(model, ids, CHECK_STEPS)
        quantized = quantize_8da4w(model, group_size) if group_size else None
        constants = constant_methods(model, positions)
        program = export_program(model, positions)
        seconds["export"] = round(time.perf_counter() - t0, 1)
        facts = lower_program(program, out, constants)
        seconds["lower"] = round(time.perf_counter() - t0 - seconds["export"], 1)
    steps = reference[len(ids) - 1 : -1].argmax(-1)  # the tokens the reference decoded, in order
    got = program_logits(out, ids, steps)
    source, converted = "transformers fp32", f"pte ({method}, ExecuTorch XNNPACK)"
    where = f"prefill of {len(ids)} calibration tokens + {CHECK_STEPS} greedy cached steps"
    if quantized is None:  # the same LM comparison and tolerance as every float LM conversion
        check = enforce(compare_lm(source, converted, reference, got, positions=where))
        precision = {"fp32": facts["total_compute_nodes"]}
    else:  # a quantized program differs from fp32 by design: its deviation is a fact, not a refusal
        check = compare_lm(source, converted, reference, got, {"top1_agreement": 0.0}, positions=where)
        check["tolerance"] = None  # recorded, not enforced
        other = max(0, facts["total_compute_nodes"] - quantized["quantized_linears"])
        precision = {"int8-dynamic-int4-weight": quantized["quantized_linears"], "fp32": other}
    details: dict[str, Any] = {
        "delegation": facts,
        "batch": 1,
        "backend": "XnnpackBackend",
        "program": "forward(input_ids [1, seq], cache_position [seq]) -> logits; KV cache in mutable buffers",
        "kv_cache": {"kind": "static", "max_positions": positions},
        "exporter": "transformers TorchExportableModuleWithStaticCache, torch.export strict",
        "lm_head": "untied from the embedding table",
        "conversion_check": check,
        "build_s": seconds,
    }
    if quantized is not None:
        details.update(
            quantizer="torchao Int8DynamicActivationIntxWeightConfig (int4 weights, PerGroup, hqq_scale_only)",
            granularity=f"per-group {group_size}",
            **quantized,
        )
    artifact = pte_artifact(out, precision, 4 if quantized else 32, details)
    artifact.activation_bits = 8 if quantized else 32
    labels = {"int8-dynamic-int4-weight": "int8", "fp32": "f32"}  # XNNPACK's qd8 x qb4w kernels compute in int8
    order = sorted((kv for kv in precision.items() if kv[1]), key=lambda kv: (-kv[1], kv[0]))
    artifact.details["inference_precision"] = "+".join(labels[p] for p, _ in order) or None
    return artifact


class Int8da4wParams(Params):
    group_size: int = Field(
        128,
        ge=1,
        description="weights per int4 group along a linear layer's input; layers whose width it does not divide stay fp32 (ExecuTorch's default 128)",
    )


class Executorch8da4w(Method):
    Params = Int8da4wParams

    def apply(self, ctx: PrepareContext, params: Int8da4wParams) -> Artifact:  # type: ignore[override]
        if not is_causal_lm(ctx):
            raise BadInput(
                f"method 'executorch-8da4w' makes causal-LM programs; task {ctx.task.name!r} is not a causal LM "
                "(use executorch-int8 for a classifier)"
            )
        return lm_program(ctx, "executorch-8da4w", params.group_size)
