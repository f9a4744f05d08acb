"""``edgeq run bundle.tar`` on a board (``measure_bundle``): every job of the bundle through the sweep loop (run side only),
records in the board's results root (a rerun resumes), then a results tarball for ``edgeq import``:
a small manifest (schema ``edgeq.results/1``) and one JSON file per record."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from suite.bundle.archives import TarWriter
from suite.bundle.read import check_board, dispatch_block, open_bundle
from suite.job.run import run_carried
from suite.records.store import RecordStore, utc_now
from suite.sweep.loop import LocalExecutor, run_sweep
from suite.sweep.summary import finish

RESULTS_SCHEMA = "edgeq.results/1"
RESULTS_MANIFEST = "edgeq-results.json"


def measure_bundle(
    bundle_path: Path, out: Path | None, override_target: bool, console: Any, timeout_s: float | None = None
) -> int:
    """``edgeq run``: every job of the bundle on this board, records here, then the results tarball."""
    bundle = open_bundle(bundle_path)
    profile, matched = check_board(bundle.target_path, override_target)
    jobs = bundle.jobs()
    for job in jobs:
        job.target_matched, job.target_override = matched, override_target and not matched
    store = RecordStore()
    store.clean_stale_temps()
    out = Path(out) if out else Path.cwd() / f"{bundle.target}-results.tar"
    console.print(
        f"edgeq run: bundle {bundle_path} ({bundle.sha256[:12]}), target {bundle.target}, {len(jobs)} job(s), records in {store.root}"
    )

    def decorate(record: dict[str, Any]) -> None:
        record["dispatch"] = dispatch_block(bundle, "bundle")

    executor = LocalExecutor(
        run_carried,
        timeout_s or profile.config.measurement.job_timeout_s,
        decorate=decorate,
        on_start=lambda job: console.print(f"running {job.label}", highlight=False),
    )
    outcomes = run_sweep(jobs, executor, store, retry_failed=True)  # a failed job is tried again on every run
    write_results(out, bundle, [o.record for o in outcomes])
    code = finish(console, outcomes, retry_hint="`edgeq run` again")
    console.print(f"results: {out} ({len(outcomes)} record(s)); on the workstation: edgeq import {out.name}")
    return code


def write_results(out: Path, bundle: Any, records: list[dict[str, Any]]) -> Path:
    """The results tarball: a small manifest and one JSON file per record."""
    from suite.records.store import _json_default, clean_nans

    writer = TarWriter(out)
    ok = False
    try:
        names = []
        for record in records:
            name = f"records/{record['target']['name']}/{record['task']['name']}/{record['job_id']}.json"
            data = json.dumps(clean_nans(record), indent=2, default=_json_default, allow_nan=False).encode()
            names.append(writer.add_bytes(name, data))
        manifest = {
            "schema": RESULTS_SCHEMA,
            "created_at": utc_now(),
            "target": bundle.target,
            "bundle_sha256": bundle.sha256,
            "measured_on": socket.gethostname(),
            "records": names,
        }
        writer.add_bytes(RESULTS_MANIFEST, json.dumps(manifest, indent=2).encode())
        ok = True
    finally:
        writer.close(ok)
    return out
