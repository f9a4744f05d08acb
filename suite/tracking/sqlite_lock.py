"""Let several sweeps share the embedded MLflow sqlite store without "database is locked" or races.

MLflow's SQLAlchemy store sets a busy timeout on its sessions, but two processes opening a *new*
``mlflow.db`` at once both run its schema migrations and one fails ("table ... already exists",
alembic "expected to match one row"; reproduced here with three processes on a fresh store), and two
sweeps creating the same experiment race on its unique name. So, for ``sqlite:`` URIs only:

- :func:`store_lock` serialises store creation and experiment creation across processes with an
  advisory ``flock`` on ``<db>.lock`` next to the database (the OS drops it if the holder dies);
- :func:`retry_locked` retries an MLflow call that still meets a locked database, with exponential
  backoff, and gives up with a hint to use ``mlflow server`` when it stays locked.

Servers (``http://``) serialise writes themselves; both helpers are no-ops for them. Hand-written
because neither MLflow nor SQLAlchemy offers a cross-process lock for sqlite's schema setup.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
LOCKED_MARKERS = ("database is locked", "database table is locked", "database schema is locked")


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :])


@contextlib.contextmanager
def store_lock(uri: str, timeout_s: float = 120.0) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``<db>.lock`` for a sqlite store (no-op otherwise)."""
    path = sqlite_path(uri)
    try:
        import fcntl
    except ImportError:  # Windows: fall back to retries alone
        fcntl = None  # type: ignore[assignment]
    if path is None or fcntl is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path}.lock is held by another sweep for over {timeout_s:.0f} s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def is_locked_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in LOCKED_MARKERS)


def retry_locked(fn: Callable[..., T], *args: Any, attempts: int = 12, first_delay_s: float = 0.05, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, retried with jittered exponential backoff while sqlite says it is locked
    (about 100 s in all before giving up)."""
    delay = first_delay_s
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if not is_locked_error(exc) or attempt == attempts - 1:
                if is_locked_error(exc):
                    raise RuntimeError(
                        "the MLflow sqlite store stayed locked by other sweeps; for many writers at once, "
                        "run `mlflow server` and point MLFLOW_TRACKING_URI at it"
                    ) from exc
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 20.0)
    raise AssertionError("unreachable")
