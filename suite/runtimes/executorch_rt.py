"""ExecuTorch: runs ``.pte`` programs (``executorch-*`` methods) through its Python runtime, with the
XNNPACK delegate the program was lowered to, and says how much of the graph the delegate took.

A ``.pte`` program is a list of instructions: ``DelegateCall`` (a subgraph XNNPACK runs) and
``KernelCall`` (an operator left to ExecuTorch's portable CPU kernels, fp32 and slow). The program is
read with ExecuTorch's own deserializer, so ``runtime.delegation`` counts both from the file that is
timed, and names the operators left outside the delegate (``fallback`` is true when any compute
operator is). How many graph nodes went into each delegate is known only when lowering; the method
writes it into ``artifact.details.delegation``, and ``inference_precision`` comes from there too (the
XNNPACK payload is opaque to the Python runtime: it runs the lowered subgraph as it is, int8 where the
quantizer placed int8, nothing falls back inside it).

A causal-LM program (``executorch-fp32`` on an LM task, ``executorch-8da4w``) keeps its KV cache in
the program and says so with ExecuTorch's LLM constant methods (``use_kv_cache``, ``get_max_seq_len``);
the session then gives ``lm_graph()``/``run_feeds()`` with the prefill/step semantics of the ONNX
runtimes (``executorch_lm.py``), so perplexity and token timing are EdgeQ's one evaluator and LoadGen path.

The programs the methods write have a static batch of 1 (what a phone or a Pi runs); a batch of n is n
calls, in the accuracy loop and in LoadGen's Offline batches alike. ``threads`` sets the size of
ExecuTorch's thread pool (XNNPACK's), 0 leaves its default. Run side: ExecuTorch's Python runtime
takes and returns torch tensors, so this runtime needs torch as the ``torch`` runtime does (its
``import torch`` is listed in pyproject's run-side contract as that runtime's is).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import RuntimeSpec
from suite.errors import BadInput, JobFailed, NotAvailableHere
from suite.registry import dist_version
from suite.runtimes.base import Runtime, RuntimeStatus, Session, threads_label
from suite.runtimes.executorch_lm import MAX_SEQ_LEN, USE_KV_CACHE, VOCAB_SIZE

INSTALL = "ExecuTorch is not installed: pip install -e '.[toolkits]' (or pip install executorch)"
DATA_OPS = {
    "aten::view_copy",
    "aten::_to_copy",
    "aten::squeeze_copy",
    "aten::unsqueeze_copy",
    "aten::permute_copy",
    "aten::clone",
}


@contextlib.contextmanager
def torchao_quiet() -> Iterator[None]:
    """Importing ExecuTorch imports torchao, which logs a warning per optional CUDA kernel library it
    cannot load on a CPU-only machine (and torch one per deprecated pytree registration): noise in every
    job log, in doctor and beside a plan's one-line error. Held back while the import runs."""
    import logging

    quiet = [logging.getLogger(name) for name in ("torchao", "torch.utils._pytree")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(quiet, levels):
            logger.setLevel(level)


def portable_lib() -> Any:
    """ExecuTorch's runtime bindings (imported without torchao's import-time noise)."""
    with torchao_quiet():
        from executorch.extension.pybindings import portable_lib as lib
    return lib


def et_version() -> str | None:
    return dist_version("executorch")


def program_delegation(data: bytes) -> dict[str, Any]:
    """Delegate and kernel calls of a ``.pte`` program's forward plan, read with ExecuTorch's deserializer."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    program = deserialize_pte_binary(data)
    program = getattr(program, "program", program)
    # An LLM program also holds constant methods (use_kv_cache, get_max_seq_len, ...): count forward's plan.
    plan = next((p for p in program.execution_plan if p.name == "forward"), program.execution_plan[0])
    kinds: Counter[str] = Counter()
    kernels: Counter[str] = Counter()
    for chain in plan.chains:
        for instruction in chain.instructions:
            kind = type(instruction.instr_args).__name__
            kinds[kind] += 1
            if kind == "KernelCall":
                op = plan.operators[instruction.instr_args.op_index]
                kernels[f"{op.name}{'.' + op.overload if op.overload else ''}"] += 1
    calls = kinds.get("DelegateCall", 0) + kinds.get("KernelCall", 0)
    return {
        "backends": sorted({d.id for d in plan.delegates}),
        "delegate_calls": kinds.get("DelegateCall", 0),
        "kernel_calls": kinds.get("KernelCall", 0),
        "delegated_call_fraction": kinds.get("DelegateCall", 0) / calls if calls else 0.0,
        "not_delegated_ops": dict(sorted(kernels.items())),
        "source": "executorch .pte program (execution plan 'forward')",
    }


class ExecutorchSession(Session):
    def __init__(self, path: Path, spec: RuntimeSpec) -> None:
        if et_version() is None:
            raise NotAvailableHere(INSTALL)
        if spec.options:
            raise BadInput(
                f"runtime executorch: options.{sorted(spec.options)[0]}: unknown option (it has none; threads sets the pool)"
            )
        import torch

        lib = portable_lib()
        from executorch.runtime import Runtime as EtRuntime

        self.path = path
        self.threads = spec.threads or None
        if self.threads:
            lib._unsafe_reset_threadpool(self.threads)
        try:
            # The program reads from this buffer for as long as it lives: keep both referenced.
            self._data = path.read_bytes()
            self.delegation = program_delegation(self._data)
            self.program = EtRuntime.get().load_program(self._data)
            self.method = self.program.load_method("forward")
        except Exception as exc:  # ExecuTorch raises RuntimeError with its error code
            raise JobFailed(
                f"{path}: ExecuTorch {et_version()} cannot load it: {' '.join(str(exc).split())[:300]}"
            ) from None
        meta = self.method.metadata
        info = meta.input_tensor_meta(0)
        self.input_shape = tuple(info.sizes())
        self.pool = lib._threadpool_get_thread_count()
        self._torch = torch
        self._lm = self._lm_graph_of_program()
        if self._lm is not None:
            self._init_lm()
            return
        execute = self.method.execute
        from_numpy = torch.from_numpy
        shape = self.input_shape
        if shape[0] != 1:
            raise JobFailed(f"{path}: ExecuTorch program input {list(shape)}: expected a batch of 1")

        def run(x: np.ndarray) -> Any:
            if x.shape[0] == 1:
                return execute((from_numpy(x),))[0]
            return [execute((from_numpy(x[i : i + 1]),))[0] for i in range(x.shape[0])]

        self.run = run

    def _constant(self, name: str) -> Any:
        """A constant method's value (ExecuTorch's LLM export writes them beside forward), or None."""
        if name not in self.program.method_names:
            return None
        method = self.program.load_method(name)
        value = method.execute(()) if method is not None else None
        return value[0] if value else None

    def _lm_graph_of_program(self) -> Any:
        """A causal-LM program with its KV cache inside (``use_kv_cache``): its prefill/step interface."""
        if not self._constant(USE_KV_CACHE):
            return None
        from suite.runtimes.executorch_lm import ProgramCacheGraph

        max_len, vocab = self._constant(MAX_SEQ_LEN), self._constant(VOCAB_SIZE)
        if max_len is None:
            raise JobFailed(f"{self.path}: an ExecuTorch program with use_kv_cache but no {MAX_SEQ_LEN} method")
        return ProgramCacheGraph(int(max_len), int(vocab) if vocab is not None else None)

    def _init_lm(self) -> None:
        """An LLM program: ``run`` of a batch of windows is their prefill (what the classifier path would
        time), the LM loops use ``lm_graph``/``run_feeds``."""
        graph = self._lm
        run_feeds = self.run_feeds
        self.run = lambda x: graph.prefill(run_feeds, np.asarray(x))[0]

    def lm_graph(self) -> Any:
        """Prefill/step of a causal-LM program (suite/runtimes/executorch_lm.py); a program without a KV
        cache fails in one line."""
        if self._lm is None:
            raise JobFailed(
                f"{self.path}: the ExecuTorch program has no KV cache (no use_kv_cache method): not a causal LM"
            )
        return self._lm

    def run_feeds(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """``forward`` of an LLM program on named feeds (input_ids, cache_position), its outputs as numpy."""
        from_numpy = self._torch.from_numpy
        outputs = self.method.execute((from_numpy(feeds["input_ids"]), from_numpy(feeds["cache_position"])))
        return [out.numpy() for out in outputs]

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if self._lm is not None:
            logits: np.ndarray = self.run(batch)
            return logits
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        outs = [self.method.execute((self._torch.from_numpy(batch[i : i + 1]),))[0].numpy() for i in range(len(batch))]
        return np.concatenate(outs)

    def info(self) -> dict[str, Any]:
        compute_left = [op for op in self.delegation["not_delegated_ops"] if op.split(".")[0] not in DATA_OPS]
        return {
            "name": "executorch",
            "version": et_version(),
            "provider": "+".join(
                self.delegation["backends"] + (["portable kernels"] if self.delegation["kernel_calls"] else [])
            )
            or "portable kernels",
            "providers_requested": ["XnnpackBackend"],
            "fallback": bool(compute_left) or not self.delegation["delegate_calls"],
            "threads": self.threads,
            "threads_used": self.pool,
            "delegate": "XNNPACK" if "XnnpackBackend" in self.delegation["backends"] else None,
            "delegation": self.delegation,
            "batch_of_one": True,
            "kv_cache": (
                {"kind": "static, in the program's mutable buffers", "max_positions": self._lm.max_positions}
                if self._lm is not None
                else None
            ),
        }


class ExecutorchRuntime(Runtime):
    def version(self) -> str:
        return et_version() or "not installed"

    def status(self, spec: RuntimeSpec) -> RuntimeStatus:
        """Is ExecuTorch installed with its runtime bindings and the XNNPACK backend? Found without
        importing them: the bindings import torch and torchao, seconds that every ``edgeq bench`` on a
        profile with this runtime would pay before its first job."""
        from importlib.util import find_spec

        version = et_version()
        if version is None:
            return RuntimeStatus("executorch", False, f"{INSTALL}; its jobs are recorded as skipped")
        missing = [m for m in ("executorch.extension.pybindings", "executorch.runtime") if find_spec(m) is None]
        if missing:
            return RuntimeStatus(
                "executorch", False, f"executorch {version}: {', '.join(missing)} missing from the installation"
            )
        summary = f"executorch {version}: Python runtime bindings, .pte programs lowered to XNNPACK"
        notes = [
            "operators XNNPACK cannot take run on ExecuTorch's portable kernels (fp32), per job in runtime.delegation and flagged as a fallback",
            "programs run with a batch of 1; Offline batches are sequential calls",
        ]
        if find_spec("executorch.backends.xnnpack") is None:
            return RuntimeStatus(
                "executorch",
                True,
                summary,
                fallback="no XNNPACK backend in this installation: .pte files lowered to XNNPACK will not load (jobs fail)",
            )
        return RuntimeStatus("executorch", True, summary, notes=notes)

    def label(self, spec: dict[str, Any]) -> str:
        return " ".join(p for p in ("executorch", threads_label(spec.get("threads"))) if p)

    def load(self, path: Path, spec: RuntimeSpec) -> ExecutorchSession:
        return ExecutorchSession(path, spec)
