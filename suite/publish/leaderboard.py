"""Leaderboards from records: the entry points that ``edgeq bench`` and ``edgeq publish`` call.

The work is done in ``suite.publish`` (rows, Markdown, HTML, Pareto plots, one module each); this module
decides *what* is published *where*: the working leaderboard under ``<results>/leaderboard/``, a
self-contained snapshot under ``results/published/NAME/`` (tables, plots, page and the very records
they were built from), and a rebuild from any folder of records (``edgeq publish --from``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from suite.errors import BadInput
from suite.publish.rows import COLUMN_DOCS, COLUMNS, flatten  # noqa: F401  (re-exported: the column contract)
from suite.records.store import SCHEMA, RecordStore, atomic_write_json, good_records, load_record, read_json

SNAPSHOT_MARKER = "snapshot.json"
SNAPSHOT_SCHEMA = "edgeq.snapshot/1"


def frame(records: Iterable[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """One pandas row per record (newest per configuration), with speed-up and Pareto marks."""
    from suite.publish.rows import frame as _frame

    return _frame(records)


def write_leaderboard(records: list[dict[str, Any]], target: str, out_dir: Path) -> list[Path]:
    """README.md, leaderboard.csv, leaderboard.json and Pareto plots of one target into ``out_dir``."""
    from suite.publish.build import write_target
    from suite.publish.rows import frame as _frame

    df = _frame(records)
    if df.empty or target not in set(df["target"]):
        return []
    return write_target(df, records, target, out_dir)


def publish(store: RecordStore, targets: list[str] | None, out_root: Path) -> list[Path]:
    """The working leaderboard: per-target files for ``targets`` (default all), pages over all targets.

    Publishers sharing ``out_root`` (sweeps ending at once) take turns through a lease beside it, and
    each reads the records once it has its turn: the pages are never a mix of two publications, and
    the last one covers every record written before it."""
    from suite.publish.build import build
    from suite.records.lease import holding

    with holding(out_root.with_name(out_root.name + ".publish.lease")):
        return build(list(store.iter_records()), out_root, targets)


def _display(path: Path) -> str:
    """``path`` relative to the repository where it is inside it (what a reader of a checkout types),
    else absolute: never relative to the current folder, so a rebuild from elsewhere writes the same."""
    from suite.paths import REPO_ROOT

    try:
        return str(path.resolve().relative_to(REPO_ROOT.resolve()))
    except ValueError:
        return str(path.resolve())


def write_snapshot(
    records: list[dict[str, Any]], dest: Path, name: str | None = None, in_place: bool = False
) -> list[Path]:
    """A self-contained snapshot at ``dest``: the records, then everything built from them.

    An existing ``dest`` is replaced only if it is an EdgeQ snapshot (or empty): a mistyped path never
    deletes someone's folder. ``in_place`` (a snapshot rebuilt from its own records) keeps its
    ``records/`` folder as it is, so a record file that could not be read is left there, not deleted.
    """
    from suite.records.lease import holding

    name = name or dest.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    with holding(dest.with_name(dest.name + ".publish.lease")):  # one writer of a snapshot at a time
        if dest.exists() and any(dest.iterdir()) and not (dest / SNAPSHOT_MARKER).is_file():
            raise BadInput(f"{dest} exists and is not an EdgeQ snapshot (no {SNAPSHOT_MARKER}); choose another name")
        if in_place:
            for child in [c for c in dest.iterdir() if c.name != "records"]:
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
            return _fill_snapshot(records, dest, dest, name, write_records=False)
        # A new snapshot is built in a folder of its own and renamed into place: a reader never sees half.
        building = dest.with_name(f".{dest.name}.building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        try:
            written = _fill_snapshot(records, building, dest, name, write_records=True)
            aside = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            if dest.exists():
                os.rename(dest, aside)
            os.rename(building, dest)
            shutil.rmtree(aside, ignore_errors=True)
        finally:
            shutil.rmtree(building, ignore_errors=True)
        return [dest / p.relative_to(building) for p in written]


def _fill_snapshot(
    records: list[dict[str, Any]], folder: Path, dest: Path, name: str, write_records: bool
) -> list[Path]:
    """The records (unless already there), the marker and everything built from them, into ``folder``
    (which becomes ``dest``)."""
    for record in records if write_records else []:  # in place, the records are already there, as they were
        atomic_write_json(
            folder / "records" / record["target"]["name"] / record["task"]["name"] / f"{record['job_id']}.json", record
        )
    targets = sorted({r["target"]["name"] for r in records})
    atomic_write_json(
        folder / SNAPSHOT_MARKER, {"schema": SNAPSHOT_SCHEMA, "name": name, "targets": targets, "records": len(records)}
    )
    from suite.publish.build import build

    written = build(records, folder, title=f"EdgeQ published snapshot: {name}", rebuild_from=_display(dest))
    return written + [folder / SNAPSHOT_MARKER]


def snapshot(store: RecordStore, targets: list[str] | None, dest: Path) -> list[Path]:
    """A published snapshot of the store's records (of ``targets``, default all) at ``dest``."""
    records = [r for r in store.iter_records() if not targets or r["target"]["name"] in targets]
    if not records:
        return []
    return write_snapshot(records, dest)


def is_snapshot(folder: Path) -> bool:
    return (folder / SNAPSHOT_MARKER).is_file()


def records_from(folder: Path) -> list[dict[str, Any]]:
    """Records under any folder: a results root or a snapshot (its ``records/``), or a folder of records.

    Under a ``records/`` folder every JSON file should be a record: one that is not (truncated,
    ill-typed, a folder named ``x.json``) is skipped with one warning naming it, and the rest are used.
    Elsewhere, JSON files that are not records (leaderboard.json, MLflow copies) are passed over
    silently, and only files that say they are records but do not fit the schema are warned about.
    """
    return [record for record, _ in record_files(folder)]


def record_files(folder: Path) -> list[tuple[dict[str, Any], Path]]:
    """(record, its file) for every usable record under ``folder`` (see ``records_from``)."""
    if not folder.exists():
        raise BadInput(f"{folder}: no such folder or file")
    if folder.is_file():
        return [(load_record(folder), folder)]
    base = folder / "records" if (folder / "records").is_dir() else folder
    strict = base.name == "records"
    paths = [p for p in sorted(base.rglob("*.json")) if not p.name.startswith(".") and "mlartifacts" not in p.parts]
    if not strict:
        paths = [p for p in paths if _says_record(p)]
    found: dict[tuple[str, str, str], tuple[dict[str, Any], Path]] = {}
    for record, path in good_records(paths):
        found[(record["target"]["name"], record["task"]["name"], record["job_id"])] = (record, path)
    return list(found.values())


def _says_record(path: Path) -> bool:
    """Whether a JSON file outside a ``records/`` folder claims to be a record (its ``schema``)."""
    try:
        data = read_json(path)
    except BadInput:
        return False
    return isinstance(data, dict) and data.get("schema") == SCHEMA


def require_track_extra(what: str) -> None:
    """pandas and matplotlib come with the 'track' extra; a run-side install (a device) has neither."""
    import importlib.util

    missing = [m for m in ("pandas", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        raise BadInput(
            f"{what} needs {' and '.join(missing)}: pip install 'edgeq[track]' (records are complete; publish where it is installed)"
        )


def run_publish(
    targets: list[str] | None, snapshot_name: str | None, source: Path | None, published_dir: Path
) -> list[Path]:
    """What ``edgeq publish`` does with its options (one place, so the CLI stays a thin shell).

    - no option: the working leaderboard ``<results>/leaderboard/`` from ``<results>/records/``;
    - ``--snapshot NAME``: a snapshot ``<published_dir>/NAME/`` (of ``--from``'s records if given);
    - ``--from SNAPSHOT``: that snapshot rebuilt in place from its own records;
    - ``--from FOLDER`` (a results root, a folder of records): ``FOLDER/leaderboard/``.
    """
    from suite.paths import results_root
    from suite.publish.build import build

    require_track_extra("edgeq publish")
    if snapshot_name is not None and (
        not snapshot_name.strip() or "/" in snapshot_name or "\\" in snapshot_name or snapshot_name.startswith(".")
    ):
        raise BadInput(f"--snapshot: got {snapshot_name!r}, expected a plain folder name such as 2026-06-local-cpu")
    if source is not None:
        records = records_from(source)
        if not records:
            raise BadInput(f"{source}: no EdgeQ records (schema {SCHEMA}) found under it")
    else:
        store = RecordStore()
        records = list(store.iter_records())
        if not records:
            raise BadInput(f"no records under {store.root}; run `edgeq bench` first")
    known = sorted({r["target"]["name"] for r in records})
    missing = [t for t in targets or [] if t not in known]
    if missing:
        raise BadInput(f"--target: no records for {', '.join(missing)} (targets with records: {', '.join(known)})")
    if snapshot_name:
        chosen = [r for r in records if not targets or r["target"]["name"] in targets]
        return write_snapshot(chosen, published_dir / snapshot_name, snapshot_name)
    if source is not None and is_snapshot(source):
        if targets:
            raise BadInput(f"--target: {source} is a snapshot and is rebuilt whole; drop --target")
        marker = read_json(source / SNAPSHOT_MARKER, what="snapshot marker")
        name = marker.get("name") if isinstance(marker, dict) and isinstance(marker.get("name"), str) else None
        return write_snapshot(records, source, name or source.name, in_place=True)
    if source is not None:
        if source.is_file():
            raise BadInput(f"--from {source}: a single record; give its folder, or use --snapshot NAME")
        return build(records, source / "leaderboard", targets)
    return build(records, results_root() / "leaderboard", targets)


def publish_working(store: RecordStore, targets: list[str], console: Any) -> list[Path]:
    """The working leaderboard of ``targets``; skipped, with why, where pandas/matplotlib are missing
    (a board with the run side only: the records are complete, ``edgeq publish`` builds it elsewhere)."""
    from suite.paths import results_root

    try:
        written = publish(store, targets, results_root() / "leaderboard")
    except ModuleNotFoundError as exc:
        console.print(
            f"leaderboard skipped: {exc.name} is not installed (the 'track' extra); the records are complete, "
            f"`edgeq publish` builds it where it is"
        )
        return []
    return written
