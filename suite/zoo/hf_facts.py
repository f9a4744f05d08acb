"""Cheap facts about a Hugging Face model on disk (a folder of files, or a GGUF file), read before any job.

Planning needs to know, without loading weights, what a ``transformers`` task's model is: its
architecture, how many positions it takes, its vocabulary, and the hashes that decide its weights. A
folder gives them in ``config.json``; a GGUF file in its header, read with the ``gguf`` package's
reader (memory-mapped; the facts are memoised under ``<cache>/gguf-facts.json`` by the file's sha256).
An architecture transformers' GGUF loader does not know, a sequence longer than the model's maximum,
or a missing file is one line naming the file and what was expected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from suite.errors import BadInput
from suite.paths import cache_dir

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def gguf_architectures() -> set[str]:
    """The GGUF architectures transformers' loader converts (``GGUF_CONFIG_MAPPING``)."""
    from transformers.integrations.ggml import GGUF_CONFIG_MAPPING

    return set(GGUF_CONFIG_MAPPING)


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None or not field.data:
        return None
    value = field.parts[field.data[0]]
    if field.types and field.types[0].name == "STRING":
        return bytes(value).decode("utf-8", errors="replace")
    return value.tolist()[0] if hasattr(value, "tolist") and len(value) == 1 else value.tolist()


def gguf_facts(path: Path) -> dict[str, Any]:
    """``{architecture, context_length, block_count, vocab_size, file_type, ...}`` from a GGUF header."""
    from suite.data.hashing import file_sha256

    sha = file_sha256(path)
    memo_path = cache_dir() / "gguf-facts.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if sha not in memo:
        try:
            from gguf import GGUFReader

            reader = GGUFReader(str(path))
        except ImportError:
            raise BadInput(
                f"{path}: reading a GGUF needs the gguf package (pip install gguf; the lm extra has it)"
            ) from None
        except Exception as exc:
            raise BadInput(f"{path}: not a readable GGUF file ({' '.join(str(exc).split())[:160]})") from None
        arch = _field(reader, "general.architecture")
        tokens = reader.fields.get("tokenizer.ggml.tokens")
        types = sorted({t.tensor_type.name for t in reader.tensors})
        memo[sha] = {
            "architecture": arch,
            "name": _field(reader, "general.name"),
            "context_length": _field(reader, f"{arch}.context_length"),
            "block_count": _field(reader, f"{arch}.block_count"),
            "embedding_length": _field(reader, f"{arch}.embedding_length"),
            "tokenizer_model": _field(reader, "tokenizer.ggml.model"),
            "vocab_size": len(tokens.data) if tokens is not None else None,
            "tensor_types": types,
            "file_sha256": sha,
        }
        tmp = memo_path.with_name(".gguf-facts.json.tmp")
        tmp.write_text(json.dumps(memo, sort_keys=True))
        tmp.replace(memo_path)
    facts = dict(memo[sha])
    known = gguf_architectures()
    if facts["architecture"] not in known:
        raise BadInput(
            f"{path}: GGUF architecture {facts['architecture']!r} is not one transformers' GGUF loader knows "
            f"(expected one of {', '.join(sorted(known))})"
        )
    return facts


def folder_facts(folder: Path) -> dict[str, Any]:
    """``config.json`` facts and the hashes of a Hugging Face model folder (config, weights)."""
    from suite.data.hashing import file_sha256

    config = folder / "config.json"
    if not config.is_file():
        raise BadInput(
            f"{folder}: no config.json (expected a Hugging Face model folder: config.json, model.safetensors, tokenizer.json)"
        )
    try:
        cfg = json.loads(config.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BadInput(f"{config}: not valid JSON ({exc})") from None
    weights = next((folder / name for name in WEIGHT_FILES if (folder / name).is_file()), None)
    if weights is None:
        raise BadInput(f"{folder}: no weights file (expected {' or '.join(WEIGHT_FILES)} beside config.json)")
    return {
        "architecture": cfg.get("model_type"),
        "architectures": cfg.get("architectures"),
        "context_length": cfg.get("max_position_embeddings"),
        "vocab_size": cfg.get("vocab_size"),
        "hidden_size": cfg.get("hidden_size"),
        "block_count": cfg.get("num_hidden_layers"),
        "config_sha256": file_sha256(config),
        "weights_file": weights.name,
        "weights_sha256": file_sha256(weights),
    }


def check_positions(facts: dict[str, Any], needed: dict[str, int], where: Path) -> None:
    """Every sequence the task asks for fits the model's maximum number of positions."""
    limit = facts.get("context_length")
    if not isinstance(limit, int):
        return
    for key, length in needed.items():
        if length > limit:
            raise BadInput(f"{key}: {length} tokens is longer than the model's maximum of {limit} positions ({where})")
