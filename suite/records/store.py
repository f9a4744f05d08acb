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
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from suite.errors import BadInput
from suite.paths import results_root
from suite.records.schema import SCHEMA, problem

MAX_RECORD_BYTES = 16 << 20  # a record is 5-50 KB (its sources embed two small YAML files)
TEMP_SUFFIX = ".tmp"
RECORD_KEYS = (
    "schema",
    "job_id",
    "status",
    "error",
    "error_tail",
    "created_at",
    "task",
    "method",
    "target",
    "runtime",
    "artifact",
    "accuracy",
    "latency",
    "throughput",
    "power",
    "environment",
    "timings_s",
)


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
        """Write a record that passes the schema (NaN and infinity become null first); BadInput if not."""
        record = clean_nans(record)
        wrong = problem(record)
        if wrong:
            raise BadInput(
                f"record {record.get('job_id') if isinstance(record, dict) else '?'}: not written, it does not fit {SCHEMA}: {wrong}"
            )
        path = self.path_for(record["target"]["name"], record["task"]["name"], record["job_id"])
        atomic_write_json(path, record)
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
        paths = (path for path in sorted(base.rglob("*.json")) if not path.name.startswith("."))
        for record, _ in good_records(paths):
            yield record


def read_json(path: Path, limit: int = MAX_RECORD_BYTES, what: str = "JSON file") -> Any:
    """A JSON file's data, or ``BadInput`` naming it: not a file, larger than ``limit`` bytes (checked
    before reading), unreadable, not UTF-8, not JSON, nested too deeply. NaN and infinity are refused
    (records are strict JSON)."""
    path = Path(path)
    try:
        if not path.is_file():
            raise BadInput(f"{path}: not a readable {what} (not a regular file)")
        size = path.stat().st_size
        if size > limit:
            raise BadInput(f"{path}: not a readable {what} ({size} bytes; the limit is {limit >> 20} MiB)")
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
        if len(raw) > limit:
            raise BadInput(f"{path}: not a readable {what} (larger than the {limit >> 20} MiB limit)")
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except OSError as exc:
        raise BadInput(f"{path}: not a readable {what} ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        line = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise BadInput(f"{path}: not a readable {what} ({line})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not strict JSON")


def load_record(path: Path) -> dict[str, Any]:
    """One record file, read and checked against the schema (``suite.records.schema``); BadInput if not."""
    data = read_json(path, what="EdgeQ record")
    wrong = problem(data)
    if wrong:
        raise BadInput(f"{path}: {wrong}")
    record: dict[str, Any] = data
    return record


_WARNED: set[str] = set()


def warn_skipped(path: Path, why: str) -> None:
    """One line on stderr for a record that cannot be used, once per file per process: it is skipped,
    left in place (never overwritten unless its job is run again), and the rest of the work goes on."""
    key = os.path.abspath(path)
    if key in _WARNED:
        return
    _WARNED.add(key)
    import sys

    why = why.removeprefix(f"{path}: ")
    print(f"edgeq: warning: {path}: {why}; skipped (the file is left as it is)", file=sys.stderr, flush=True)


def good_records(paths: Iterable[Path]) -> Iterator[tuple[dict[str, Any], Path]]:
    """(record, path) for each path that holds a valid record; the others are skipped with one warning."""
    for path in paths:
        try:
            yield load_record(path), path
        except BadInput as exc:
            warn_skipped(path, str(exc))
