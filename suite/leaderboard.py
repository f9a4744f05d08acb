"""Records -> pandas -> leaderboard tables (Markdown README + CSV) per target, and published snapshots.

Speed-up is computed only against the fp32 row of the same task, target and runtime, and never for a
simulated artifact (its speed is not the method's). Power shows "not measured: <reason>" when no
sensor measured it: an empty cell would read as zero.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterable

from suite.records import RecordStore, atomic_write_json, load_record

COLUMNS = [
    "task", "method", "family", "w_bits", "a_bits", "runtime", "runtime_version", "provider", "status",
    "top1", "top5", "fp32_top1", "delta_top1", "simulated_top1", "p50_ms", "p90_ms", "p99_ms", "latency_cv",
    "items_per_s", "speedup", "power_status", "avg_w", "mj_per_item", "size_bytes", "compressed_size_bytes",
    "precision_map", "simulated", "unstable", "valid", "quick", "target", "job_id", "created_at", "commit", "error",
]  # fmt: skip


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    acc = record.get("accuracy") or {}
    lat = record.get("latency") or {}
    thr = record.get("throughput") or {}
    pw = record.get("power") or {}
    art = record.get("artifact") or {}
    rt = record.get("runtime") or {}
    env = record.get("environment") or {}
    return {
        "task": record["task"]["name"],
        "method": record["method"]["name"],
        "family": record["method"].get("family"),
        "w_bits": art.get("weight_bits"),
        "a_bits": art.get("activation_bits"),
        "runtime": rt.get("name"),
        "runtime_version": rt.get("version"),
        "provider": rt.get("provider"),
        "status": record["status"],
        "top1": acc.get("top1"),
        "top5": acc.get("top5"),
        "fp32_top1": acc.get("fp32_top1"),
        "delta_top1": acc.get("delta_top1"),
        "simulated_top1": acc.get("simulated_top1"),
        "p50_ms": lat.get("p50_ms"),
        "p90_ms": lat.get("p90_ms"),
        "p99_ms": lat.get("p99_ms"),
        "latency_cv": lat.get("cv"),
        "items_per_s": thr.get("items_per_s"),
        "speedup": None,
        "power_status": pw.get("status"),
        "power_reason": pw.get("reason"),
        "avg_w": pw.get("avg_w"),
        "mj_per_item": pw.get("mj_per_item"),
        "size_bytes": art.get("size_bytes"),
        "compressed_size_bytes": art.get("compressed_size_bytes"),
        "precision_map": json.dumps(art.get("precision_map") or {}, sort_keys=True),
        "simulated": bool(art.get("simulated")),
        "unstable": bool(lat.get("unstable") or thr.get("unstable")),
        "valid": bool(lat.get("valid", True) and thr.get("valid", True)) if lat else None,
        "quick": bool(lat.get("quick")),
        "target": record["target"]["name"],
        "job_id": record["job_id"],
        "created_at": record.get("created_at"),
        "commit": ((env.get("git") or {}).get("commit") or "")[:10] or None,
        "error": record.get("error"),
    }


def frame(records: Iterable[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """One row per record, newest record per (target, task, method, params, runtime) kept."""
    import pandas as pd

    rows = [flatten(r) for r in records]
    df = pd.DataFrame(rows, columns=COLUMNS + ["power_reason"])
    if df.empty:
        return df
    df = df.sort_values("created_at").drop_duplicates(["target", "task", "job_id"], keep="last")
    fp32 = df[(df["method"] == "fp32") & (df["status"] == "ok")].set_index(["target", "task", "runtime"])["p50_ms"]
    fp32 = fp32[~fp32.index.duplicated(keep="last")]

    def speedup(row) -> float | None:  # type: ignore[no-untyped-def]
        if row["status"] != "ok" or row["simulated"] or row["p50_ms"] is None:
            return None
        base = fp32.get((row["target"], row["task"], row["runtime"]))
        return float(base / row["p50_ms"]) if base and row["p50_ms"] else None

    df["speedup"] = df.apply(speedup, axis=1)
    return df.reset_index(drop=True)


def _fmt(value: Any, spec: str) -> str:
    if value is None or value != value:  # None or NaN
        return "–"
    return format(value, spec)


def markdown_table(df) -> str:  # type: ignore[no-untyped-def]
    header = ["method", "family", "W/A", "runtime", "provider", "top-1", "top-5", "Δ vs fp32", "p50 ms", "p90 ms",
              "items/s", "speed-up", "power", "size KB", "flags"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in df.iterrows():
        if r["status"] != "ok":
            lines.append(f"| {r['method']} | {r['family']} | | {r['runtime']} | | **{r['status']}**: {r['error'] or ''} |" + " |" * 9)
            continue
        flags = [f for f in ("simulated", "unstable", "quick") if r[f]]
        if r["valid"] is False:
            flags.append("invalid")
        power = (
            f"{_fmt(r['avg_w'], '.2f')} W, {_fmt(r['mj_per_item'], '.3f')} mJ/item"
            if r["power_status"] == "measured"
            else f"not measured: {r['power_status']}"
        )
        speed = "not claimed" if r["simulated"] else (_fmt(r["speedup"], ".2f") + "x" if r["speedup"] else "–")
        delta = "–" if r["delta_top1"] is None or r["delta_top1"] != r["delta_top1"] else f"{r['delta_top1'] * 100:+.2f}"
        lines.append(
            "| "
            + " | ".join(
                [
                    str(r["method"]), str(r["family"]), f"{_fmt(r['w_bits'], '.0f')}/{_fmt(r['a_bits'], '.0f')}",
                    f"{r['runtime']} {r['runtime_version'] or ''}".strip(), str(r["provider"] or "–"),
                    _fmt(r["top1"] * 100 if r["top1"] is not None else None, ".2f"),
                    _fmt(r["top5"] * 100 if r["top5"] is not None else None, ".2f"), delta,
                    _fmt(r["p50_ms"], ".4f"), _fmt(r["p90_ms"], ".4f"), _fmt(r["items_per_s"], ",.0f"), speed,
                    power, _fmt(r["size_bytes"] / 1024 if r["size_bytes"] else None, ".1f"), ", ".join(flags),
                ]
            )  # fmt: skip
            + " |"
        )
    return "\n".join(lines)


def write_leaderboard(records: list[dict[str, Any]], target: str, out_dir: Path) -> list[Path]:
    """``README.md`` (one table per task, best top-1 first) and ``leaderboard.csv`` for one target."""
    df = frame(r for r in records if r["target"]["name"] == target)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "leaderboard.csv"
    df.drop(columns=["power_reason"], errors="ignore").to_csv(csv_path, index=False)
    env = next((r.get("environment") for r in records if r.get("environment")), None) or {}
    cpu = env.get("cpu") or {}
    lines = [
        f"# EdgeQ leaderboard: {target}",
        "",
        f"Measured on: {cpu.get('model') or 'unknown CPU'} ({cpu.get('cores')} cores; flags: {', '.join(cpu.get('flags') or []) or 'none read'}), "
        f"{env.get('os') or ''}, kernel {env.get('kernel') or '?'}.",
        "Accuracy is deployed accuracy through the timed runtime. Latency: LoadGen SingleStream p50/p90 (median of runs); "
        "throughput: LoadGen Offline. Speed-up is against fp32 on the same runtime and never claimed for simulated methods.",
        "",
    ]
    for task, group in df.groupby("task", sort=True):
        group = group.sort_values(["status", "top1"], ascending=[False, False], na_position="last")
        lines += [f"## {task}", "", markdown_table(group), ""]
        reasons = sorted({r for r in group["power_reason"].dropna() if r})
        if reasons:
            lines += [f"Power not measured: {'; '.join(reasons)}", ""]
    readme = out_dir / "README.md"
    readme.write_text("\n".join(lines), encoding="utf-8")
    return [readme, csv_path]


def publish(store: RecordStore, targets: list[str] | None, out_root: Path) -> list[Path]:
    records = list(store.iter_records())
    names = targets or sorted({r["target"]["name"] for r in records})
    written: list[Path] = []
    for target in names:
        written += write_leaderboard(records, target, out_root / target)
    return written


def snapshot(store: RecordStore, targets: list[str] | None, dest: Path) -> list[Path]:
    """A self-contained published snapshot: tables plus the very records they were built from."""
    records = [r for r in store.iter_records() if not targets or r["target"]["name"] in targets]
    if dest.exists():
        shutil.rmtree(dest)
    for record in records:
        atomic_write_json(dest / "records" / record["target"]["name"] / record["task"]["name"] / f"{record['job_id']}.json", record)
    written: list[Path] = []
    for target in sorted({r["target"]["name"] for r in records}):
        written += write_leaderboard(records, target, dest / target)
    return written


def records_from(folder: Path) -> list[dict[str, Any]]:
    """Records under any folder (a results root, a snapshot): for rebuilding tables from a snapshot."""
    return [load_record(p) for p in sorted(folder.rglob("*.json")) if not p.name.startswith(".") and p.parent.name != "leaderboard"]
