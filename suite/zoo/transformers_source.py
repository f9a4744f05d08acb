"""``transformers``: Hugging Face models from local files only (a folder or a GGUF), or trained here.

``model.name`` says what the model is for:

- ``encoder-classifier``: a BERT-class encoder (``model.path``: a folder with config.json,
  model.safetensors and tokenizer.json) with sentence-transformers' mean pooling and L2 normalisation,
  and a linear classification head trained here on the training split (the encoder stays frozen:
  ``model.train`` is the head's recipe). The ONNX graph takes ``input_ids`` and ``attention_mask``
  and returns ``logits`` and ``sentence_embedding``; the fp32 embeddings of the eval split (ONNX Runtime CPU)
  travel with the eval data, so every method's embeddings are compared with them.
- ``causal-lm``: a decoder LM, from a folder or a ``.gguf`` file (transformers dequantizes GGUF
  weights to float32: for a Q4_1 file the "fp32" reference holds Q4_1-rounded values, which the record
  says, and quantization deltas measured from it are lower bounds), or trained here from
  ``model.options.config`` (a Llama-architecture decoder) on the dataset's training documents (the
  first ``model.options.train_tokens`` of their token stream, when set) with a
  BPE tokenizer trained on the same documents; the trained model is saved as a Hugging Face folder
  (``<cache>/models/<name>-<key>/``: config.json, model.safetensors, tokenizer.json), which a task can
  name as ``model.path`` to evaluate the same weights on another text. Exported with its KV cache
  (suite/zoo/hf_export.py), the export checked against transformers on the task's first eval tokens
  (:func:`checked_export`) and the check recorded in every ONNX artifact of the task.

Nothing is ever downloaded: every load passes ``local_files_only=True`` with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from suite.data.base import Splits, with_identity
from suite.errors import BadInput
from suite.paths import cache_dir
from suite.zoo.base import ReferenceModel

KINDS = ("encoder-classifier", "causal-lm")
TRAINING_VERSION = 1


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def check(task: Any) -> None:
    """File-free checks for ``edgeq validate``: the kind fits the task's metric and inputs."""
    kind = task.model.name
    if kind not in KINDS:
        raise BadInput(f"model.name: got {kind!r}, expected one of {', '.join(KINDS)} for model.source transformers")
    if kind == "causal-lm":
        if task.metric != "perplexity":
            raise BadInput(f"metric: got {task.metric!r}, expected perplexity for a causal-lm model")
        if not task.model.path and task.model.train is None:
            raise BadInput(
                "model.path: missing; give a model folder or .gguf file, or model.train to train the causal LM here"
            )
        gen, window = task.generation, int(task.input.shape[0])
        eval_tokens = int(task.dataset.options.get("eval_tokens", window))
        if gen is not None and gen.prompt_tokens > min(window, eval_tokens):
            raise BadInput(
                f"generation.prompt_tokens: got {gen.prompt_tokens}, expected at most the window input.shape[0] = {window} "
                f"and dataset.options.eval_tokens = {eval_tokens} (the prompt is the start of the first held-out window)"
            )
    else:
        if task.metric != "top1":
            raise BadInput(f"metric: got {task.metric!r}, expected top1 for an encoder-classifier model")
        if not task.model.path:
            raise BadInput(
                "model.path: missing; encoder-classifier needs a Hugging Face encoder folder (config.json, model.safetensors, tokenizer.json)"
            )
        if list(task.input.names or []) != ["input_ids", "attention_mask"]:
            raise BadInput(
                f"input.names: got {task.input.names}, expected [input_ids, attention_mask] for an encoder-classifier model"
            )


def _needed_positions(task: Any) -> dict[str, int]:
    if task.model.name == "encoder-classifier":
        return {"input.shape[1] (sequence length)": int(task.input.shape[-1])}
    needed = {"input.shape[0] (window)": int(task.input.shape[0])}
    if task.generation is not None:
        needed["generation.prompt_tokens + new_tokens"] = task.generation.prompt_tokens + task.generation.new_tokens
    return needed


def _file_facts(task: Any) -> tuple[Path, dict[str, Any]]:
    from suite.data.tokenizer import model_file
    from suite.zoo.hf_facts import check_positions, folder_facts, gguf_facts

    path = model_file(task)
    assert path is not None
    facts = gguf_facts(path) if path.suffix == ".gguf" else folder_facts(path)
    check_positions(facts, _needed_positions(task), path)
    return path, facts


def identity(task: Any) -> dict[str, Any]:
    """Weights, config and tokenizer hashes and the library versions that decide the export; checks
    (before any job) that the files exist, the GGUF architecture is known and the sequences fit."""
    from suite.data.tokenizer import tokenizer_identity
    from suite.zoo.hf_export import EXPORT_VERSION

    check(task)
    ident: dict[str, Any] = {
        "transformers": metadata.version("transformers"),
        "export_version": EXPORT_VERSION,
        "tokenizer": tokenizer_identity(task),
    }
    if task.model.path:
        _path, facts = _file_facts(task)
        ident.update(
            {k: facts[k] for k in ("file_sha256", "weights_sha256", "config_sha256", "architecture") if k in facts}
        )
    else:
        ident["training_version"] = TRAINING_VERSION
        limit = (task.model.options.get("config") or {}).get("max_position_embeddings", 2048)
        from suite.zoo.hf_facts import check_positions

        check_positions(
            {"context_length": limit}, _needed_positions(task), Path("model.options.config.max_position_embeddings")
        )
    return ident


def _key(task: Any, splits: Splits, extra: dict[str, Any]) -> str:
    payload = {
        "identity": identity(task),
        "model": task.model.model_dump(),
        "data": splits.identity.get("file_sha256"),
        "torch": metadata.version("torch"),
        **extra,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _lm_export_path(weights_sha256: str) -> Path:
    """The fp32 ONNX export of a causal LM, keyed by its weights and the exporter: shared by every task
    that evaluates the same weights (another text, another window), so they export once."""
    from suite.zoo.hf_export import EXPORT_VERSION

    versions = {
        "weights": weights_sha256,
        "export": EXPORT_VERSION,
        "torch": metadata.version("torch"),
        "transformers": metadata.version("transformers"),
    }
    key = hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir("onnx", "causal-lm") / f"fp32-{key}.onnx"


def _weights_sha(folder: Path) -> str:
    from suite.data.hashing import file_sha256
    from suite.zoo.hf_facts import WEIGHT_FILES

    return next(file_sha256(folder / n) for n in WEIGHT_FILES if (folder / n).is_file())


def _load_causal(path: Path) -> Any:
    _offline()
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"local_files_only": True, "dtype": "float32"}
    try:
        if path.suffix == ".gguf":
            return AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, **kwargs).eval()
        return AutoModelForCausalLM.from_pretrained(str(path), **kwargs).eval()
    except (OSError, ValueError, KeyError) as exc:
        raise BadInput(
            f"{path}: transformers cannot load it as a causal LM ({' '.join(str(exc).split())[:240]})"
        ) from None


def checked_export(onnx: Path, ids: np.ndarray, load: Any) -> dict[str, Any]:
    """The causal LM's ONNX export at ``onnx`` (exported now from ``load()`` when not cached) and its check
    against transformers on the task's tokens ``ids``, enforced (one line when beyond the tolerance).

    The export is shared by every task of the same weights, the check is not (it reads the task's own text):
    it is kept beside the export as ``<export>.check-<tokens digest>.json``, so a cached export still carries
    the check its artifacts record, and a task whose check is not there yet runs it once."""
    from suite.zoo.conversion_check import enforce
    from suite.zoo.hf_export import check_causal_lm, export_causal_lm

    digest = hashlib.sha256(np.ascontiguousarray(ids, dtype=np.int64).tobytes()).hexdigest()[:16]
    check_file = onnx.with_name(f"{onnx.stem}.check-{digest}.json")
    if onnx.is_file() and check_file.is_file():
        return enforce(json.loads(check_file.read_text()))
    model = load()
    if not onnx.is_file():
        export_causal_lm(model, onnx)
    check = check_causal_lm(model, onnx, ids)
    private = check_file.with_name(f".{check_file.name}.{os.getpid()}")
    private.write_text(json.dumps(check, indent=1))
    os.replace(private, check_file)  # a failed check is kept too: the export stays refused without a rerun
    return enforce(check)


def _causal_lm(task: Any, splits: Splits) -> ReferenceModel:
    from suite.data.hashing import file_sha256
    from suite.zoo.conversion_check import lm_check_tokens

    ids = lm_check_tokens(splits.x_eval)

    origin: dict[str, Any] = {"source": "transformers", "name": task.model.name}
    if task.model.path:
        path, facts = _file_facts(task)
        onnx = _lm_export_path(facts.get("file_sha256") or facts["weights_sha256"])
        origin.update(
            path=str(path), architecture=facts.get("architecture"), context_length=facts.get("context_length")
        )
        if path.suffix == ".gguf":
            origin.update(
                gguf_tensor_types=facts.get("tensor_types"),
                note=(
                    "weights dequantized from a GGUF file by transformers: the fp32 reference holds the file's "
                    f"{'/'.join(t for t in facts.get('tensor_types', []) if t.startswith('Q'))}-rounded values, so deltas from it are lower bounds"
                ),
            )
        weights = facts.get("file_sha256") or facts["weights_sha256"]

        def load_counted() -> Any:
            model = _load_causal(path)
            origin["parameters"] = int(sum(p.numel() for p in model.parameters()))
            return model

        check = checked_export(onnx, ids, load_counted)
        return ReferenceModel(
            module=None, weights_sha256=weights, origin=origin, onnx_path=onnx, conversion_check=check
        )
    # trained here: the weights are keyed by what decides them, the export by those and the exporter
    recipe = task.model.train
    ident = {k: v for k, v in identity(task).items() if k != "export_version"}
    key = _key(task, splits, {"recipe": recipe.model_dump(), "training_version": TRAINING_VERSION, "identity": ident})
    folder = cache_dir("models") / f"{task.name}-{key}"
    info_file = folder / "edgeq-training.json"
    if not info_file.is_file():
        from suite.zoo.hf_train import lm_config, train_lm

        tok_file = Path(splits.identity["tokenizer_file"])
        config = lm_config(task.model.options, int(splits.identity["vocab_size"]))
        budget = task.model.options.get("train_tokens")  # the first N tokens of the training stream
        chunks = splits.x_train if budget is None else splits.x_train[: max(1, int(budget) // splits.x_train.shape[1])]
        model, info = train_lm(config, chunks, recipe)
        model.save_pretrained(str(folder), safe_serialization=True)
        (folder / "tokenizer.json").write_bytes(tok_file.read_bytes())
        info["parameters"] = int(sum(p.numel() for p in model.parameters()))
        info_file.write_text(json.dumps(info, indent=1))
    weights = _weights_sha(folder)
    onnx = _lm_export_path(weights)
    check = checked_export(onnx, ids, lambda: _load_causal(folder))
    info = json.loads(info_file.read_text())
    origin.update(path=str(folder), trained_here=info, tokenizer_sha256=file_sha256(folder / "tokenizer.json"))
    return ReferenceModel(module=None, weights_sha256=weights, origin=origin, onnx_path=onnx, conversion_check=check)


def _encoder_classifier(task: Any, splits: Splits) -> ReferenceModel:
    from suite.config.schemas import TrainRecipe

    path, facts = _file_facts(task)
    recipe = task.model.train or TrainRecipe(epochs=300, lr=0.05)
    normalize = bool(task.model.options.get("normalize", True))
    key = _key(
        task,
        splits,
        {
            "recipe": recipe.model_dump(),
            "training_version": TRAINING_VERSION,
            "n_train": len(splits.x_train),
            "input": list(task.input.shape),
        },
    )
    folder = cache_dir("onnx", task.name)
    onnx, info_file = folder / f"fp32-{key}.onnx", folder / f"fp32-{key}.json"
    if not (onnx.is_file() and info_file.is_file()):
        _offline()
        from transformers import AutoModel

        from suite.zoo.hf_export import export_encoder
        from suite.zoo.hf_train import classifier, embed, train_head

        if len(splits.x_train) == 0:
            raise BadInput(f"dataset {task.dataset.name!r}: no training rows for the classification head")
        try:
            encoder = AutoModel.from_pretrained(str(path), local_files_only=True, dtype="float32").eval()
        except (OSError, ValueError) as exc:
            raise BadInput(
                f"{path}: transformers cannot load it as an encoder ({' '.join(str(exc).split())[:240]})"
            ) from None
        features = embed(encoder, splits.x_train, normalize=normalize)
        head, info = train_head(features, splits.y_train, task.num_classes, recipe)
        export_encoder(classifier(encoder, head, normalize), int(task.input.shape[-1]), onnx)
        info_file.write_text(json.dumps(info))
    digest = hashlib.sha256(np.ascontiguousarray(splits.x_eval).tobytes()).hexdigest()[:16]
    ref_file = folder / f"fp32-{key}-reference-{digest}.npy"
    if not ref_file.is_file():
        np.save(ref_file.with_suffix(".tmp.npy"), _ort_outputs(onnx, splits.x_eval))
        ref_file.with_suffix(".tmp.npy").replace(ref_file)
    reference = np.load(ref_file, allow_pickle=False)
    return ReferenceModel(
        module=None,
        weights_sha256=facts["weights_sha256"],
        origin={
            "source": "transformers",
            "name": task.model.name,
            "path": str(path),
            "architecture": facts.get("architecture"),
            "pooling": "mean",
            "normalize": normalize,
            "head": json.loads(info_file.read_text()),
            "encoder": "frozen",
        },
        onnx_path=onnx,
        eval_extras={"reference_embedding": reference},
    )


def _ort_outputs(onnx: Path, x: np.ndarray, batch: int = 64) -> np.ndarray:
    """fp32 embeddings of the eval samples through ONNX Runtime CPU (what each method is compared with)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
    out = [
        session.run(["sentence_embedding"], {"input_ids": x[i : i + batch, 0], "attention_mask": x[i : i + batch, 1]})[
            0
        ]
        for i in range(0, len(x), batch)
    ]
    return np.concatenate(out).astype(np.float32)


@with_identity(identity, check=check)
def load(task: Any, splits: Splits) -> ReferenceModel:
    return _causal_lm(task, splits) if task.model.name == "causal-lm" else _encoder_classifier(task, splits)
