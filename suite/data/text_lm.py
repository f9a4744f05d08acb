"""``text-lm``: a text corpus (plain text, or a MediaWiki XML dump, bz2/gz or not) as language-model windows.

The split, and so the perplexity, follows one written rule (docs/record-schema.md, ``accuracy``):

1. documents: wiki articles (namespace 0, no redirects) or blank-line-separated paragraphs of a text;
2. a seeded permutation (``dataset.seed``) picks ``ceil(eval_fraction x documents)`` held-out documents;
   the rest are the training documents (a model trained here, its tokenizer and calibration use only
   these); ``eval_fraction: 1.0`` evaluates the whole text (calibration then needs
   ``calibration.source: eval``);
3. the held-out documents, in their original order, joined by ``"\\n\\n"``, are tokenized as one string
   with the model's own tokenizer (``add_special_tokens=False``: no BOS/EOS added) and cut to the first
   ``eval_tokens`` tokens; a text with fewer tokens is bad input, before any job;
4. windows of ``input.shape[0]`` tokens every ``stride`` tokens (Hugging Face's "perplexity of
   fixed-length models" rule): window ``i`` covers ``[i*stride, min(i*stride + window, N))`` and
   scores only the tokens the previous window did not reach (the very first token is never scored);
   the perplexity is ``exp(sum of NLL over scored tokens / number of scored tokens)``.

Arrays handed to the run side: ``x_eval`` int64 ``[windows, window]`` (a short last window padded
with ``-1``), ``y_eval`` int64 = the index of each window's first scored position. ``x_train`` /
``x_cal`` are non-overlapping windows of the training documents' token stream (calibration: a seeded
choice of ``n_calibration`` of them). Token streams are cached under ``<cache>/text/`` by the corpus
and tokenizer hashes and the split settings, so planning checks the length once.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from suite.config.schemas import DatasetSpec, Strict
from suite.data.base import Splits, parse_dataset_options, with_identity
from suite.errors import BadInput
from suite.paths import cache_dir

SPLIT_VERSION = 1  # bump when the rule above changes (the cached token streams are keyed by it)
PAD = -1


class Options(Strict):
    format: Literal["auto", "text", "wiki-xml"] = "auto"
    eval_fraction: float = Field(0.1, gt=0, le=1, description="share of documents held out for evaluation")
    eval_tokens: int = Field(16384, ge=2, description="tokens of the held-out text that are scored (its first N)")
    stride: int | None = Field(None, ge=1, description="tokens between window starts; None = the window (no overlap)")


def parse_options(spec: DatasetSpec) -> Options:
    return parse_dataset_options(Options, spec, "text-lm")


def corpus_file(task: Any) -> Path:
    from suite.data.locate import dataset_file

    return dataset_file(task, "text-lm", "a text file or a wiki XML dump (.xml.bz2)")


def window_of(task: Any) -> int:
    shape = list(task.input.shape)
    if len(shape) != 1 or shape[0] < 2:
        raise BadInput(
            f"input.shape: got {shape}, expected [window] (tokens per evaluated window) for a text-lm dataset"
        )
    return int(shape[0])


def check(task: Any) -> None:
    """File-free checks for ``edgeq validate``."""
    opts = parse_options(task.dataset)
    window = window_of(task)
    if task.dataset.n_eval is not None:
        raise BadInput(
            "dataset.n_eval: leave it out for text-lm: the windows follow from dataset.options.eval_tokens, input.shape and stride"
        )
    if (opts.stride or window) > window:
        raise BadInput(
            f"dataset.options.stride: got {opts.stride}, expected at most the window input.shape[0] = {window}"
        )
    if task.input.dtype != "int64":
        raise BadInput(f"input.dtype: got {task.input.dtype}, expected int64 (token ids) for a text-lm dataset")


def _split_docs(docs: list[dict[str, str]], spec: DatasetSpec, opts: Options) -> tuple[list[int], list[int]]:
    n_eval = max(1, math.ceil(opts.eval_fraction * len(docs)))
    order = np.random.default_rng(spec.seed).permutation(len(docs))
    held = sorted(int(i) for i in order[:n_eval])
    train = sorted(int(i) for i in order[n_eval:])
    return held, train


def token_streams(task: Any) -> dict[str, Any]:
    """The held-out and training token streams (cached), and where they came from."""
    from suite.data.hashing import file_sha256
    from suite.data.text_files import documents
    from suite.data.tokenizer import load_tokenizer, tokenizer_identity, tokenizer_path

    check(task)
    spec, opts = task.dataset, parse_options(task.dataset)
    path = corpus_file(task)
    tok_id = tokenizer_identity(task)
    # A model trained here needs the whole training stream; a pretrained one only its calibration windows.
    trained_here = task.model.path is None
    need = (spec.n_calibration + 1) * window_of(task)
    key_src = {
        "v": SPLIT_VERSION,
        "file": file_sha256(path),
        "tokenizer": tok_id,
        "seed": spec.seed,
        "options": opts.model_dump(),
        "train_tokens": None if trained_here else need,
    }
    key = hashlib.sha256(json.dumps(key_src, sort_keys=True).encode()).hexdigest()[:16]
    cached = cache_dir("text") / f"{key}.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return {
                **meta,
                "eval_ids": data["eval_ids"].astype(np.int64),
                "train_ids": data["train_ids"].astype(np.int64),
            }
    docs, used = documents(path, opts.format)
    held, train = _split_docs(docs, spec, opts)
    train_texts = [docs[i]["text"] for i in train]
    tok_file = tokenizer_path(task, train_texts)
    tokenizer = load_tokenizer(tok_file)
    eval_ids = np.asarray(
        tokenizer.encode("\n\n".join(docs[i]["text"] for i in held), add_special_tokens=False).ids, dtype=np.int64
    )
    train_ids = _train_stream(tokenizer, train_texts, None if trained_here else need)
    meta = {
        "format": used,
        "documents": len(docs),
        "eval_documents": len(held),
        "train_documents": len(train),
        "eval_titles_sha256": hashlib.sha256("\n".join(docs[i]["title"] for i in held).encode()).hexdigest(),
        "eval_tokens_available": int(len(eval_ids)),
        "train_tokens": int(len(train_ids)),
        "train_stream": "whole" if trained_here else "calibration only",
        "vocab_size": int(tokenizer.get_vocab_size()),
        "tokenizer_file": str(tok_file),
    }
    tmp = cached.with_name(f".{cached.stem}.tmp.npz")
    np.savez(
        tmp, eval_ids=eval_ids.astype(np.int32), train_ids=train_ids.astype(np.int32), meta=np.array(json.dumps(meta))
    )
    tmp.replace(cached)
    return {**meta, "eval_ids": eval_ids, "train_ids": train_ids}


def _train_stream(tokenizer: Any, texts: list[str], need: int | None) -> np.ndarray:
    """The training documents' tokens, concatenated; only the first ``need`` tokens when set."""
    if need is None:
        encoded = tokenizer.encode_batch(texts, add_special_tokens=False) if texts else []
        return np.asarray([t for e in encoded for t in e.ids], dtype=np.int64)
    ids: list[int] = []
    for start in range(0, len(texts), 8):
        for e in tokenizer.encode_batch(texts[start : start + 8], add_special_tokens=False):
            ids.extend(e.ids)
        if len(ids) >= need:
            break
    return np.asarray(ids[:need], dtype=np.int64)


def _checked(task: Any, streams: dict[str, Any]) -> None:
    opts = parse_options(task.dataset)
    have = streams["eval_tokens_available"]
    if have < opts.eval_tokens:
        raise BadInput(
            f"{corpus_file(task)}: the held-out text has {have} tokens ({streams['eval_documents']} of "
            f"{streams['documents']} documents), fewer than dataset.options.eval_tokens = {opts.eval_tokens}; "
            f"lower eval_tokens or raise eval_fraction"
        )


def identity(task: Any) -> dict[str, Any]:
    """Corpus and tokenizer hashes; checks at planning time that the held-out text is long enough."""
    from suite.data.hashing import file_sha256
    from suite.data.tokenizer import tokenizer_identity

    streams = token_streams(task)
    _checked(task, streams)
    return {
        "file_sha256": file_sha256(corpus_file(task)),
        "tokenizer": tokenizer_identity(task),
        "split_version": SPLIT_VERSION,
    }


def windows(ids: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, first_scored)`` of the sliding-window rule in the module docstring."""
    n = len(ids)
    rows, first = [], []
    prev_end = 0
    for begin in range(0, n, stride):
        end = min(begin + window, n)
        chunk = ids[begin:end]
        row = np.full(window, PAD, dtype=np.int64)
        row[: len(chunk)] = chunk
        rows.append(row)
        first.append(max(1, len(chunk) - (end - prev_end)))
        prev_end = end
        if end == n:
            break
    return np.stack(rows), np.asarray(first, dtype=np.int64)


def chunks(ids: np.ndarray, window: int) -> np.ndarray:
    n = len(ids) // window
    return ids[: n * window].reshape(n, window)


@with_identity(identity, check=check)
def load(spec: DatasetSpec, task: Any) -> Splits:
    opts = parse_options(spec)
    streams = token_streams(task)
    _checked(task, streams)
    window = window_of(task)
    stride = opts.stride or window
    x_eval, y_eval = windows(streams["eval_ids"][: opts.eval_tokens], window, stride)
    train = chunks(streams["train_ids"], window)
    rng = np.random.default_rng(spec.seed)
    if spec.calibration.source == "eval":
        pool, on_eval = chunks(streams["eval_ids"][: opts.eval_tokens], window), True
    elif spec.calibration.source == "split":
        pool, on_eval = train, False
    else:
        raise BadInput(
            "dataset.calibration.source: text-lm draws calibration windows from the training documents (split) or the held-out text (eval), not a folder"
        )
    if spec.n_calibration > len(pool):
        raise BadInput(
            f"dataset.n_calibration: got {spec.n_calibration}, expected at most the {len(pool)} windows of {window} tokens "
            f"in the {'held-out' if on_eval else 'training'} text"
        )
    x_cal = pool[np.sort(rng.choice(len(pool), size=spec.n_calibration, replace=False))]
    meta = {k: v for k, v in streams.items() if k not in ("eval_ids", "train_ids")}
    return Splits(
        x_train=train,
        y_train=np.zeros(len(train), dtype=np.int64),
        x_eval=x_eval,
        y_eval=y_eval,
        x_cal=x_cal,
        identity={
            "name": spec.name,
            "path": str(corpus_file(task)),
            **identity(task),
            **meta,
            "seed": spec.seed,
            "n_eval": len(x_eval),
            "n_calibration": len(x_cal),
            "window": window,
            "stride": stride,
            "eval_tokens": opts.eval_tokens,
            "scored_tokens": int(sum(int((r != PAD).sum()) - f for r, f in zip(x_eval, y_eval))),
            "calibration": {"source": spec.calibration.source, "on_eval": on_eval},
        },
    )
