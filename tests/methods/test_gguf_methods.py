"""GGUF methods: a tiny Llama converted by llama.cpp's converter and quantized to each type runs ok on the llamacpp
runtime, with what was stored read back (per-tensor types, fallbacks); a quant type llama-quantize does not have is
refused before any job; llama-quantize's log is read as data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import edgeq
from tests.runtimes.llamacpp_support import built_gguf, micro_task, require_llamacpp

PRESETS = [
    "gguf-f32",
    "gguf-f16",
    "gguf-q8_0",
    "gguf-q4_0",
    "gguf-q4_k_m",
    "gguf-q4_k_m-imatrix",
    "gguf-iq4_xs-imatrix",
]


@pytest.mark.slow
def test_each_type_runs_ok_with_what_was_stored(tmp_path: Path, results_dir: Path) -> None:
    require_llamacpp()
    task = micro_task(tmp_path)
    methods = ",".join(["fp32", *PRESETS])
    proc = edgeq(
        "bench",
        "--target",
        "local-cpu",
        "--tasks",
        str(task),
        "--methods",
        methods,
        "--runtimes",
        "ort,llamacpp",
        "--quick",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in (results_dir / "records" / "local-cpu" / "gpt-micro").glob("*.json")]
    ours = {r["method"]["name"]: r for r in records if r["runtime"]["name"] == "llamacpp"}
    fp32 = next(r for r in records if r["method"]["name"] == "fp32" and r["runtime"]["name"] == "ort")
    assert set(ours) == set(PRESETS)
    for name, record in ours.items():
        assert record["status"] == "ok", (name, record.get("error"))
        artifact, runtime = record["artifact"], record["runtime"]
        assert artifact["format"] == "gguf" and artifact["path"].endswith(".gguf")
        assert record["accuracy"]["perplexity"] > 1 and record["latency"]["ttft_ms"] > 0
        assert record["throughput"]["tokens_per_s"] > 0 and record["memory"]["peak_rss_mb"] > 0
        assert runtime["version"] == "0.3.36" and runtime["threads"] == 1 and runtime["system_info"]
        assert sum(artifact["precision_map"].values()) == artifact["details"]["llama_quantize"].get("tensors", 11)
        check = artifact["details"]["conversion_check"]  # the f32 GGUF it was quantized from, against its source
        assert check["ok"] is True and check["to"].startswith("gguf f32") and check["n"] == 64
    # f32 keeps the fp32 model's perplexity and is the llamacpp entry's baseline (KLD reference); f16 is near it
    f32, f16 = ours["gguf-f32"]["accuracy"], ours["gguf-f16"]["accuracy"]
    assert f32["perplexity"] == pytest.approx(fp32["accuracy"]["perplexity"], rel=1e-4)
    assert f16["perplexity"] == pytest.approx(fp32["accuracy"]["perplexity"], rel=2e-3)
    assert ours["gguf-q4_0"]["accuracy"]["fp32_perplexity"] == f32["perplexity"]
    assert ours["gguf-q4_0"]["accuracy"]["fidelity"]["kld_mean"] > f16["fidelity"]["kld_mean"] >= 0
    assert ours["gguf-f32"]["runtime"]["inference_precision"] == "f32"
    # hidden size 32, MLP 64: K-quant rows need 256, so every 2D weight of q4_k_m fell back, and says to what
    details = ours["gguf-q4_k_m"]["artifact"]["details"]
    assert details["fallbacks"] and all(f["row_length"] in (32, 64) and f["block"] == 256 for f in details["fallbacks"])
    assert details["llama_quantize"]["fallback_tensors"] == len(details["fallbacks"])
    assert "q4_k" not in details["tensor_types"] and ours["gguf-q4_k_m"]["runtime"]["inference_precision"] == "int8"
    imatrix = ours["gguf-q4_k_m-imatrix"]["artifact"]["details"]["imatrix"]
    assert imatrix["windows"] == 8 and imatrix["chunk_tokens"] == 64 and "training documents" in imatrix["calibration"]
    assert imatrix["token_check"]["equal"] is True  # the gpt-2 pre-tokenizer override splits as the task's BPE does
    assert ours["gguf-iq4_xs-imatrix"]["artifact"]["details"]["imatrix"]["file"] == imatrix["file"]  # computed once
    assert ours["gguf-f16"]["runtime"]["inference_precision"] == "f16"


def test_unknown_quant_type_is_refused_before_any_job(tmp_path: Path, results_dir: Path) -> None:
    task = micro_task(tmp_path)
    proc = edgeq(
        "bench", "--target", "local-cpu", "--tasks", str(task), "--methods", "gguf", "--param", "gguf.type=q9_k"
    )
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("edgeq: error:") and "q9_k" in line and "llama-quantize type" in line
    assert "Traceback" not in proc.stderr and not (results_dir / "records").exists()


def test_quantize_log_is_read_as_data() -> None:
    from suite.methods.gguf import read_quantize_log

    log = """warning: blk.0.attn_k.weight                  - ncols    576 not divisible by 256 (required for type    q4_K) -> falling back to    q5_0
[   1/ 272] output_norm.weight                   - [   576,      1,      1,      1], type =    f32, size =    0.002 MiB
[   3/ 272] blk.0.attn_k.weight                  - [   576,    192,      1,      1], type =    f32, converting to q5_0 .. size =     0.42 MiB ->     0.07 MiB
llama_model_quantize_impl: quant size  =    98.87 MiB (6.17 BPW)
llama_model_quantize_impl: WARNING: 180 of 272 tensor(s) required fallback quantization"""
    read = read_quantize_log(log)
    assert read["tensor_types"] == {"output_norm.weight": "f32", "blk.0.attn_k.weight": "q5_0"}
    assert read["fallbacks"] == [
        {
            "tensor": "blk.0.attn_k.weight",
            "row_length": 576,
            "block": 256,
            "wanted": "q4_k",
            "used": "q5_0",
            "reason": "row length 576 not divisible by q4_K's block of 256",
        }
    ]
    assert read["llama_quantize"] == {
        "size_mib": 98.87,
        "bits_per_weight": 6.17,
        "fallback_tensors": 180,
        "tensors": 272,
    }


def test_the_f32_conversion_is_checked_and_a_broken_one_is_refused(tmp_path: Path) -> None:
    """The HF -> f32 GGUF check is recorded in the artifact and kept beside the f32 file; the same file with two
    rows of its LM head (or tied embedding table) swapped (the reference's most frequent top-1 token and its least likely one) is refused."""
    require_llamacpp()
    import shutil

    import gguf
    import numpy as np

    from suite.config import load_task
    from suite.errors import BadInput
    from suite.job.build import fp32_onnx, task_state
    from suite.methods.base import PrepareContext
    from suite.methods.gguf_convert import conversion_check, converted
    from suite.zoo.conversion_check import LM_TOLERANCE, lm_check_tokens, ort_lm_logits

    task = micro_task(tmp_path)
    _gguf, record = built_gguf(task, "gguf-q8_0")
    check = record["details"]["conversion_check"]
    assert check["ok"] is True and check["from"].startswith("transformers fp32") and check["n"] == 64
    assert check["kld_mean"] < LM_TOLERANCE["kld_mean"] / 100 and check["top1_agreement"] == 1.0
    state = task_state(load_task(str(task)))
    ctx = PrepareContext(
        task=state.task,
        splits=state.splits,
        reference=state.reference,
        workdir=tmp_path,
        fp32_onnx=lambda: fp32_onnx(state),
        target_name="test",
    )
    f32, _facts = converted(ctx)
    assert len(list(f32.parent.glob(f"{f32.stem}.check-*.json"))) == 1
    assert conversion_check(ctx, f32) == check  # read back from beside the f32 file

    ref = ort_lm_logits(ctx.fp32_onnx(), lm_check_tokens(state.splits.x_eval))
    top, low = int(np.bincount(ref.argmax(-1)).argmax()), int(ref.mean(0).argmin())
    broken = tmp_path / "broken.gguf"
    shutil.copyfile(f32, broken)
    reader = gguf.GGUFReader(str(broken), "r+")
    tensors = {t.name: t for t in reader.tensors}
    head = tensors.get("output.weight") or tensors["token_embd.weight"]  # a tied head is the embedding table
    rows = head.data  # [vocab, hidden] float32, a view of the file
    rows[[top, low]] = rows[[low, top]]
    reader.data.flush()
    del reader, rows, head
    with pytest.raises(BadInput) as info:
        conversion_check(ctx, broken)
    line = str(info.value)
    assert (
        "\n" not in line and "-> gguf f32 (llama.cpp convert_hf_to_gguf.py, on llama.cpp) conversion disagrees" in line
    )
    assert "top-1 token agreement" in line and "no number is recorded from it" in line
