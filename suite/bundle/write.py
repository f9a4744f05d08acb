"""``edgeq prepare --target T -o bundle.tar``: plan T's sweep, build every artifact here, pack them.

The bundle is one tar file::

    edgeq-bundle.json                   manifest: schema edgeq.bundle/1, target, jobs, sha256 of every file
    hardware/<target>.yaml              the target's profile, byte for byte (its hash is in each fingerprint)
    tasks/<task>-<sha12>.yaml           the task files, byte for byte
    artifacts/<task>/<method>-<key>/... the artifact files (the model and anything beside it)
    data/<task>-<sha>.npz               the eval split each job scores on (x_eval, y_eval; no pickle)

Calibration data is not carried: every method quantizes on the workstation, so the board needs the
artifact and the samples it is scored on, nothing else. Why a tar file with a JSON manifest and no
packaging library: the standard library's ``tarfile`` is the one format every board can unpack and
inspect with no install, and the manifest is the only structure there is.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
from pathlib import Path
from typing import Any

from suite.bundle.archives import TarWriter
from suite.bundle.read import BUNDLE_SCHEMA, MANIFEST
from suite.errors import BadInput
from suite.job.request import SweepRequest
from suite.records.store import RecordStore, utc_now


def _npz_bytes(x: Any, y: Any, extras: dict[str, Any] | None = None) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    more = {f"extra_{name}": np.ascontiguousarray(values) for name, values in (extras or {}).items()}
    np.savez_compressed(buffer, x_eval=np.ascontiguousarray(x), y_eval=np.ascontiguousarray(y), **more)
    return buffer.getvalue()


def build_bundle(
    request: SweepRequest, out: Path, console: Any, only: set[str] | None = None
) -> tuple[Path, list[dict[str, Any]], list[dict[str, Any]]]:
    """Plan ``request`` on its target, prepare every artifact here, write the bundle to ``out``.

    Returns (bundle path, manifest job entries, failed records). A job whose artifact cannot be built is
    recorded here as failed (the workstation is where it failed) and left out of the bundle. ``only``
    restricts the bundle to these job ids.
    """
    from suite.job.build import build_inputs
    from suite.job.plan import plan
    from suite.job.run import job_record
    from suite.machine.target import load_target

    profile = load_target(request.target)
    if profile.alias:
        raise BadInput(
            f"target {profile.alias!r} is an alias of {', '.join(profile.alias_of)}: a bundle is for one board; "
            f"prepare for one of them (--target {profile.alias_of[0]})"
        )
    # The workstation is not the board: detection happens on the device when the bundle runs.
    planned = plan(profile, request.with_(override_target=True))
    jobs = planned.jobs
    if only is None:  # the fleet prints its own plan, per target
        for line in planned.lines():
            console.print(line, markup=False, soft_wrap=True)
    if only is not None:  # the fleet bundles only the jobs it has no record of
        jobs = [job for job in jobs if job.job_id in only]
    jobs.sort(key=lambda j: (j.task_name, not j.is_baseline))
    store = RecordStore()
    writer = TarWriter(out)
    entries: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    ok = False
    try:
        profile_member = writer.add_file(f"hardware/{profile.config.name}.yaml", Path(profile.path))
        for job in jobs:
            if job.skip:
                console.print(f"skipped {job.label}: {job.skip}")
                continue
            console.print(f"preparing {job.label}", highlight=False)
            try:
                inputs = build_inputs(job)
            except Exception as exc:  # one job's artifact failed: recorded here, the bundle goes on
                record = job_record(job)
                record.update(status="failed", error=" ".join(str(exc).split())[:500] or type(exc).__name__)
                record["error_kind"] = "bad_input" if isinstance(exc, BadInput) else "prepare"
                store.write(record)
                failed.append(record)
                console.print(f"[red]failed[/] {job.label}: {record['error']}")
                continue
            task_member = writer.add_file(f"tasks/{job.task_name}-{job.task_sha256[:12]}.yaml", Path(job.task_path))
            folder = inputs.artifact_path.parent
            prefix = f"artifacts/{job.task_name}/{job.method}-{job.artifact_key}"
            for item in sorted(folder.iterdir()):  # the model and whatever sits beside it (external data)
                if item.is_file() and item.name != "artifact.json":
                    writer.add_file(f"{prefix}/{item.name}", item)
            data = _npz_bytes(inputs.x_eval, inputs.y_eval, inputs.extras)
            data_sha = hashlib.sha256(data).hexdigest()
            data_member = writer.add_bytes(f"data/{job.task_name}-{data_sha[:16]}.npz", data)
            job_dict = job.to_dict()
            job_dict["prepared"] = None
            entries.append(
                {
                    "job": job_dict,
                    "task_file": task_member,
                    "profile_file": profile_member,
                    "prepared": {
                        "artifact": {**inputs.artifact_record, "path": f"{prefix}/{inputs.artifact_path.name}"},
                        "simulated_top1": inputs.simulated_top1,
                        "data": data_member,
                        "data_sha256": data_sha,
                        "task_block": inputs.task_block,
                        "prepare_s": inputs.prepare_s,
                    },
                }
            )
        if not entries:
            raise BadInput(f"target {profile.config.name!r}: no job could be prepared; nothing to bundle")
        from suite.machine.envinfo import package_versions

        manifest = {
            "schema": BUNDLE_SCHEMA,
            "created_at": utc_now(),
            "target": profile.config.name,
            "profile_file": profile_member,
            "prepared_on": {"host": socket.gethostname(), "packages": package_versions()},
            "jobs": entries,
            "files": dict(writer.files),
        }
        writer.add_bytes(MANIFEST, json.dumps(manifest, indent=2, default=str).encode())
        ok = True
    finally:
        writer.close(ok)
    return out, entries, failed
