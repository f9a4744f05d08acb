"""Bundles made reachable to the workers, and fetched by them: the MLflow artifact store or a shared folder.

The workstation puts each target's bundle in one place every board can read and sends only its address
and sha256 in the job messages (small JSON, no model bytes through the broker):

- the lab's MLflow server (``MLFLOW_TRACKING_URI=http://...``, started with proxied artifacts, the
  default of ``mlflow server``): the bundle is an artifact of a run in the ``edgeq/fleet`` experiment,
  addressed ``runs:/<run_id>/bundles/<file>``; a worker downloads it with MLflow's own client;
- or a shared folder (``--share /mnt/lab``: NFS/SMB mounted at the same path on every board): the
  bundle is copied there and addressed ``file:///mnt/lab/edgeq-bundles/<file>``.

A worker keeps each bundle in its cache under the sha256 it was promised, and refuses one whose bytes
differ, so a job never measures an artifact other than the one the workstation built.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from suite.errors import BadInput
from suite.files import file_sha256

EXPERIMENT = "edgeq/fleet"


def publish_bundle(path: Path, share: Path | None, tracking_uri: str | None, run_name: str) -> dict[str, Any]:
    """Put ``path`` where workers can read it; returns ``{"uri", "sha256", "name"}`` for the messages."""
    sha = file_sha256(path)
    info = {"sha256": sha, "name": path.name}
    if share is not None:
        folder = Path(share).resolve() / "edgeq-bundles"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            dest = folder / path.name
            tmp = folder / f".{path.name}.{os.getpid()}.tmp"
            shutil.copyfile(path, tmp)
            os.replace(tmp, dest)
        except OSError as exc:
            raise BadInput(f"--share {share}: cannot write the bundle there ({exc})") from None
        return {**info, "uri": dest.as_uri()}
    if not tracking_uri or not tracking_uri.startswith(("http://", "https://")):
        raise BadInput(
            "the workers cannot reach the bundles: set MLFLOW_TRACKING_URI to the lab's mlflow server "
            "(http://host:5000) or pass --share DIR (a folder every board mounts at the same path)"
        )
    from suite.tracking.mlflow import store_bundle

    return {**info, "uri": store_bundle(tracking_uri, EXPERIMENT, path, run_name, sha)}


def fetch_bundle(info: dict[str, Any], cache: Path) -> Path:
    """The bundle of a job message, from the local cache or fetched now and checked against its sha256."""
    sha = str(info["sha256"])
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise BadInput(f"job message: bundle sha256 {sha!r} is not a sha256")
    cache.mkdir(parents=True, exist_ok=True)
    local = cache / f"{sha}.tar"
    if local.is_file() and file_sha256(local) == sha:
        return local
    uri = str(info["uri"])
    with tempfile.TemporaryDirectory(prefix="edgeq-fetch-", dir=cache) as tmp:
        if uri.startswith("file:"):
            source = Path(unquote(urlsplit(uri).path))
            if not source.is_file():
                raise BadInput(f"bundle {source} is not readable here (is the shared folder mounted at the same path?)")
            got = Path(tmp) / "bundle.tar"
            shutil.copyfile(source, got)
        elif uri.startswith(("runs:/", "mlflow-artifacts:/", "http://", "https://")):
            import mlflow.artifacts

            from suite.tracking.mlflow import _quiet_client_env

            _quiet_client_env()
            got = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp))
        else:
            raise BadInput(f"job message: bundle address {uri!r} is neither file: nor an MLflow artifact")
        if file_sha256(got) != sha:
            raise BadInput(f"bundle {uri} does not match the sha256 in the job message (changed or damaged)")
        os.replace(got, local)
    return local
