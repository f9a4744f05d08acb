"""A task's float causal LM as an f32 GGUF, made once with llama.cpp's own converter and shared by every GGUF method.

Where the float weights come from (the causal-LM reference of suite/zoo/transformers_source.py):

- a model trained here, or a Hugging Face folder: the folder itself (config.json, model.safetensors,
  tokenizer.json) goes to ``convert_hf_to_gguf.py``;
- a ``.gguf`` source (smollm2-135m-wiki's packaged Q4_1 file): the weights transformers dequantized to
  float32, which are the task's "fp32" reference, are written as a Hugging Face folder first (safetensors,
  config, the tokenizer transformers read from the GGUF) and converted from there, so the GGUF methods
  start from the very weights the ONNX methods start from (Q4_1-rounded values; ``source_note`` says so).

The f32 GGUF is converted without rounding (``--outtype f32``) and every method quantizes from it with
llama-quantize (f16 included), as llama.cpp recommends quantizing from the highest precision there is. It
is cached under ``<cache>/gguf/causal-lm/`` by the weights' hash and the llama.cpp commit, beside a JSON
of what the conversion did (seconds, the pre-tokenizer override if one was needed).

Conversion check (:func:`conversion_check`): the f32 GGUF's logits on llama.cpp against the fp32 source's on
the task's first eval tokens (suite.zoo.conversion_check.compare_lm), the source being the task's fp32 ONNX
graph on ONNX Runtime, itself checked against transformers on the same tokens (a cheaper run of the same
numbers than loading the torch model again). Kept beside the f32 GGUF, recorded in every GGUF artifact, and
a disagreement fails the job in one line; the quantization of each method is on purpose and not held to it.

Token check (:func:`token_check`): llama.cpp's tokenizer (from the GGUF) and the task's tokenizer
(``tokenizers``) encode the same text and the spans where their ids differ are counted. EdgeQ feeds ids,
so only the importance matrix (llama-imatrix reads text) depends on it. On SmolLM2's calibration text
the two differ in 3 spans of 16,430 tokens, all whitespace ("\n\n" as one token or two: the tokenizer
transformers converts from the GGUF and llama.cpp's own "smollm" pre-tokenizer disagree there).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from suite.errors import BadInput, JobFailed
from suite.methods.base import PrepareContext
from suite.paths import cache_dir
from suite.runtimes.llamacpp_build import converter, require_build

CONVERT_VERSION = 1  # bump when what is converted or how changes (the cached GGUF is keyed by it)
PRE_TOKENIZER_OVERRIDE = "gpt-2"  # for a BPE tokenizer the converter does not know: see gguf_converter_main.py


def _key(ctx: PrepareContext) -> str:
    build = require_build()
    payload = {
        "weights": ctx.reference.weights_sha256,
        "llama_cpp": build.get("llama_cpp_commit"),
        "version": CONVERT_VERSION,
        "pre": PRE_TOKENIZER_OVERRIDE,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _source_folder(ctx: PrepareContext, workdir: Path) -> tuple[Path, str | None]:
    """The Hugging Face folder holding the reference's float weights, and what its "fp32" is when not plain."""
    origin = ctx.reference.origin
    if origin.get("source") != "transformers" or origin.get("name") != "causal-lm" or not origin.get("path"):
        raise BadInput(
            f"task {ctx.task.name}: GGUF methods convert a causal LM of model.source transformers "
            f"(model.name causal-lm); this task's model is {origin.get('source')}/{origin.get('name')}"
        )
    path = Path(str(origin["path"]))
    if path.suffix != ".gguf":
        return path, None
    return _dequantized_folder(path, workdir), str(origin.get("note") or "weights dequantized from a GGUF file")


def _dequantized_folder(gguf_file: Path, workdir: Path) -> Path:
    """The float32 weights transformers reads from a GGUF, written as a Hugging Face folder the converter takes.

    transformers refuses ``save_pretrained`` of a model loaded from GGUF, so the state dict is written with
    safetensors (a tied LM head once, as the embedding) and the config without its quantization entry."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"local_files_only": True, "gguf_file": gguf_file.name}
    model = AutoModelForCausalLM.from_pretrained(str(gguf_file.parent), dtype="float32", **kwargs).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_file.parent), **kwargs)
    folder = workdir / "hf"
    folder.mkdir(parents=True, exist_ok=True)
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not (tied and k == "lm_head.weight")}
    save_file(state, str(folder / "model.safetensors"))
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config["architectures"] = [type(model).__name__]
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    tokenizer.save_pretrained(str(folder))
    return folder


def run_converter(folder: Path, out: Path, outtype: str = "f32") -> dict[str, Any]:
    """``convert_hf_to_gguf.py FOLDER --outtype OUTTYPE`` in a subprocess; its override line and time."""
    wrapper = Path(__file__).with_name("gguf_converter_main.py")
    cmd = [sys.executable, str(wrapper), str(converter()), PRE_TOKENIZER_OVERRIDE, str(folder)]
    cmd += ["--outtype", outtype, "--outfile", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = round(time.perf_counter() - t0, 2)
    if proc.returncode != 0 or not out.is_file():
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        cause = next((ln for ln in reversed(lines) if "Error" in ln or "error" in ln), lines[-1] if lines else "")
        raise JobFailed(f"llama.cpp's convert_hf_to_gguf.py cannot convert {folder}: {cause[:300]}")
    override = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in proc.stdout.splitlines()
            if ln.startswith("edgeq-pre-tokenizer-override")
        ),
        None,
    )
    return {"seconds": seconds, "outtype": outtype, "pre_tokenizer_override": override}


def token_check(gguf_file: Path, tokenizer_file: Path, text: str) -> dict[str, Any]:
    """How far llama.cpp's tokenizer (read from the GGUF) agrees with the task's tokenizer on ``text``: the spans
    where the id sequences differ (difflib's alignment) and the share of the task's tokens outside them."""
    import difflib

    import llama_cpp
    from tokenizers import Tokenizer

    vocab = llama_cpp.Llama(model_path=str(gguf_file), vocab_only=True, verbose=False)
    try:
        theirs = vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False)
    finally:
        vocab.close()
    ours = Tokenizer.from_file(str(tokenizer_file)).encode(text, add_special_tokens=False).ids
    spans = [op for op in difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False).get_opcodes() if op[0] != "equal"]
    differing = sum(a2 - a1 for _, a1, a2, _, _ in spans)
    return {
        "equal": ours == theirs,
        "tokens": len(ours),
        "llama_cpp_tokens": len(theirs),
        "differing_spans": len(spans),
        "agreement": 1 - differing / max(1, len(ours)),
        "first_difference": spans[0][1] if spans else None,
    }


def calibration_text(ctx: PrepareContext) -> str:
    """The calibration windows (training documents) decoded to text with the task's tokenizer, one per paragraph."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(ctx.splits.identity["tokenizer_file"]))
    return "\n\n".join(tokenizer.decode([int(t) for t in row if t >= 0]) for row in ctx.splits.x_cal)


def converted(ctx: PrepareContext) -> tuple[Path, dict[str, Any]]:
    """The task's f32 GGUF and what its conversion did: from the cache, or converted now (once per weights)."""
    require_build()
    folder = cache_dir("gguf", "causal-lm")
    path = folder / f"f32-{_key(ctx)}.gguf"
    facts_file = path.with_suffix(".json")
    if path.is_file() and facts_file.is_file():
        return path, json.loads(facts_file.read_text())
    private = folder / f".building-{os.getpid()}-{secrets.token_hex(4)}"
    private.mkdir()
    try:
        t0 = time.perf_counter()
        source, note = _source_folder(ctx, private)
        out = private / "model.gguf"
        facts = run_converter(source, out)
        facts.update(
            source_folder=None if note else str(source), source_note=note, prepare_s=round(time.perf_counter() - t0, 2)
        )
        (private / "facts.json").write_text(json.dumps(facts, indent=1))
        os.replace(out, path)  # the GGUF first, the facts last: a reader needs both
        os.replace(private / "facts.json", facts_file)
    finally:
        import shutil

        shutil.rmtree(private, ignore_errors=True)
    return path, facts


def conversion_check(ctx: PrepareContext, f32_gguf: Path) -> dict[str, Any]:
    """The HF -> f32 GGUF conversion against the fp32 source on the task's tokens, enforced; computed once per
    conversion and tokens and kept as ``<gguf>.check-<tokens digest>.json`` (a failed check too)."""
    from suite.zoo.conversion_check import (
        compare_lm,
        enforce,
        llamacpp_lm_logits,
        lm_check_tokens,
        lm_positions,
        ort_lm_logits,
    )

    ids = lm_check_tokens(ctx.splits.x_eval)
    digest = hashlib.sha256(ids.tobytes()).hexdigest()[:16]
    check_file = f32_gguf.with_name(f"{f32_gguf.stem}.check-{digest}.json")
    if check_file.is_file():
        return enforce(json.loads(check_file.read_text()))
    check = compare_lm(
        "transformers fp32 (its checked ONNX export on ONNX Runtime)",
        "gguf f32 (llama.cpp convert_hf_to_gguf.py, on llama.cpp)",
        ort_lm_logits(ctx.fp32_onnx(), ids),
        llamacpp_lm_logits(f32_gguf, ids),
        positions=lm_positions(ids),
    )
    private = check_file.with_name(f".{check_file.name}.{os.getpid()}-{secrets.token_hex(4)}")
    private.write_text(json.dumps(check, indent=1))
    os.replace(private, check_file)
    return enforce(check)


def shared_work(ctx: PrepareContext, f32_gguf: Path) -> dict[str, Any]:
    """The artifact's ``work`` (compute) block, counted once per conversion and task shape and reused.

    A GGUF's MACs are counted from the fp32 ONNX it was made from (suite/compute/artifact.py), the same
    figure for every GGUF method of a task; counting SmolLM2's graph took most of a minute per job on the
    2-core Xeon VM (loaded), so the block is kept beside the f32 GGUF, keyed by the task's window and
    generation settings. A count that failed (its ``reason``) is not kept."""
    from suite.compute.artifact import artifact_compute

    shape = {
        "input": list(ctx.task.input.shape),
        "generation": ctx.task.generation.model_dump() if ctx.task.generation else None,
    }
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:12]
    cached = f32_gguf.with_name(f"{f32_gguf.stem}-work-{digest}.json")
    if cached.is_file():
        work: dict[str, Any] = json.loads(cached.read_text())
        return work
    work = artifact_compute("gguf", f32_gguf, ctx.fp32_onnx, ctx.task)
    if not work.get("reason"):
        private = cached.with_name(f".{cached.name}.{os.getpid()}-{secrets.token_hex(4)}")
        private.write_text(json.dumps(work))
        os.replace(private, cached)
    return work
