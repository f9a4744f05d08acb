"""Records -> leaderboard rows: one flat row per record, with stable, documented column names.

The column list below is a contract like the record schema: ``leaderboard.csv`` and ``leaderboard.json``
carry exactly these columns in this order, the README documents them from ``COLUMN_DOCS``, and a column
is added, never renamed. Derived columns follow three rules:

- speed-up is the fp32 row's p50 over this row's p50 on the same target, task, runtime, runtime version,
  provider and timing mode (quick or not); never for a simulated artifact (its speed is not the method's)
  and never across runtimes (a faster runtime is not a better quantization method);
- the Pareto mark is set on the rows that no other row of the same target and task beats on both the
  task's primary metric and p50 latency (simulated rows take no part: their latency is not claimed).
  A task scored on fewer than 200 items is "too few to rank": there, an accuracy difference from fp32
  that the paired test does not find significant counts as a tie (the row competes with fp32's
  score), so no row earns its star from accuracy alone;
- when one configuration was measured more than once (same target, task, method, params, runtime,
  version and provider, e.g. after a task file changed), only the newest record is shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from suite.publish.pareto import front_mask
from suite.records import fields
from suite.records.fields import COLUMN_FIELDS, ranked

#: (column, unit or type, meaning). Order is the CSV/JSON column order; declared in suite.records.fields.
COLUMN_DOCS: list[tuple[str, str, str]] = [(f.column, f.unit, f.doc) for f in COLUMN_FIELDS if f.column]
COLUMNS: list[str] = [name for name, _, _ in COLUMN_DOCS]
NUMERIC = {f.column for f in COLUMN_FIELDS if f.numeric}
INTEGER = {f.column for f in COLUMN_FIELDS if f.integer}
DEDUP_KEY = ["target", "task", "method", "params", "runtime", "runtime_version", "provider"]
SPEEDUP_KEY = ["target", "task", "runtime", "runtime_version", "provider", "quick"]


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """The row of one record (every column except the derived label, speed-up and Pareto marks)."""
    return fields.row(record)


def _labels(df) -> list[str]:  # type: ignore[no-untyped-def]
    """``method`` alone, or ``method [k=v ...]`` with the params that differ between its variants."""
    labels = df["method"].astype(str).tolist()
    for (_task, _method), group in df.groupby(["task", "method"], sort=False):
        variants = group["params"].unique()
        if len(variants) < 2:
            continue
        parsed = {v: json.loads(v) for v in variants}
        keys = sorted({k for p in parsed.values() for k in p})
        differing = [k for k in keys if len({json.dumps(p.get(k), sort_keys=True) for p in parsed.values()}) > 1]
        for idx in group.index:
            p = parsed[df.at[idx, "params"]]
            shown = " ".join(f"{k}={p[k] if k in p else _default(_method, k)}" for k in differing)
            labels[df.index.get_loc(idx)] = f"{df.at[idx, 'method']} [{shown}]"
    return labels


def _default(method: str, key: str) -> Any:
    """A parameter a record leaves out: it was at its default (``Params.added_later``), named from the registry."""
    from suite.registry import methods

    try:
        return methods.get(method).Params.model_fields[key].default
    except Exception:  # a method this installation does not know (an imported record): say only that
        return "default"


def frame(records: Iterable[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """One row per record (newest per configuration), derived columns filled, sorted for reading."""
    import pandas as pd

    df = pd.DataFrame([flatten(r) for r in records], columns=COLUMNS)
    if df.empty:
        return df
    df = df.sort_values(["created_at", "job_id"], na_position="first", kind="stable")
    df = df.drop_duplicates(["target", "task", "job_id"], keep="last")
    df = df.drop_duplicates(DEDUP_KEY, keep="last").reset_index(drop=True)
    for col in NUMERIC:  # object columns of None -> numbers with NaN/NA, so sorting and formats behave
        df[col] = pd.to_numeric(df[col], errors="coerce")
        if col in INTEGER:
            df[col] = df[col].round().astype("Int64")
    df["label"] = _labels(df)

    # simulated or emulated rows: their speed is not claimed, so no speed-up and no Pareto mark
    ok = (df["status"] == "ok") & ~df["simulated"].astype(bool) & df["emulated"].isna()
    fp32 = df[ok & ((df["method"] == "fp32") | (df["family"] == "baseline")) & df["p50_ms"].notna()]
    base = {tuple(r[k] for k in SPEEDUP_KEY): r["p50_ms"] for _, r in fp32.iterrows()}
    speedups = []
    for idx, r in df.iterrows():
        b = base.get(tuple(r[k] for k in SPEEDUP_KEY)) if ok[idx] else None
        speedups.append(b / r["p50_ms"] if b and r["p50_ms"] > 0 else None)
    df["speedup"] = pd.to_numeric(pd.Series(speedups, index=df.index), errors="coerce")

    df["pareto"] = False
    df["pareto_energy"] = False
    front = front_scores(df)  # what each row competes with (too-few-to-rank ties)
    for _, group in df[ok].groupby(["target", "task"], sort=False):
        for column, x in (("pareto", "p50_ms"), ("pareto_energy", "mj_per_item")):
            pts = group[group["score"].notna() & group[x].notna()]
            if len(pts):
                mask = front_mask([(ranked(mt, sc), c) for mt, sc, c in zip(pts["metric"], front[pts.index], pts[x])])
                df.loc[pts.index[mask], column] = True
    df["_ok"] = df["status"] == "ok"
    df["_rank"] = [ranked(m, s) for m, s in zip(df["metric"], df["score"])]
    df = df.sort_values(
        ["target", "task", "_ok", "_rank", "p50_ms"],
        ascending=[True, True, False, False, True],
        na_position="last",
        kind="stable",
    )
    return df.drop(columns=["_ok", "_rank"]).reset_index(drop=True)


def front_scores(df):  # type: ignore[no-untyped-def]
    """The score each row competes with on the Pareto fronts: its own, except in a task scored on too
    few items to rank, where a difference from fp32 that is not significant counts as fp32's score."""
    scores = df["score"].copy()
    for (_target, _task), group in df.groupby(["target", "task"], sort=False):
        if not group["too_few_to_rank"].astype(bool).any():
            continue
        base = group[(group["family"] == "baseline") & group["score"].notna()]
        if base.empty:
            continue
        tie = group.index[group["delta_significant"].ne(True) & group["score"].notna()]
        scores[tie] = float(base["score"].max())
    return scores


def to_json_rows(df) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Rows as plain dicts with None for missing numbers (strict JSON, no NaN)."""
    import pandas as pd

    out = []
    for row in df[COLUMNS].to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if value is None or value is pd.NA or (isinstance(value, float) and value != value):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            clean[key] = value
        out.append(clean)
    return out
