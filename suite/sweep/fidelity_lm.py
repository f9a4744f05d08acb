"""``edgeq fidelity`` for causal LMs: the suite's decode tokens/s against a bare generation loop of the same model.

The suite's number is what a record holds: ``suite.measure.lm_timing.measure_generation`` (LoadGen token
latencies, the profile's runs, the task's prompt and new tokens), its decode rate ``1000 / TPOT p50``.
The bare loop generates the same prompt greedily without LoadGen and without EdgeQ's session:

- ``llamacpp``: llama-cpp-python's own ``Llama.generate`` (temperature 0: its greedy sampler, the logits
  never leave llama.cpp) on the same GGUF file with the same threads, a context as long as the generation;
- any other runtime: the session's own prefill/step loop (``lm_timing.greedy``), without LoadGen.

Each bare generation's decode rate is (tokens - 1) / (time of the last token - time of the first), LoadGen's
TPOT definition; the bare figure is the median over generations run for ``seconds``, half before and half
after the suite's run, so a drift of the machine shows in neither alone. Goal: ratio suite/bare >= 0.95.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np


def _rate(first_ns: int, last_ns: int, tokens: int) -> float:
    return (tokens - 1) / max(1e-9, (last_ns - first_ns) / 1e9)


def bare_llama_rates(
    path: Path, threads: int | None, prompt: list[int], new_tokens: int, seconds: float
) -> list[float]:
    """Decode tokens/s of bare ``Llama.generate`` greedy generations of ``new_tokens`` after ``prompt``."""
    import llama_cpp

    n_ctx = -(-(len(prompt) + new_tokens) // 256) * 256
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False)
    rates: list[float] = []
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline or len(rates) < 3:
            stamps: list[int] = []
            for _token in llm.generate(prompt, temp=0.0, reset=True):
                stamps.append(time.perf_counter_ns())
                if len(stamps) == new_tokens:
                    break
            rates.append(_rate(stamps[0], stamps[-1], len(stamps)))
    finally:
        llm.close()
    return rates


def bare_session_rates(session: Any, prompt: np.ndarray, new_tokens: int, seconds: float) -> list[float]:
    """Decode tokens/s of the session's own greedy loop (prefill, then steps), without LoadGen."""
    from suite.measure.lm_eval import lm_interface
    from suite.measure.lm_timing import greedy

    graph = lm_interface(session)
    rates: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rates) < 3:
        first: list[int] = []
        greedy(session, graph, prompt, new_tokens, on_first=lambda first=first: first.append(time.perf_counter_ns()))
        rates.append(_rate(first[0], time.perf_counter_ns(), new_tokens))
    return rates


def lm_fidelity_line(job: Any, session: Any, artifact_path: Path, task: Any, profile: Any, seconds: float) -> str:
    """One line: the suite's decode tokens/s (and TTFT) against the bare loop's, and their ratio."""
    from suite.config.schemas import GenerationSpec
    from suite.kinds.settings import scenario
    from suite.measure.lm_timing import generation_figures, measure_generation

    gen = task.generation or GenerationSpec.model_validate({})
    prompt = np.ascontiguousarray(job_prompt(job, gen.prompt_tokens), dtype=np.int64).reshape(1, -1)
    llama = job.runtime["name"] == "llamacpp"

    def bare(half: float) -> list[float]:
        if llama:
            return bare_llama_rates(
                artifact_path, job.runtime_spec.threads or None, prompt[0].tolist(), gen.new_tokens, half
            )
        return bare_session_rates(session, prompt, gen.new_tokens, half)

    before = bare(seconds / 2)
    ss = scenario(profile, "single_stream", False)
    latency, throughput, _ = measure_generation(
        session,
        prompt,
        gen.new_tokens,
        runs=profile.measurement.runs,
        min_duration_s=ss.min_duration_s,
        min_queries=gen.min_queries,
        warmup_queries=gen.warmup_queries,
        cv_threshold=profile.measurement.cv_threshold,
        quick=False,
    )
    after = bare(seconds / 2)
    bare_rate = float(np.median(before + after))
    suite_rate, first_token_ms = generation_figures(latency, throughput)
    how = "llama-cpp-python Llama.generate temp=0" if llama else "session greedy loop"
    return (
        f"fidelity-lm task={job.task_name} method={job.method} runtime={job.runtime['name']} "
        f"threads={job.runtime_spec.threads or 'default'} bare='{how}' bare_decode_tok_s={bare_rate:.2f} "
        f"suite_decode_tok_s={suite_rate:.2f} ratio={suite_rate / bare_rate:.3f} "
        f"goal={'met' if suite_rate / bare_rate >= 0.95 else 'missed'} suite_first_token_ms={first_token_ms:.2f} "
        f"prompt_tokens={prompt.shape[1]} new_tokens={gen.new_tokens} bare_generations={len(before) + len(after)} "
        f"suite_queries={latency['queries']}"
    )


def job_prompt(job: Any, prompt_tokens: int) -> np.ndarray:
    """The task's fixed prompt: the start of its first held-out window (what the records are timed with)."""
    from suite.config import load_task
    from suite.job import build as prepare

    x = prepare.task_state(load_task(job.task_path)).splits.x_eval
    return x[0, :prompt_tokens]
