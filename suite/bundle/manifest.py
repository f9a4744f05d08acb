"""The manifests of a bundle (``edgeq.bundle/1``) and of a results tarball (``edgeq.results/1``) as
pydantic models, checked when one is opened: an archive from elsewhere may carry any JSON at all, and
``"jobs": 5`` or ``"files": "x"`` must be one line naming the key, not a ``TypeError`` halfway through
opening it. Like the record schema (``suite.records.schema``), the models type what the readers use
and let every other key through; docs/record-schema.md ("Other formats") lists the keys.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from suite.records.schema import PlainName


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class Prepared(_Open):
    artifact: dict[str, Any]
    data: str
    data_sha256: str | None = None
    task_block: dict[str, Any] | None = None
    simulated_top1: float | None = None
    prepare_s: float | None = None


class BundleJob(_Open):
    job: dict[str, Any]
    task_file: str
    profile_file: str | None = None
    prepared: Prepared


class BundleManifest(_Open):
    target: PlainName
    profile_file: str
    jobs: list[BundleJob]
    files: dict[str, str]
    created_at: str | None = None
    prepared_on: dict[str, Any] | None = None


class ResultsManifest(_Open):
    target: PlainName
    records: list[str]
    created_at: str | None = None
    bundle_sha256: str | None = None
    measured_on: str | None = None
