"""The manifests of a bundle (``edgeq.bundle/1``) and of a results tarball (``edgeq.results/1``) as
pydantic models, checked when one is opened: an archive from elsewhere may carry any JSON at all, and
``"jobs": 5`` or ``"files": "x"`` must be one line naming the key, not a ``TypeError`` halfway through
opening it. Like the record schema (``suite.records.schema``), the models type what the readers use
and let every other key through; docs/record-schema.md ("Other formats") lists the keys.
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict

from suite.records.schema import PlainName


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class Prepared(_Open):
    artifact: dict[str, Any]
    data: str
    data_sha256: Optional[str] = None
    task_block: Optional[dict[str, Any]] = None
    simulated_top1: Optional[float] = None
    prepare_s: Optional[float] = None


class BundleJob(_Open):
    job: dict[str, Any]
    task_file: str
    profile_file: Optional[str] = None
    prepared: Prepared


class BundleManifest(_Open):
    target: PlainName
    profile_file: str
    jobs: list[BundleJob]
    files: dict[str, str]
    created_at: Optional[str] = None
    prepared_on: Optional[dict[str, Any]] = None


class ResultsManifest(_Open):
    target: PlainName
    records: list[str]
    created_at: Optional[str] = None
    bundle_sha256: Optional[str] = None
    measured_on: Optional[str] = None
