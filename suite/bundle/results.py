"""``edgeq import``: a board's results tarball (written by ``suite.bundle.run``) merged here (idempotent by
job id: ``suite.records.merge``), then logged to MLflow and published."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from suite.bundle.run import RESULTS_MANIFEST, RESULTS_SCHEMA
from suite.errors import EXIT_JOBS_FAILED, EXIT_OK, BadInput
from suite.records.store import RecordStore, read_json


def read_results(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The manifest and records of a results tarball, all checked before any is merged."""
    from suite.bundle.archives import read_manifest, safe_extract
    from suite.bundle.manifest import ResultsManifest
    from suite.records.merge import check_record

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="edgeq-import-") as tmp:
        safe_extract(path, Path(tmp))
        manifest = read_manifest(
            Path(tmp) / RESULTS_MANIFEST, RESULTS_SCHEMA, path, "results tarball", "edgeq run", ResultsManifest
        )
        records = []
        for name in manifest.get("records") or []:
            member = (Path(tmp) / str(name)).resolve()
            if Path(tmp).resolve() not in member.parents:
                raise BadInput(f"{path}: {RESULTS_MANIFEST} names {name!r} outside the tarball")
            if not member.is_file():
                raise BadInput(f"{path}: {name} is listed in {RESULTS_MANIFEST} but missing")
            try:
                record = read_json(member, what="record")
            except BadInput as exc:
                raise BadInput(f"{path}: {name}: {str(exc).removeprefix(f'{member}: ')}") from None
            records.append(check_record(record, f"{path}: {name}"))
    return manifest, records


def import_results(path: Path, use_mlflow: bool, console: Any) -> int:
    """``edgeq import``: merge a board's records here (idempotent), log them to MLflow, publish."""
    from suite.publish.leaderboard import publish_working
    from suite.records import merge
    from suite.tracking.sink import MlflowSink

    manifest, records = read_results(path)
    store = RecordStore()
    counts: dict[str, int] = {}
    for record in records:
        how = merge.merge_record(store, record)
        counts[how] = counts.get(how, 0) + 1
    filled = merge.fill_deltas(store, records)
    parts = ", ".join(f"{n} {how}" for how, n in sorted(counts.items()))
    console.print(
        f"imported {len(records)} record(s) of target {manifest.get('target')} from {path}: {parts or 'none'}"
    )
    if filled:
        console.print(f"{filled} accuracy delta(s) filled from the fp32 records here")
    sink = MlflowSink(enabled=use_mlflow, only_missing=True)
    for record in records:  # the stored version: a kept older record is the one logged
        target, task, job_id = record["target"]["name"], record["task"]["name"], record["job_id"]
        sink.log(store.read(target, task, job_id) or record, store.path_for(target, task, job_id))
    sink.finish()
    for line in sink.lines():
        console.print(line, markup=False)
    written = publish_working(store, sorted({r["target"]["name"] for r in records}), console)
    for written_path in written:
        if written_path.suffix in (".md", ".html") and written_path.name != "cross-target.md":
            console.print(f"leaderboard: {written_path}")
    sink.describe([store.read(r["target"]["name"], r["task"]["name"], r["job_id"]) or r for r in records], written)
    link = sink.compare_link()
    if link:  # last, and never wrapped, as a local sweep's: the same shared view of the runs logged here
        console.print(link, markup=False, soft_wrap=True)
    return EXIT_JOBS_FAILED if any(r["status"] == "failed" for r in records) else EXIT_OK
