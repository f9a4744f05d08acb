"""Result records (schema ``edgeq.record/1``): the source of truth, one JSON file per job.

Run side: stdlib only. Files are written atomically (temp file in the same folder, fsync, rename), so
an interrupted sweep never leaves a half record, and a full disk leaves the old file (or none) in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from suite.errors import BadInput
from suite.paths import results_root

SCHEMA = "edgeq.record/1"
TEMP_SUFFIX = ".tmp"
RECORD_KEYS = (
    "schema", "job_id", "status", "error", "error_tail", "created_at", "task", "method", "target",
    "runtime", "artifact", "accuracy", "latency", "throughput", "power", "environment", "timings_s",
)  # fmt: skip


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def fingerprint(inputs: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a job's inputs (never the git commit, never the artifact hash)."""
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def job_id_of(fp: str) -> str:
    return fp[:16]


def empty_record(job_id: str, fp: str) -> dict[str, Any]:
    record: dict[str, Any] = {key: None for key in RECORD_KEYS}
    record.update(schema=SCHEMA, job_id=job_id, fingerprint=fp, status="failed", created_at=utc_now())
    return record


def atomic_write_json(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(data, indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    # The writer's pid is in the temp name: a later sweep removes the temp files of dead writers only.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600; a record is as readable as any file written here
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


_UMASK: list[int] = []


def _umask() -> int:
    """The process umask, read once (reading it means setting it, so not on every write)."""
    if not _UMASK:
        mask = os.umask(0o022)
        os.umask(mask)
        _UMASK.append(mask)
    return _UMASK[0]


def clean_stale_temps(folder: Path) -> list[Path]:
    """Remove the temp files that killed writers left under ``folder`` (``.<name>.<pid>.<random>.tmp``).

    A temp file is stale when its writer's process is gone; one whose writer still runs (a concurrent
    sweep) is left alone, unless it is over a day old (a recycled pid). Records themselves never start
    with a dot, so a temp file is never read as a record either way.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for tmp in folder.rglob(f".*{TEMP_SUFFIX}"):
        parts = tmp.name.rsplit(".", 3)  # ['.<name>', '<pid>', '<random>', 'tmp']
        try:
            pid = int(parts[1])
        except (IndexError, ValueError):
            pid = 0
        try:
            old = time.time() - tmp.stat().st_mtime > 86400
        except OSError:
            continue
        if pid <= 0 or old or not _alive(pid):
            try:
                tmp.unlink()
                removed.append(tmp)
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def clean_nans(value: Any) -> Any:
    """Replace NaN/inf by None so records stay strict JSON."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: clean_nans(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_nans(v) for v in value]
    return value


class RecordStore:
    """``<results>/records/<target>/<task>/<job_id>.json``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or results_root()) / "records"

    def path_for(self, target: str, task: str, job_id: str) -> Path:
        return self.root / target / task / f"{job_id}.json"

    def write(self, record: dict[str, Any]) -> Path:
        path = self.path_for(record["target"]["name"], record["task"]["name"], record["job_id"])
        atomic_write_json(path, clean_nans(record))
        return path

    def clean_stale_temps(self) -> list[Path]:
        """Temp files of writers that were killed (see :func:`clean_stale_temps`)."""
        return clean_stale_temps(self.root)

    def read(self, target: str, task: str, job_id: str) -> dict[str, Any] | None:
        path = self.path_for(target, task, job_id)
        return load_record(path) if path.is_file() else None

    def iter_records(self, target: str | None = None, task: str | None = None) -> Iterator[dict[str, Any]]:
        """Every record (of ``target``, and of its ``task`` when given), in path order."""
        base = self.root / target if target else self.root
        if target and task:
            base = base / task
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*.json")):
            if not path.name.startswith("."):
                yield load_record(path)


def load_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: not a readable EdgeQ record ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BadInput(f"{path}: schema: got {data.get('schema') if isinstance(data, dict) else type(data).__name__!r}, expected {SCHEMA!r}")
    return data
