"""Records measured elsewhere (a device's results tarball, a fleet worker) merged into this store.

Records are keyed by job id (``records/<target>/<task>/<job_id>.json``), so merging is idempotent by
construction: the same record arriving twice, from a re-import or a job that a broker redelivered,
lands on the same file. Which one stays when two *different* records of one job arrive:

- a record that measured (ok / skipped) replaces a ``failed`` one: a rerun after a crash is the answer;
- otherwise the record already here stays. A second measurement of the same fingerprint is the same
  job measured again (a redelivery, a re-import of an older tarball); keeping the first makes the
  leaderboard independent of arrival order. ``edgeq bench --force`` is the way to re-measure.

The accuracy delta of a quantized job needs its baseline record (``suite.records.baseline``). A board
fills it when it measured that fp32 job itself; when the baseline ran elsewhere (another board on the
same queue) it is filled here, from the merged records, and the record says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from suite.errors import BadInput
from suite.records.baseline import baseline_of
from suite.records.paired import vs_baseline
from suite.records.schema import problem
from suite.records.store import RecordStore


def check_record(record: Any, where: str) -> dict[str, Any]:
    """A record from elsewhere, checked against the schema (every contract key's type and range, plain
    names for the path parts) before anything is written: BadInput naming ``where`` and the key."""
    wrong = problem(record)
    if wrong:
        raise BadInput(f"{where}: {wrong}")
    checked: dict[str, Any] = record
    return checked


def merge_record(store: RecordStore, record: dict[str, Any]) -> str:
    """Store ``record`` by its job id. Returns ``new``, ``replaced``, ``unchanged`` or ``kept``."""
    target, task, job_id = record["target"]["name"], record["task"]["name"], record["job_id"]
    try:
        current = store.read(target, task, job_id)
    except BadInput:  # an unreadable file is replaced, never trusted
        current = None
    if current is None:
        store.write(record)
        return "new"
    if current.get("created_at") == record.get("created_at") and current.get("status") == record.get("status"):
        return "unchanged"  # the same measurement (a re-import, a result read twice)
    if current.get("status") == "failed" and record.get("status") != "failed":
        store.write(record)
        return "replaced"
    return "kept"


def fill_delta(store: RecordStore, record: dict[str, Any]) -> bool:
    """Fill ``accuracy.delta_top1`` and the paired ``accuracy.vs_fp32`` from the stored baseline
    (``suite.records.baseline``) when the board could not. True if anything was filled."""
    acc = record.get("accuracy") or {}
    if record.get("status") != "ok" or acc.get("top1") is None:
        return False
    if (record.get("method") or {}).get("family") == "baseline":
        return False
    need_delta = acc.get("delta_top1") is None
    need_paired = "mcnemar_p" not in (acc.get("vs_fp32") or {}) and acc.get("correct") is not None
    if not (need_delta or need_paired):
        return False
    base = baseline_of(store, record["target"]["name"], record["task"]["name"], record.get("inputs") or {})
    fp32 = ((base or {}).get("accuracy") or {}).get("top1")
    if fp32 is None:
        return False
    if need_delta:
        acc.update(fp32_top1=fp32, delta_top1=acc["top1"] - fp32, delta_filled_at="merge")
    if need_paired:
        paired = vs_baseline(acc, base)
        if paired is not None and "error" not in paired:
            acc.update(vs_fp32=paired, delta_filled_at="merge")
        elif not need_delta:
            return False
    store.write(record)
    return True


def fill_deltas(store: RecordStore, records: Iterable[dict[str, Any]]) -> int:
    """``fill_delta`` for each stored record (re-read, so a kept older record is the one updated)."""
    filled = 0
    for record in records:
        try:
            stored = store.read(record["target"]["name"], record["task"]["name"], record["job_id"])
        except BadInput:
            continue
        if stored is not None and fill_delta(store, stored):
            filled += 1
    return filled
