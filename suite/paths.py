"""Where EdgeQ keeps things: the results root and the repository's own folders."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TASKS_DIR = REPO_ROOT / "tasks"
HARDWARE_DIR = REPO_ROOT / "hardware"


def results_root() -> Path:
    """``EDGEQ_RESULTS_DIR`` if set, else ``results/`` in the current directory."""
    return Path(os.environ.get("EDGEQ_RESULTS_DIR") or "results").resolve()


def cache_dir(*parts: str) -> Path:
    """Trained checkpoints, exports and artifacts: ``EDGEQ_CACHE_DIR`` if set, else ``<results>/cache``."""
    base = (
        Path(os.environ["EDGEQ_CACHE_DIR"]).resolve() if os.environ.get("EDGEQ_CACHE_DIR") else results_root() / "cache"
    )
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sysroot() -> Path:
    """Root for every read of /sys, /proc, /etc and the device tree (``EDGEQ_SYSROOT``, default ``/``).

    Tests point it at a fixture tree that reproduces a board's files (docs/formats.md).
    """
    return Path(os.environ.get("EDGEQ_SYSROOT") or "/")


def system_path(absolute: str) -> Path:
    """``/sys/class/powercap`` under the configured sysroot."""
    return sysroot() / absolute.lstrip("/")
