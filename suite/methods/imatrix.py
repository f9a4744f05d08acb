"""The importance matrix of a task's causal LM, from its calibration text with llama.cpp's ``llama-imatrix``.

The text is the task's calibration windows (``x_cal``: windows of the *training* documents, never the
held-out text that is evaluated) decoded with the task's own tokenizer, one window per paragraph;
llama-imatrix tokenizes it again with the GGUF's tokenizer, so how far the two tokenizers agree on that
text is measured and recorded (``token_check``, suite/methods/gguf_convert.py): at least
``MIN_AGREEMENT`` of the task's tokens outside differing spans, else the job fails (the statistics would
be of other tokens). A task whose calibration is drawn from the evaluated text
(``dataset.calibration.source: eval``) is refused.
Chunks are the task's window (``-c``), so the statistics see the same context length the model is
evaluated at; the f32 GGUF is the model that is run, and ``--no-ppl`` skips llama-imatrix's own
perplexity. The matrix is cached beside the f32 GGUF, keyed by it and the calibration windows, and
shared by every imatrix method of the task.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from suite.errors import BadInput, JobFailed
from suite.methods.base import PrepareContext
from suite.methods.gguf_convert import calibration_text, token_check
from suite.runtimes.llamacpp_build import tool

MIN_AGREEMENT = 0.99


def _threads() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def importance_matrix(ctx: PrepareContext, f32_gguf: Path) -> tuple[Path, dict[str, Any]]:
    """The imatrix file for the task's calibration windows on ``f32_gguf`` (cached), and what made it."""
    if (ctx.splits.identity.get("calibration") or {}).get("on_eval"):
        raise BadInput(
            f"task {ctx.task.name}: dataset.calibration.source is eval: an importance matrix from the evaluated text "
            "would score the model on what it was tuned to; use the training documents (calibration.source: split)"
        )
    window = int(ctx.task.input.shape[0])
    digest = hashlib.sha256(np.ascontiguousarray(ctx.splits.x_cal).tobytes()).hexdigest()[:16]
    out = f32_gguf.with_name(f"{f32_gguf.stem}-imatrix-{digest}-c{window}.gguf")
    about = {
        "calibration": "the task's calibration windows (training documents) decoded with its tokenizer",
        "windows": int(len(ctx.splits.x_cal)),
        "chunk_tokens": window,
        "tool": "llama-imatrix --no-ppl",
        "file": out.name,
    }
    text_of_windows = calibration_text(ctx)
    check = token_check(f32_gguf, Path(ctx.splits.identity["tokenizer_file"]), text_of_windows)
    about["token_check"] = check
    if check["agreement"] < MIN_AGREEMENT:
        raise JobFailed(
            f"llama.cpp's tokenizer in {f32_gguf.name} and the task's tokenizer agree on {check['agreement']:.1%} of the "
            f"calibration text's tokens (first difference at token {check['first_difference']}), expected at least "
            f"{MIN_AGREEMENT:.0%}: llama-imatrix would gather statistics of other tokens"
        )
    if out.is_file():
        return out, {**about, "cached": True}
    private = out.with_name(f".{out.stem}-{os.getpid()}-{secrets.token_hex(4)}")
    private.mkdir()
    try:
        text = private / "calibration.txt"
        text.write_text(text_of_windows, encoding="utf-8")
        built = private / "imatrix.gguf"
        cmd = [str(tool("llama-imatrix")), "-m", str(f32_gguf), "-f", str(text), "-o", str(built)]
        cmd += ["-c", str(window), "-b", str(window), "--no-ppl", "-t", str(_threads())]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = round(time.perf_counter() - t0, 2)
        if proc.returncode != 0 or not built.is_file():
            lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
            raise JobFailed(f"llama-imatrix failed on {f32_gguf.name}: {(lines[-1] if lines else '')[:300]}")
        chunks = next(
            (ln.split("computing over", 1)[1].split()[0] for ln in proc.stderr.splitlines() if "computing over" in ln),
            None,
        )
        os.replace(built, out)
    finally:
        import shutil

        shutil.rmtree(private, ignore_errors=True)
    return out, {**about, "cached": False, "seconds": seconds, "chunks": int(chunks) if chunks else None}
