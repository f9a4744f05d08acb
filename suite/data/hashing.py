"""Content hashes of the files a task reads (model weights, dataset images), for job fingerprints.

A job's fingerprint must change when its weights or its images change, and must be known before any
training or quantization runs. Hashing ImageNet's 6.4 GB on every ``edgeq bench`` would cost a minute,
so each file's sha256 is cached under ``<cache>/hashes.json`` keyed by its absolute path, size and
modification time (DVC and git use the same stat-based shortcut): a file is read again only when one
of those changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from suite.files import file_sha256 as read_sha256
from suite.paths import cache_dir

_LOCK = threading.Lock()
_MEMO: dict[str, dict[str, str]] = {}


def _store_path() -> Path:
    return cache_dir() / "hashes.json"


def _load(store: Path) -> dict[str, str]:
    key = str(store)
    if key not in _MEMO:
        try:
            _MEMO[key] = json.loads(store.read_text())
        except (OSError, ValueError):
            _MEMO[key] = {}
    return _MEMO[key]


def _save(store: Path, table: dict[str, str]) -> None:
    tmp = store.with_name(f".{store.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(table, sort_keys=True))
    tmp.replace(store)


def file_sha256(path: Path) -> str:
    """sha256 of one file, from the stat-keyed cache when the file has not changed."""
    return files_sha256([path])[0]


def files_sha256(paths: Iterable[Path]) -> list[str]:
    """sha256 of each file, in order; new hashes are written back to the cache once."""
    store = _store_path()
    with _LOCK:
        table = _load(store)
        out: list[str] = []
        dirty = False
        for path in paths:
            st = path.stat()
            key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
            digest = table.get(key)
            if digest is None:
                digest = table[key] = read_sha256(path)
                dirty = True
            out.append(digest)
        if dirty:
            _save(store, table)
    return out


def listing_sha256(root: Path, files: list[Path], labels: list[int] | None = None) -> str:
    """One sha256 over (relative path, content hash[, label]) of every file: the identity of a folder."""
    digests = files_sha256(files)
    h = hashlib.sha256()
    for i, (path, digest) in enumerate(zip(files, digests)):
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
        label = "" if labels is None else str(labels[i])
        h.update(f"{rel}\0{digest}\0{label}\n".encode())
    return h.hexdigest()
