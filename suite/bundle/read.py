"""Opening a carried bundle on a board: extract it safely, check every file's sha256, check the board.

``edgeq run`` (``suite.bundle.run``) and ``edgeq worker`` (``suite.fleet.worker``) read bundles through
here; only the run side is needed (``pip install 'edgeq[device]'``).
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suite.errors import BadInput
from suite.files import file_sha256
from suite.job.spec import Job

BUNDLE_SCHEMA = "edgeq.bundle/1"
MANIFEST = "edgeq-bundle.json"
_VERIFIED = ".edgeq-verified"


@dataclass
class Bundle:
    """An extracted, verified bundle."""

    root: Path
    sha256: str
    manifest: dict[str, Any]

    @property
    def target(self) -> str:
        return str(self.manifest["target"])

    @property
    def target_path(self) -> Path:
        return self.root / str(self.manifest["profile_file"])

    def jobs(self) -> list[Any]:
        """The bundle's jobs with their files pointing into this extraction (fingerprints unchanged)."""
        jobs = []
        for i, entry in enumerate(self.manifest["jobs"]):
            data = dict(entry["job"])
            prepared = json.loads(json.dumps(entry["prepared"]))
            try:
                prepared["artifact"]["path"] = str(self.root / prepared["artifact"]["path"])
                prepared["data"] = str(self.root / prepared["data"])
                data.update(
                    task_path=str(self.root / entry["task_file"]), target_path=str(self.target_path), prepared=prepared
                )
                jobs.append(Job.from_dict(data))
            except (KeyError, TypeError, ValueError) as exc:  # a manifest written by something else
                raise BadInput(
                    f"bundle {self.sha256[:12]}: {MANIFEST}: jobs.{i}: not a job this EdgeQ can run ({type(exc).__name__}: {exc})"
                ) from None
        return jobs

    def job(self, job_id: str) -> Any:
        for job in self.jobs():
            if job.job_id == job_id:
                return job
        raise BadInput(f"bundle {self.sha256[:12]}: no job {job_id!r}")


def _read_manifest(root: Path, where: Path) -> dict[str, Any]:
    from suite.bundle.archives import read_manifest
    from suite.bundle.manifest import BundleManifest

    return read_manifest(root / MANIFEST, BUNDLE_SCHEMA, where, "bundle", "edgeq prepare", BundleManifest)


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


def check_board(target_path: Path, override: bool) -> tuple[Any, bool]:
    """The bundle's profile against this machine: (loaded profile, matched). BadInput if it does not match."""
    from suite.machine.target import check_target, load_target

    profile = load_target(str(target_path))
    result = check_target(profile)
    if not result.matched and not override:
        raise BadInput(
            f"{result.line(profile.config.name)}; use --override-target to measure anyway (the record will say so)"
        )
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
