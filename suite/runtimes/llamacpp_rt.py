"""llama.cpp through llama-cpp-python: GGUF causal LMs, run by EdgeQ's own LM evaluator and token timing.

The model is loaded with ``llama_cpp.Llama`` (memory-mapped, CPU, the profile entry's threads for both
prompt and decode) with ``logits_all``: llama.cpp then returns the logits of every position of a prompt,
which is what EdgeQ's perplexity needs, so the perplexity is the suite's one evaluator and windows rule over
llama.cpp's logits (suite/measure/lm_eval.py), not ``llama-perplexity``'s number, and TTFT / decode
tokens/s come from the same LoadGen token path as ONNX Runtime and OpenVINO (suite/measure/lm_timing.py).

The KV cache lives inside llama.cpp's context, so :class:`LlamaCppGraph` keeps the ``prefill`` / ``step``
semantics of ``suite.runtimes.lm_feeds.LmGraph`` with an opaque cache: ``prefill`` of a ``[B, L]`` id batch
clears the cache before each row and returns ``[B, L, vocab]`` logits; ``step`` of one token ``[1, 1]``
after the cache of the previous call returns ``[1, 1, vocab]``. The "past" it hands back is a marker of
how many tokens the context holds; a step on a stale marker (not the latest prefill or step) fails the
job instead of reading the wrong cache. The context is as long as the longest sequence asked for so far:
it starts at ``options.n_ctx`` (default 512) and is rebuilt longer, once, when a longer window comes
(the runtime is not told the task's window when it loads; ``runtime.n_ctx`` records the length used).
``logits_all`` makes llama-cpp-python keep an ``n_ctx x vocab`` float32 buffer of logits (100 MB for
SmolLM2's 49152 tokens at 512), counted in the record's peak memory as ONNX Runtime's logits output is.
Threads: the profile entry's ``threads`` for prompt and decode alike; 0 leaves llama-cpp-python's default
(half the cores).

Not built here (``make llamacpp`` not run): the job is ``skipped`` with the one line of
``suite.runtimes.llamacpp_build.how_to_get``. A file that is not a whole GGUF fails its job in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import RuntimeSpec
from suite.errors import BadInput, JobFailed
from suite.runtimes.base import Runtime, RuntimeStatus, Session, threads_label
from suite.runtimes.llamacpp_build import how_to_get, require_build, stamp

OPTIONS = {"n_ctx": "context length to start with (grown to the longest window)", "flash_attn": "bool"}
GGUF_MAGIC = b"GGUF"


def _check_options(spec: RuntimeSpec) -> tuple[int, bool]:
    unknown = sorted(set(spec.options) - set(OPTIONS))
    if unknown:
        raise BadInput(
            f"runtime llamacpp: options.{unknown[0]}: unknown option; expected one of {', '.join(sorted(OPTIONS))}"
        )
    n_ctx = spec.options.get("n_ctx", 512)
    if not isinstance(n_ctx, int) or isinstance(n_ctx, bool) or n_ctx < 16:
        raise BadInput(f"runtime llamacpp: options.n_ctx: got {n_ctx!r}, expected an integer >= 16")
    flash = spec.options.get("flash_attn", False)
    if not isinstance(flash, bool):
        raise BadInput(f"runtime llamacpp: options.flash_attn: got {flash!r}, expected true or false")
    return n_ctx, flash


def _check_file(path: Path) -> None:
    """A GGUF header before llama.cpp reads the file: its own failure is a bare "failed to load"."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise JobFailed(f"{path}: cannot read it ({exc.strerror})") from None
    if head != GGUF_MAGIC:
        raise JobFailed(f"{path}: not a GGUF file (starts with {head!r}, expected {GGUF_MAGIC!r})")


@dataclass(frozen=True)
class KvMark:
    """What the context's KV cache holds after a call: ``tokens`` of generation ``epoch``."""

    tokens: int
    epoch: int


class LlamaCppGraph:
    """``prefill`` / ``step`` over llama.cpp's own KV cache (the LmGraph semantics; see the module docstring)."""

    def prefill(self, run: Any, ids: np.ndarray) -> tuple[np.ndarray, list[KvMark]]:
        rows = [run({"input_ids": ids[b : b + 1], "n_past": 0}) for b in range(len(ids))]
        logits = np.concatenate([r[0] for r in rows], axis=0)
        return logits, [rows[-1][1]]

    def step(self, run: Any, ids: np.ndarray, past: list[KvMark]) -> tuple[np.ndarray, list[KvMark]]:
        if ids.shape != (1, 1):
            raise JobFailed(f"llamacpp: a decode step takes one token of one sequence, got ids of shape {ids.shape}")
        logits, mark = run({"input_ids": ids, "n_past": past[0]})
        return logits, [mark]


class LlamaCppSession(Session):
    def __init__(self, path: Path, spec: RuntimeSpec) -> None:
        self.build = require_build()
        self.n_ctx, self.flash_attn = _check_options(spec)
        _check_file(path)
        import llama_cpp

        self._lib = llama_cpp
        self.path = path
        self.threads = spec.threads or None  # None: llama-cpp-python's default (the machine's cores)
        self._epoch = 0
        self._tokens = 0
        self.resized = 0
        self.llm = self._load(self.n_ctx)
        self.vocab = int(self.llm.n_vocab())
        self.run = self.predict
        self._graph = LlamaCppGraph()

    def _load(self, n_ctx: int) -> Any:
        try:
            return self._lib.Llama(
                model_path=str(self.path),
                n_ctx=n_ctx,
                n_batch=n_ctx,
                n_ubatch=n_ctx,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                logits_all=True,
                flash_attn=self.flash_attn,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:  # llama.cpp says only "Failed to load model from file"
            size = self.path.stat().st_size if self.path.exists() else 0
            raise JobFailed(
                f"{self.path}: llama.cpp {self.build.get('llama_cpp_commit', '')[:10]} cannot load it as a GGUF model "
                f"({' '.join(str(exc).split())[:160]}; {size} bytes: truncated, corrupt, or an architecture it does not know)"
            ) from None

    def _fit(self, length: int) -> None:
        """Rebuild the context longer when a sequence does not fit (once per longer window, before any timing)."""
        if length <= self.n_ctx:
            return
        self.n_ctx = -(-length // 256) * 256
        self.llm.close()
        self.llm = self._load(self.n_ctx)
        self.resized += 1

    def run_feeds(self, feeds: dict[str, Any]) -> tuple[np.ndarray, KvMark]:
        """Evaluate ``input_ids`` [1, n] after the first ``n_past`` tokens of the cache (0: an empty cache, or a
        ``KvMark`` of the latest call); the logits of every new position [1, n, vocab] and the new mark."""
        ids = np.asarray(feeds["input_ids"])
        mark = feeds["n_past"]
        if isinstance(mark, KvMark):
            if mark.epoch != self._epoch or mark.tokens != self._tokens:
                raise JobFailed("llamacpp: a decode step was given a KV cache that is not the context's latest")
            n_past = mark.tokens
        else:
            n_past = int(mark)
        if n_past == 0:
            self._fit(int(ids.shape[1]))
        if n_past + ids.shape[1] > self.n_ctx:
            raise JobFailed(f"llamacpp: {n_past + ids.shape[1]} tokens do not fit the context of {self.n_ctx}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab):
            raise JobFailed(
                f"llamacpp: token ids {int(ids.min())}..{int(ids.max())} outside the vocabulary 0..{self.vocab - 1}"
            )
        llm = self.llm
        llm.n_tokens = n_past  # eval() drops the cache from n_tokens on
        llm.eval(ids[0].tolist())
        self._tokens = n_past + ids.shape[1]
        self._epoch += n_past == 0
        logits = np.array(llm.scores[n_past : self._tokens], dtype=np.float32)[None]
        return logits, KvMark(self._tokens, self._epoch)

    def lm_graph(self) -> LlamaCppGraph:
        """The KV-cache interface of a causal LM (the same prefill/step the LM evaluator and timing use)."""
        return self._graph

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Logits of every position of each row (a prompt with an empty cache)."""
        logits, _ = self._graph.prefill(self.run_feeds, np.asarray(batch, dtype=np.int64))
        return logits

    def info(self) -> dict[str, Any]:
        lib = self._lib
        llm = self.llm
        return {
            "name": "llamacpp",
            "version": lib.__version__,
            "llama_cpp_commit": self.build.get("llama_cpp_commit"),
            "system_info": lib.llama_print_system_info().decode("utf-8", "replace").strip(),
            "threads": int(llm.context_params.n_threads),
            "threads_batch": int(llm.context_params.n_threads_batch),
            "build_flags": self.build.get("cmake_flags"),
            "build_cpu": self.build.get("cpu"),
            "n_ctx": self.n_ctx,
            "n_ctx_resized": self.resized,
            "flash_attn": self.flash_attn,
            "kv_cache_type": "f16",
            "model_desc": _model_desc(lib, llm),
            "provider": "CPU",
            "fallback": False,
            "delegate": None,
        }


def _model_desc(lib: Any, llm: Any) -> str:
    """llama.cpp's own description of the loaded model (architecture, size, file type)."""
    import ctypes

    buf = ctypes.create_string_buffer(256)
    lib.llama_model_desc(llm.model, buf, ctypes.sizeof(buf))
    return buf.value.decode("utf-8", "replace")


class LlamaCppRuntime(Runtime):
    def version(self) -> str:
        from suite.registry import dist_version

        return dist_version("llama-cpp-python") or "not installed"

    def status(self, spec: RuntimeSpec) -> RuntimeStatus:
        """Built here or not (one line how to get it); the build's version, llama.cpp commit and CPU."""
        built = stamp()
        if built is None:
            return RuntimeStatus("llamacpp", False, how_to_get())
        _check_options(spec)
        return RuntimeStatus(
            "llamacpp",
            True,
            f"llama-cpp-python {built.get('version')} (llama.cpp {str(built.get('llama_cpp_commit'))[:10]}), "
            f"built here in {built.get('build_s')} s for {built.get('cpu')}",
        )

    def label(self, spec: dict[str, Any]) -> str:
        return " ".join(p for p in ("llamacpp", threads_label(spec.get("threads"))) if p)

    def load(self, path: Path, spec: RuntimeSpec) -> LlamaCppSession:
        return LlamaCppSession(path, spec)
