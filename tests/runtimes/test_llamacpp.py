"""The llamacpp runtime: EdgeQ's perplexity over its logits equals a bare llama-cpp-python computation on the same
GGUF and an unseen text; its prefill/step agree; a file that is not a whole GGUF fails in one line; without the build,
its jobs say in one line how to get it."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import edgeq
from tests.runtimes.llamacpp_support import built_gguf, micro_task, require_llamacpp

UNSEEN = (
    "A lighthouse keeper counted the ships that passed the northern cape every night for eleven years. "
    "Her ledger, now kept in a small museum, lists 4,218 vessels, their flags, and the weather at dawn.\n\n"
    "The museum opens at nine; visitors may read the ledger's copy but not touch the original pages."
)


def _spec(threads: int = 1):  # noqa: ANN202
    from suite.config.schemas import RuntimeSpec

    return RuntimeSpec(name="llamacpp", threads=threads)


def _bare_perplexity(gguf: Path, x: np.ndarray, first: np.ndarray, window: int) -> float:
    """Each window through llama-cpp-python itself (logits of every position), log-softmax in numpy."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(gguf), n_ctx=window, logits_all=True, n_threads=1, verbose=False)
    total, count = 0.0, 0
    for row, f in zip(x, first):
        ids = [int(t) for t in row if t >= 0]
        llm.reset()
        llm.eval(ids)
        logits = np.asarray(llm.scores[: len(ids)], dtype=np.float64)
        logp = logits - logits.max(-1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
        total -= float(logp[np.arange(f - 1, len(ids) - 1), ids[f:]].sum())
        count += len(ids) - int(f)
    llm.close()
    return math.exp(total / count)


@pytest.mark.slow
def test_perplexity_equals_bare_llama_cpp_and_steps_agree(tmp_path: Path) -> None:
    require_llamacpp()
    from tokenizers import Tokenizer

    from suite.config import load_task
    from suite.data.text_lm import windows
    from suite.job.build import task_state
    from suite.measure.lm_eval import perplexity
    from suite.runtimes.llamacpp_rt import LlamaCppRuntime

    task_file = micro_task(tmp_path)
    gguf, artifact = built_gguf(task_file, "gguf-q4_k_m")
    state = task_state(load_task(str(task_file)))
    tokenizer_file = Path(state.splits.identity["tokenizer_file"])
    ids = np.asarray(Tokenizer.from_file(str(tokenizer_file)).encode(UNSEEN, add_special_tokens=False).ids)
    x, first = windows(ids, 64, 32)

    # the GGUF's own tokenizer gives the task tokenizer's ids (llama-imatrix reads text with it)
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    assert vocab.tokenize(UNSEEN.encode(), add_bos=False, special=False) == ids.tolist()
    vocab.close()
    from suite.methods.gguf_convert import token_check

    check = token_check(gguf, tokenizer_file, UNSEEN)
    assert check["equal"] is True and check["agreement"] == 1.0 and check["differing_spans"] == 0
    assert artifact["details"]["converted"]["pre_tokenizer_override"] == "gpt-2"  # trained here: unknown to it

    session = LlamaCppRuntime().load(gguf, _spec())
    suite_ppl = perplexity(session, x, first, vocab=300)["perplexity"]
    assert suite_ppl == pytest.approx(_bare_perplexity(gguf, x, first, 64), rel=1e-9)

    # prefill of prompt + token == prefill of prompt, then one step with the cache
    graph = session.lm_graph()
    prompt = x[:1, :16]
    logits, past = graph.prefill(session.run_feeds, prompt)
    token = logits[:, -1].argmax(-1)[:, None].astype(np.int64)
    stepped, _ = graph.step(session.run_feeds, token, past)
    whole, _ = graph.prefill(session.run_feeds, np.concatenate([prompt, token], axis=1))
    assert logits.shape == (1, 16, 300) and stepped.shape == (1, 1, 300)
    np.testing.assert_allclose(stepped[0, 0], whole[0, -1], rtol=1e-4, atol=1e-4)
    from suite.errors import JobFailed

    with pytest.raises(JobFailed, match="not the context's latest"):
        graph.step(session.run_feeds, token, past)  # the cache has moved on since that marker

    info = session.info()
    assert info["name"] == "llamacpp" and info["threads"] == 1 and len(info["llama_cpp_commit"]) == 40
    assert "AVX" in info["system_info"] or "NEON" in info["system_info"]
    assert info["build_flags"] and info["n_ctx"] >= 64


def test_truncated_gguf_fails_in_one_line(tmp_path: Path) -> None:
    require_llamacpp()
    from suite.errors import JobFailed
    from suite.runtimes.llamacpp_rt import LlamaCppRuntime

    gguf, _ = built_gguf(micro_task(tmp_path), "gguf-q8_0")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(gguf.read_bytes()[: gguf.stat().st_size // 2])
    with pytest.raises(JobFailed) as failed:
        LlamaCppRuntime().load(cut, _spec())
    message = str(failed.value)
    assert "\n" not in message and str(cut) in message and "cannot load it as a GGUF model" in message
    other = tmp_path / "model.gguf"
    other.write_bytes(b"ONNX" + bytes(64))
    with pytest.raises(JobFailed, match="not a GGUF file"):
        LlamaCppRuntime().load(other, _spec())


def test_not_built_is_one_line_and_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A llama_cpp package without the build's stamp (pip-installed only, or nothing): the runtime and the methods
    raise NotAvailableHere (a skipped job) with how to build it; status is not ok with the same line."""
    from suite.errors import NotAvailableHere
    from suite.methods.gguf import Gguf, GgufParams
    from suite.runtimes import llamacpp_build
    from suite.runtimes.llamacpp_rt import LlamaCppRuntime

    bare = tmp_path / "llama_cpp"
    bare.mkdir()
    monkeypatch.setattr(llamacpp_build, "package_dir", lambda: bare)
    status = LlamaCppRuntime().status(_spec())
    assert not status.ok and "make llamacpp" in status.summary and "\n" not in status.summary
    with pytest.raises(NotAvailableHere, match="make llamacpp"):
        LlamaCppRuntime().load(tmp_path / "x.gguf", _spec())
    with pytest.raises(NotAvailableHere, match="make llamacpp"):
        Gguf().apply(None, GgufParams(type="q8_0"))  # type: ignore[arg-type]


def test_bad_runtime_option_is_bad_input() -> None:
    from suite.config.schemas import RuntimeSpec
    from suite.errors import BadInput
    from suite.runtimes.llamacpp_rt import _check_options

    with pytest.raises(BadInput, match="options.n_gpu: unknown option"):
        _check_options(RuntimeSpec(name="llamacpp", options={"n_gpu": 1}))
    with pytest.raises(BadInput, match="options.n_ctx: got 'big'"):
        _check_options(RuntimeSpec(name="llamacpp", options={"n_ctx": "big"}))


@pytest.mark.slow
def test_sweep_without_the_build_skips_its_jobs(tmp_path: Path, results_dir: Path) -> None:
    """A sweep of GGUF methods where only a bare llama_cpp package is importable: skipped records, exit 0."""
    import json

    fake = tmp_path / "fake"
    (fake / "llama_cpp").mkdir(parents=True)
    (fake / "llama_cpp" / "__init__.py").write_text("")
    task = micro_task(tmp_path)
    import os

    env = {"PYTHONPATH": os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")])}
    proc = edgeq("bench", "--target", "local-cpu", "--tasks", str(task), "--methods", "gguf-q8_0", "--quick", env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in (results_dir / "records").rglob("*.json")]
    assert records and all(r["status"] == "skipped" for r in records)
    assert "make llamacpp" in records[0]["error"] and "make llamacpp" in " ".join(proc.stdout.split())
    shutil.rmtree(fake)


@pytest.mark.slow
def test_fidelity_sets_decode_rate_against_bare_llama_cpp(tmp_path: Path) -> None:
    require_llamacpp()
    task = micro_task(tmp_path)
    args = ("--tasks", str(task), "--methods", "gguf-q8_0", "--runtimes", "llamacpp", "--seconds", "0.5")
    proc = edgeq("fidelity", "--target", "local-cpu", *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("fidelity-lm "))
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part and not part.startswith("bare="))
    assert fields["runtime"] == "llamacpp" and fields["threads"] == "1" and "Llama.generate" in line
    bare, suite, ratio = float(fields["bare_decode_tok_s"]), float(fields["suite_decode_tok_s"]), float(fields["ratio"])
    assert bare > 0 and suite > 0 and ratio == pytest.approx(suite / bare, abs=2e-3)
