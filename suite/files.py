"""The sha256 of a file, streamed: what records, caches, bundles and fingerprints identify files by.

Run side: stdlib only. ``suite.data.hashing`` keeps a stat-keyed cache in front of it for the large
file sets of datasets; everything else hashes the file it is about to trust.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """sha256 hex digest of the file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
