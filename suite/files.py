"""The sha256 of a file, streamed: what records, caches, bundles and fingerprints identify files by;
and whole-file replacement (temp file + rename) for the files readers may open while they are rewritten.

Run side: stdlib only. ``suite.data.hashing`` keeps a stat-keyed cache in front of it for the large
file sets of datasets; everything else hashes the file it is about to trust.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def file_sha256(path: Path) -> str:
    """sha256 hex digest of the file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temp path beside ``path`` to write, renamed onto ``path`` when the block ends without error.

    Readers (a browser on the leaderboard page, another publisher) see the old file or the whole new
    one, never a part; a failed write leaves the old file and no temp file. The temp name starts with a
    dot and keeps the suffix, so writers that pick a format by suffix (matplotlib) still do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`replacing`."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
