"""Run llama.cpp's ``convert_hf_to_gguf.py`` with one documented override: a BPE pre-tokenizer it does not know.

Usage (a subprocess, with the environment's python): ``python gguf_converter_main.py CONVERTER PRE ARGS...``.

The converter names a BPE tokenizer's pre-tokenizer by hashing the ids of a fixed test string and looking the
hash up in a table of published models; a tokenizer trained here (gpt-tiny-wiki's byte-level BPE) is in no
such table, and the converter stops. ``PRE`` is the llama.cpp pre-tokenizer written instead for an unknown
hash only (``gpt-2``: the GPT-2 split regex that ``tokenizers``' ByteLevel pre-tokenizer applies); a known
hash keeps the converter's own answer. EdgeQ feeds token ids to the model, never text, so the override
matters only where llama.cpp tokenizes text itself (llama-imatrix's calibration file): the GGUF methods
check that llama.cpp's ids equal the task tokenizer's on the calibration text and record the result. The
override is printed as ``edgeq-pre-tokenizer-override: <name>`` so the caller can record it.

Standalone on purpose: it runs inside the converter's own import path (its ``conversion`` package and
gguf-py), not EdgeQ's.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path


def main() -> None:
    converter, pre, *args = sys.argv[1:]
    folder = str(Path(converter).parent)
    sys.path[:0] = [folder, str(Path(folder) / "gguf-py")]
    from conversion import base  # the converter's own package, beside it

    known = base.TextModel.get_vocab_base_pre

    def pre_tokenizer(self: object, tokenizer: object) -> str:
        try:
            return str(known(self, tokenizer))
        except NotImplementedError:
            print(f"edgeq-pre-tokenizer-override: {pre}", flush=True)
            return pre

    base.TextModel.get_vocab_base_pre = pre_tokenizer  # type: ignore[method-assign]
    sys.argv = [converter, *args]
    runpy.run_path(converter, run_name="__main__")


if __name__ == "__main__":
    main()
