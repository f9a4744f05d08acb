"""ExecuTorch causal-LM programs (``executorch-fp32`` on an LM task, ``executorch-8da4w``) through EdgeQ's
one evaluator and token timing, on a tiny Llama trained here in seconds (the gpt-micro task of
tests/zoo/test_transformers_tasks.py):

- the fp32 program's perplexity equals ONNX Runtime's fp32 perplexity on the same windows, and both
  generate the same greedy tokens;
- 8da4w runs, says which linear layers its group size skipped, and its perplexity is finite and not
  better than fp32's beyond noise;
- the program's cache holds no state from one window to the next: a short window after a longer one
  gives the logits of a freshly loaded program;
- the prefill/step bookkeeping refuses what the program's one static cache cannot do (no torch needed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from suite.errors import JobFailed
from suite.runtimes.executorch_lm import CacheState, ProgramCacheGraph
from tests.conftest import edgeq


class FakeProgram:
    """A program with a cache of ``size`` positions: logits say which position and token they saw."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], list[int]]] = []

    def __call__(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        ids, pos = feeds["input_ids"], feeds["cache_position"]
        assert ids.shape == (1, len(pos)) and ids.dtype == np.int64 and pos.dtype == np.int64
        self.calls.append((ids[0].tolist(), pos.tolist()))
        logits = np.zeros((1, len(pos), 4), dtype=np.float32)
        logits[0, :, 0], logits[0, :, 1] = pos, ids[0]
        return [logits]


def test_prefill_starts_every_row_at_position_zero_and_steps_continue() -> None:
    graph, program = ProgramCacheGraph(max_positions=8), FakeProgram()
    logits, past = graph.prefill(program, np.array([[5, 6, 7], [8, 9, 10]]))
    assert logits.shape == (2, 3, 4) and program.calls == [([5, 6, 7], [0, 1, 2]), ([8, 9, 10], [0, 1, 2])]
    with pytest.raises(JobFailed, match="several rows"):  # the cache holds only the last row
        graph.step(program, np.array([[1]]), past)
    logits, past = graph.prefill(program, np.array([[3, 4]]))
    logits, past = graph.step(program, np.array([[11]]), past)
    assert program.calls[-1] == ([11], [2]) and past == CacheState(3, past.sequence)
    stale = past
    graph.prefill(program, np.array([[1]]))
    with pytest.raises(JobFailed, match="overwrote"):
        graph.step(program, np.array([[12]]), stale)


def test_positions_beyond_the_static_cache_fail_in_one_line() -> None:
    graph, program = ProgramCacheGraph(max_positions=4), FakeProgram()
    with pytest.raises(JobFailed, match="static KV cache of 4 positions"):
        graph.prefill(program, np.zeros((1, 5), dtype=np.int64))
    _, past = graph.prefill(program, np.zeros((1, 4), dtype=np.int64))
    with pytest.raises(JobFailed, match="positions 4..4"):
        graph.step(program, np.array([[1]]), past)


def _records(results: Path, task: str) -> dict[tuple[str, str], dict]:
    folder = results / "records" / "local-cpu" / task
    records = [json.loads(f.read_text()) for f in sorted(folder.glob("*.json"))]
    return {(r["method"]["name"], r["runtime"]["name"]): r for r in records}


@pytest.mark.slow
def test_executorch_lm_programs_against_ort(tmp_path: Path, results_dir: Path) -> None:
    pytest.importorskip("executorch")
    pytest.importorskip("transformers")
    from tests.zoo.test_transformers_tasks import lm_task

    task = lm_task(tmp_path, name="gpt-micro-et")
    proc = edgeq(
        "bench",
        "--target",
        "local-cpu",
        "--tasks",
        str(task),
        "--methods",
        "fp32,executorch-fp32,executorch-8da4w",
        "--runtimes",
        "ort,executorch",
        "--param",
        "executorch-8da4w.group_size=64",
        "--quick",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = _records(results_dir, "gpt-micro-et")
    ort, fp32, q = (
        records[k] for k in (("fp32", "ort"), ("executorch-fp32", "executorch"), ("executorch-8da4w", "executorch"))
    )
    for record in (ort, fp32, q):
        assert record["status"] == "ok", record["error"]
    # the same windows, the same scored tokens: fp32 on ExecuTorch is ORT's fp32
    assert fp32["accuracy"]["tokens_scored"] == ort["accuracy"]["tokens_scored"] > 0
    assert fp32["accuracy"]["perplexity"] == pytest.approx(ort["accuracy"]["perplexity"], rel=1e-4)
    assert fp32["latency"]["generated_ids"] == ort["latency"]["generated_ids"]
    assert fp32["latency"]["ttft_ms"] > 0 and fp32["throughput"]["tokens_per_s"] > 0
    assert fp32["runtime"]["kv_cache"]["max_positions"] == 64 and fp32["runtime"]["delegate"] == "XNNPACK"
    assert fp32["artifact"]["details"]["conversion_check"]["ok"] is True
    # 8da4w with groups of 64: only down_proj (64 wide) is quantized; the 32-wide layers and the head stay
    # fp32 and the artifact says so
    details = q["artifact"]["details"]
    assert details["group_size"] == 64 and details["quantized_linears"] == 1
    skipped = {s["name"]: s["in_features"] for s in details["skipped_linears"]}
    assert skipped["lm_head"] == 32 and skipped["model.layers.0.self_attn.q_proj"] == 32 and len(skipped) == 7
    assert "model.layers.0.mlp.down_proj" not in skipped
    assert q["artifact"]["precision_map"]["int8-dynamic-int4-weight"] == 1
    assert q["artifact"]["weight_bits"] == 4 and q["artifact"]["activation_bits"] == 8
    assert q["runtime"]["inference_precision"] == "f32+int8"  # attention matmuls and skipped layers: f32
    ppl, ref = q["accuracy"]["perplexity"], fp32["accuracy"]["perplexity"]
    assert np.isfinite(ppl) and ppl >= ref * 0.99 and ppl < ref * 3
    assert q["accuracy"]["fp32_perplexity"] == pytest.approx(ref)
    assert q["latency"]["ttft_ms"] > 0 and q["throughput"]["tokens_per_s"] > 0

    # The cache does not carry one window into the next: window B after a longer window A gives what a
    # freshly loaded program gives for B alone.
    from suite.config.schemas import RuntimeSpec
    from suite.runtimes.executorch_rt import ExecutorchSession

    pte = Path(fp32["artifact"]["path"])
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 300, (1, 60)), rng.integers(0, 300, (2, 20))
    used = ExecutorchSession(pte, RuntimeSpec(name="executorch"))
    graph = used.lm_graph()
    graph.prefill(used.run_feeds, a)
    after_a, _ = graph.prefill(used.run_feeds, b)
    fresh = ExecutorchSession(pte, RuntimeSpec(name="executorch"))
    alone, _ = fresh.lm_graph().prefill(fresh.run_feeds, b[:1])
    assert np.isfinite(after_a).all()
    np.testing.assert_array_equal(after_a[0], alone[0])


def test_a_classifier_program_is_not_an_lm(tmp_path: Path) -> None:
    """A program without ExecuTorch's LLM constant methods runs as before and refuses lm_graph in one line."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("executorch")
    from suite.config.schemas import RuntimeSpec
    from suite.methods.executorch_program import lower
    from suite.runtimes.executorch_rt import ExecutorchSession

    module = torch.nn.Sequential(torch.nn.Linear(8, 4)).eval()
    with torch.no_grad():
        lower(torch.export.export(module, (torch.zeros(1, 8),)), tmp_path / "linear.pte")
    session = ExecutorchSession(tmp_path / "linear.pte", RuntimeSpec(name="executorch"))
    x = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(session.predict(x), module(torch.from_numpy(x)).numpy(), atol=1e-5)
    assert session.info()["kv_cache"] is None and session.info()["delegation"]["delegate_calls"] == 1
    with pytest.raises(JobFailed, match="no KV cache"):
        session.lm_graph()
