"""Carry-on bundles: prepare on the workstation, measure on a board, bring the records home.

``edgeq prepare --target T -o bundle.tar`` plans the sweep of T, builds every artifact here (torch,
TensorFlow, ONNX tooling) and writes one tar file::

    edgeq-bundle.json                   manifest: schema edgeq.bundle/1, target, jobs, sha256 of every file
    hardware/<target>.yaml              the profile, byte for byte (its hash is in each job's fingerprint)
    tasks/<task>.yaml                   the task files, byte for byte
    artifacts/<task>/<method>-<key>/... the artifact files (the model and anything beside it)
    data/<task>-<sha>.npz               the eval split each job scores on (x_eval, y_eval; no pickle)

Calibration data is not carried: every method here quantizes on the workstation, so the device needs
the artifact and the samples it is scored on, nothing else.

``edgeq run bundle.tar`` on the device needs only the run side (``pip install 'edgeq[device]'``): it
extracts the bundle safely (``suite.bundle.archives``), checks every file's sha256, checks the board against
the profile, runs each job in the reusable worker process (``suite.job.isolate``, so a crash costs one job),
keeps records in the device's own results root (a rerun resumes), and writes a results tarball.
``edgeq import results.tar`` merges those records here (``suite.records.merge``: idempotent) and logs them to
MLflow.

Why a tar file with a JSON manifest and no packaging library: the standard library's ``tarfile`` is the
one format every board can unpack and inspect with no install, and the manifest is the only structure
there is (a wheel or an OCI image would add a toolchain for nothing).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suite.errors import EXIT_JOBS_FAILED, EXIT_OK, BadInput
from suite.job.inputs import file_sha256
from suite.records.store import RecordStore, utc_now

BUNDLE_SCHEMA = "edgeq.bundle/1"
RESULTS_SCHEMA = "edgeq.results/1"
MANIFEST = "edgeq-bundle.json"
RESULTS_MANIFEST = "edgeq-results.json"
_VERIFIED = ".edgeq-verified"


# ------------------------------------------------------------------------------------------ writing
def _tar_mode(path: Path, write: bool) -> str:
    name = path.name.lower()
    kind = "gz" if name.endswith((".tar.gz", ".tgz")) else "xz" if name.endswith((".tar.xz", ".txz")) else ""
    return ("w" if write else "r") + (f":{kind}" if kind else "")


class _TarWriter:
    """Members added once by name (jobs share artifacts and data), sha256 of each kept for the manifest."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self.tar = tarfile.open(self.tmp, _tar_mode(out, write=True))
        self.files: dict[str, str] = {}

    def add_bytes(self, name: str, data: bytes) -> str:
        if name not in self.files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o644
            self.tar.addfile(info, io.BytesIO(data))
            self.files[name] = hashlib.sha256(data).hexdigest()
        return name

    def add_file(self, name: str, path: Path) -> str:
        if name not in self.files:
            info = self.tar.gettarinfo(str(path), arcname=name)
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(path, "rb") as handle:
                self.tar.addfile(info, handle)
            self.files[name] = file_sha256(path)
        return name

    def close(self, ok: bool) -> None:
        self.tar.close()
        if ok:
            os.chmod(self.tmp, 0o644)  # carried and shared: readable like any file the user writes
            os.replace(self.tmp, self.out)
        else:
            self.tmp.unlink(missing_ok=True)


def _npz_bytes(x: Any, y: Any) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_eval=np.ascontiguousarray(x), y_eval=np.ascontiguousarray(y))
    return buffer.getvalue()


def build_bundle(
    target: str,
    tasks: list[str] | None,
    methods: list[str] | None,
    runtimes: list[str] | None,
    quick: bool,
    limit: int | None,
    out: Path,
    console: Any,
    overrides: list[str] | None = None,
    only: set[str] | None = None,
) -> tuple[Path, list[dict[str, Any]], list[dict[str, Any]]]:
    """Plan T's sweep, prepare every artifact here, write the bundle to ``out``.

    Returns (bundle path, manifest job entries, failed records). A job whose artifact cannot be built is
    recorded here as failed (the workstation is where it failed) and left out of the bundle. ``only``
    restricts the bundle to these job ids.
    """
    from suite.config import load_profile
    from suite.job.run import job_record
    from suite.job.inputs import prepare_inputs
    from suite.job.plan import parse_overrides, plan

    profile = load_profile(target)
    if profile.alias:
        raise BadInput(
            f"target {profile.alias!r} is an alias of {', '.join(profile.alias_of)}: a bundle is for one board; "
            f"prepare for one of them (--target {profile.alias_of[0]})"
        )
    # The workstation is not the board: detection happens on the device when the bundle runs.
    jobs = plan(profile, tasks, methods, runtimes, quick=quick, limit=limit, override=True, overrides=parse_overrides(overrides))
    if only is not None:  # the fleet bundles only the jobs it has no record of
        jobs = [job for job in jobs if job.job_id in only]
    jobs.sort(key=lambda j: (j.task_name, j.family != "baseline"))
    store = RecordStore()
    writer = _TarWriter(out)
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
                inputs = prepare_inputs(job)
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
            data = _npz_bytes(inputs.x_eval, inputs.y_eval)
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


# ------------------------------------------------------------------------------------------ reading
@dataclass
class Bundle:
    """An extracted, verified bundle."""

    root: Path
    sha256: str
    manifest: dict[str, Any]

    @property
    def target(self) -> str:
        return self.manifest["target"]

    @property
    def profile_path(self) -> Path:
        return self.root / self.manifest["profile_file"]

    def jobs(self) -> list[Any]:
        """The bundle's jobs with their files pointing into this extraction (fingerprints unchanged)."""
        from suite.job.plan import Job

        jobs = []
        for entry in self.manifest["jobs"]:
            data = dict(entry["job"])
            prepared = json.loads(json.dumps(entry["prepared"]))
            prepared["artifact"]["path"] = str(self.root / prepared["artifact"]["path"])
            prepared["data"] = str(self.root / prepared["data"])
            data.update(task_path=str(self.root / entry["task_file"]), profile_path=str(self.profile_path), prepared=prepared)
            jobs.append(Job.from_dict(data))
        return jobs

    def job(self, job_id: str) -> Any:
        for job in self.jobs():
            if job.job_id == job_id:
                return job
        raise BadInput(f"bundle {self.sha256[:12]}: no job {job_id!r}")


def _read_manifest(root: Path, where: Path) -> dict[str, Any]:
    path = root / MANIFEST
    if not path.is_file():
        raise BadInput(f"{where}: not an EdgeQ bundle (no {MANIFEST}; made by `edgeq prepare`?)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"{where}: {MANIFEST} is not readable JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != BUNDLE_SCHEMA:
        got = manifest.get("schema") if isinstance(manifest, dict) else type(manifest).__name__
        raise BadInput(f"{where}: {MANIFEST}: schema: got {got!r}, expected {BUNDLE_SCHEMA!r}")
    for key in ("target", "profile_file", "jobs", "files"):
        if key not in manifest:
            raise BadInput(f"{where}: {MANIFEST}: missing key {key!r}")
    return manifest


def _verify(root: Path, manifest: dict[str, Any], where: Path) -> None:
    """Every file the manifest lists is there with its sha256 (a damaged or edited bundle is refused)."""
    for name, sha in manifest["files"].items():
        if name == MANIFEST:
            continue
        path = (root / name).resolve()
        if root.resolve() not in path.parents:
            raise BadInput(f"{where}: {MANIFEST} names {name!r} outside the bundle")
        if not path.is_file():
            raise BadInput(f"{where}: {name} is listed in {MANIFEST} but missing from the bundle")
        if file_sha256(path) != sha:
            raise BadInput(f"{where}: {name} does not match its sha256 in {MANIFEST} (damaged or edited bundle)")


def open_bundle(path: Path, workdir: Path | None = None) -> Bundle:
    """Extract (once per bundle content) and verify ``path``; BadInput with one line if anything is off."""
    from suite.bundle.archives import safe_extract
    from suite.paths import cache_dir

    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such bundle file")
    sha = file_sha256(path)
    root = (workdir or cache_dir("bundles")) / sha[:16]
    if (root / _VERIFIED).is_file() and (root / _VERIFIED).read_text().strip() == sha:
        return Bundle(root=root, sha256=sha, manifest=_read_manifest(root, path))
    tmp = Path(tempfile.mkdtemp(prefix=f".{sha[:16]}.", dir=root.parent))
    try:
        safe_extract(path, tmp)
        manifest = _read_manifest(tmp, path)
        _verify(tmp, manifest, path)
        (tmp / _VERIFIED).write_text(sha)
        shutil.rmtree(root, ignore_errors=True)
        try:
            tmp.replace(root)
        except OSError:  # another process extracted the same bundle meanwhile: use theirs
            if not (root / _VERIFIED).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Bundle(root=root, sha256=sha, manifest=_read_manifest(root, path))


# ------------------------------------------------------------------------------------------ running
def check_board(profile_path: Path, override: bool) -> tuple[Any, bool]:
    """The bundle's profile against this machine: (loaded profile, matched). BadInput if it does not match."""
    from suite.config import load_profile
    from suite.machine.detect import check_target

    profile = load_profile(str(profile_path))
    result = check_target(profile)
    if not result.matched and not override:
        raise BadInput(f"{result.line(profile.config.name)}; use --override-target to measure anyway (the record will say so)")
    return profile, result.matched


def dispatch_block(bundle: Bundle, via: str, **extra: Any) -> dict[str, Any]:
    """``record["dispatch"]``: how the job reached the machine that measured it."""
    return {
        "via": via,
        "bundle_sha256": bundle.sha256,
        "bundle_created_at": bundle.manifest.get("created_at"),
        "prepared_on": (bundle.manifest.get("prepared_on") or {}).get("host"),
        "measured_on": socket.gethostname(),
        **extra,
    }


def run_bundle(bundle_path: Path, out: Path | None, override_target: bool, console: Any, timeout_s: float | None = None) -> int:
    """``edgeq run``: every job of the bundle on this board, records here, then the results tarball."""
    from suite.sweep.local import summarise
    from suite.job.plan import existing
    from suite.job.isolate import Worker

    bundle = open_bundle(bundle_path)
    profile, matched = check_board(bundle.profile_path, override_target)
    jobs = bundle.jobs()
    for job in jobs:
        job.target_matched, job.target_override = matched, override_target and not matched
    store = RecordStore()
    store.clean_stale_temps()
    timeout = timeout_s or profile.config.measurement.job_timeout_s
    out = Path(out) if out else Path.cwd() / f"{bundle.target}-results.tar"
    console.print(f"edgeq run: bundle {bundle_path} ({bundle.sha256[:12]}), target {bundle.target}, {len(jobs)} job(s), records in {store.root}")
    results: list[tuple[Any, dict[str, Any], str]] = []
    with Worker() as worker:
        for job in jobs:
            previous = existing(store, job)
            if previous is not None and previous["status"] != "failed":
                results.append((job, previous, "reused"))
                continue
            console.print(f"running {job.label}", highlight=False)
            record = worker.run(job, timeout)
            record["dispatch"] = dispatch_block(bundle, "bundle")
            store.write(record)
            results.append((job, record, "ran"))
    write_results(out, bundle, [r for _, r, _ in results])
    summarise(console, results)
    console.print(f"results: {out} ({len(results)} record(s)); on the workstation: edgeq import {out.name}")
    return EXIT_JOBS_FAILED if any(r["status"] == "failed" for _, r, _ in results) else EXIT_OK


def write_results(out: Path, bundle: Bundle, records: list[dict[str, Any]]) -> Path:
    """The results tarball: a small manifest and one JSON file per record."""
    from suite.records.store import _json_default, clean_nans

    writer = _TarWriter(out)
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


# ----------------------------------------------------------------------------------------- importing
def read_results(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The manifest and records of a results tarball, all checked before any is merged."""
    from suite.bundle.archives import safe_extract
    from suite.records.merge import check_record

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="edgeq-import-") as tmp:
        safe_extract(path, Path(tmp))
        manifest_path = Path(tmp) / RESULTS_MANIFEST
        if not manifest_path.is_file():
            raise BadInput(f"{path}: not an EdgeQ results tarball (no {RESULTS_MANIFEST}; made by `edgeq run`?)")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInput(f"{path}: {RESULTS_MANIFEST} is not readable JSON ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("schema") != RESULTS_SCHEMA:
            got = manifest.get("schema") if isinstance(manifest, dict) else type(manifest).__name__
            raise BadInput(f"{path}: {RESULTS_MANIFEST}: schema: got {got!r}, expected {RESULTS_SCHEMA!r}")
        records = []
        for name in manifest.get("records") or []:
            member = (Path(tmp) / str(name)).resolve()
            if Path(tmp).resolve() not in member.parents:
                raise BadInput(f"{path}: {RESULTS_MANIFEST} names {name!r} outside the tarball")
            if not member.is_file():
                raise BadInput(f"{path}: {name} is listed in {RESULTS_MANIFEST} but missing")
            try:
                record = json.loads(member.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise BadInput(f"{path}: {name} is not readable JSON ({exc})") from None
            records.append(check_record(record, f"{path}: {name}"))
    return manifest, records


def import_results(path: Path, use_mlflow: bool, console: Any) -> int:
    """``edgeq import``: merge a device's records here (idempotent), log them to MLflow, publish."""
    from suite.records import merge
    from suite.paths import results_root

    manifest, records = read_results(path)
    store = RecordStore()
    counts: dict[str, int] = {}
    for record in records:
        how = merge.merge_record(store, record)
        counts[how] = counts.get(how, 0) + 1
    filled = merge.fill_deltas(store, records)
    parts = ", ".join(f"{n} {how}" for how, n in sorted(counts.items()))
    console.print(f"imported {len(records)} record(s) of target {manifest.get('target')} from {path}: {parts or 'none'}")
    if filled:
        console.print(f"{filled} accuracy delta(s) filled from the fp32 records here")
    if use_mlflow:
        when = time.time()
        logged, present, down = merge.log_to_mlflow(store, records, merge.sweep_name(str(manifest.get("target")), when))
        if down:
            console.print(f"MLflow: {down}; {len(records)} run(s) wait for `edgeq sync`", markup=False)
        else:
            console.print(f"MLflow: {logged} run(s) logged, {present} already there")
    targets = sorted({r["target"]["name"] for r in records})
    try:
        from suite.publish import leaderboard

        written = leaderboard.publish(store, targets, results_root() / "leaderboard")
    except ModuleNotFoundError as exc:
        written = []
        console.print(f"leaderboard skipped: {exc.name} is not installed (the 'track' extra)")
    for written_path in written:
        if written_path.suffix in (".md", ".html") and written_path.name != "cross-target.md":
            console.print(f"leaderboard: {written_path}")
    return EXIT_JOBS_FAILED if any(r["status"] == "failed" for r in records) else EXIT_OK
