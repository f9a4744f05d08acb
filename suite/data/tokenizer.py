"""The model's own tokenizer, for text datasets: found beside the weights, never downloaded.

Three places a task's tokenizer comes from, decided by its ``model:`` block:

- ``model.path`` is a folder of Hugging Face files: its ``tokenizer.json`` (the fast-tokenizer file
  every current checkpoint ships), read with the ``tokenizers`` library;
- ``model.path`` is a ``.gguf`` file: the tokenizer is inside it; transformers' GGUF reader converts it
  once (``AutoTokenizer.from_pretrained(..., gguf_file=..., local_files_only=True)``) and its
  ``tokenizer.json`` is cached under ``<cache>/tokenizers/gguf-<sha>/``;
- the model is trained here (``model.train`` set, no path): a byte-level BPE tokenizer of
  ``model.options.tokenizer.vocab_size`` is trained with ``tokenizers`` on the dataset's *training*
  documents only and cached by what decides it (checked here to be byte-identical between two runs).

The ``tokenizers`` library does the work; this module only decides where the file is and says in one
line when it is not there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from suite.errors import BadInput
from suite.paths import cache_dir

TOKENIZER_FILE = "tokenizer.json"


def model_file(task: Any) -> Path | None:
    """The folder or .gguf file ``model.path`` names, or None for a model trained here."""
    from suite.data.locate import resolve

    if not task.model.path:
        return None
    return resolve(task.model.path, "model.path", task, kind="any")


def bpe_settings(task: Any) -> dict[str, Any]:
    """``model.options.tokenizer`` of a model trained here: ``{vocab_size: N}`` (byte-level BPE)."""
    raw = task.model.options.get("tokenizer") or {}
    if not isinstance(raw, dict) or set(raw) - {"vocab_size"} or not isinstance(raw.get("vocab_size", 4096), int):
        raise BadInput(
            f"model.options.tokenizer: got {raw!r}, expected {{vocab_size: N}} (a byte-level BPE trained here)"
        )
    vocab = int(raw.get("vocab_size", 4096))
    if not 260 <= vocab <= 65536:
        raise BadInput(f"model.options.tokenizer.vocab_size: got {vocab}, expected 260..65536")
    return {"kind": "bpe-bytelevel", "vocab_size": vocab, "tokenizers": metadata.version("tokenizers")}


def tokenizer_identity(task: Any) -> dict[str, Any]:
    """What decides the tokenizer (for fingerprints), and a one-line BadInput if its files are missing."""
    from suite.data.hashing import file_sha256

    path = model_file(task)
    if path is None:
        return bpe_settings(task)
    if path.suffix == ".gguf":
        return {"kind": "gguf", "file_sha256": file_sha256(path)}
    return {"kind": "tokenizer.json", "file_sha256": file_sha256(folder_tokenizer(path))}


def folder_tokenizer(folder: Path) -> Path:
    """``folder/tokenizer.json``, or one line saying which file is missing where."""
    if not folder.is_dir():
        raise BadInput(
            f"model.path: {folder}: expected a folder of Hugging Face files (config.json, weights, tokenizer.json) or a .gguf file"
        )
    file = folder / TOKENIZER_FILE
    if not file.is_file():
        present = ", ".join(sorted(p.name for p in folder.iterdir())[:8]) or "nothing"
        raise BadInput(
            f"{folder}: no {TOKENIZER_FILE}: the model's tokenizer files must sit beside its weights "
            f"(expected {TOKENIZER_FILE}; found {present})"
        )
    return file


def gguf_tokenizer(path: Path) -> Path:
    """The tokenizer inside a GGUF file, converted once by transformers and cached as tokenizer.json."""
    from suite.data.hashing import file_sha256

    folder = cache_dir("tokenizers", f"gguf-{file_sha256(path)[:16]}")
    out = folder / TOKENIZER_FILE
    if not out.is_file():
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name, local_files_only=True)
        except Exception as exc:  # an unknown tokenizer model or a damaged file
            raise BadInput(
                f"{path}: transformers cannot read the tokenizer inside this GGUF ({' '.join(str(exc).split())[:200]})"
            ) from None
        tmp = folder / f".{TOKENIZER_FILE}.tmp"
        tmp.write_text(tok.backend_tokenizer.to_str(), encoding="utf-8")
        tmp.replace(out)
    return out


def train_bpe(texts: Sequence[str], settings: dict[str, Any]) -> Path:
    """A byte-level BPE tokenizer trained on ``texts`` (a model's training documents), cached by content."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for text in texts:
        h.update(hashlib.sha256(text.encode("utf-8")).digest())
    folder = cache_dir("tokenizers", f"bpe-{h.hexdigest()[:16]}")
    out = folder / TOKENIZER_FILE
    if not out.is_file():
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=settings["vocab_size"],
            min_frequency=2,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=["<|endoftext|>"],
            show_progress=False,
        )
        tok.train_from_iterator(list(texts), trainer=trainer)
        tmp = folder / f".{TOKENIZER_FILE}.tmp"
        tmp.write_text(tok.to_str(), encoding="utf-8")
        tmp.replace(out)
    return out


def tokenizer_path(task: Any, train_texts: Sequence[str] | None = None) -> Path:
    """The tokenizer.json file of the task's model (trained from ``train_texts`` for a model trained here)."""
    path = model_file(task)
    if path is None:
        if train_texts is None:
            raise BadInput(
                "model.path: missing; a model trained here gets its tokenizer from the dataset's training text"
            )
        return train_bpe(train_texts, bpe_settings(task))
    if path.suffix == ".gguf":
        return gguf_tokenizer(path)
    return folder_tokenizer(path)


def load_tokenizer(path: Path) -> Any:
    """A ``tokenizers.Tokenizer`` from a tokenizer.json (one line if the file is not one)."""
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:
        raise BadInput(f"{path}: not a readable tokenizer.json ({' '.join(str(exc).split())[:200]})") from None
