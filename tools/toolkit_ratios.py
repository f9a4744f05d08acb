"""Ratios the toolkit issue asks about, from a folder of records (no new measurement):

    .venv/bin/python tools/toolkit_ratios.py RESULTS_DIR/records [--task mnist5k-resnet]

Per target and task: ``qat`` against ``ptq-static`` on each runtime (p50 ratio, top-1 difference:
the goal is p50 <= 1.10x ptq-static's and no less accurate), then the cross-toolkit view (the best
int8 of each toolkit on each runtime, speed-up against fp32 on the same runtime) and, per toolkit, its
rows against ``ptq-static`` on the same runtime in top-1 (images/samples won or lost). Speed goals are
read from records here, never asserted in unit tests: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from suite.publish import toolkits  # noqa: E402
from suite.publish.rows import frame  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path, help="a records folder (results/records or a snapshot's records/)")
    parser.add_argument("--task", action="append", help="only these tasks (repeatable)")
    args = parser.parse_args()
    records = [json.loads(p.read_text()) for p in sorted(args.records.rglob("*.json"))]
    df = frame(records)
    if args.task:
        df = df[df["task"].isin(args.task)]
    ok = df[df["status"] == "ok"]
    for (target, task), group in ok.groupby(["target", "task"], sort=True):
        print(f"== {task} on {target}")
        for runtime, rows in group.groupby("runtime", sort=True):
            newest = rows.sort_values("created_at", ascending=False, kind="stable")  # the configuration measured last
            best = {
                m: newest[newest["method"] == m].iloc[0] for m in ("qat", "ptq-static") if (newest["method"] == m).any()
            }
            if len(best) == 2:
                q, p = best["qat"], best["ptq-static"]
                print(
                    f"  qat vs ptq-static on {runtime}: p50 {q['p50_ms']:.4f} / {p['p50_ms']:.4f} ms = {q['p50_ms'] / p['p50_ms']:.3f}x "
                    f"(goal <= 1.10x); top-1 {q['top1']:.4f} vs {p['top1']:.4f} ({(q['top1'] - p['top1']) * 100:+.2f} pts)"
                )
        for r in toolkits.rows(group):
            ptq = group[(group["method"] == "ptq-static") & (group["runtime"] == r["runtime"])]
            n = ptq["n_eval"].iloc[0] if len(ptq) else None
            vs = ""
            if len(ptq) and r["top1"] is not None and n:
                vs = f", {round((r['top1'] - float(ptq['top1'].iloc[0])) * int(n)):+d} samples vs ptq-static"
            speedup = f"{r['speedup']:.2f}x" if r["speedup"] is not None else "-"
            print(
                f"  {r['toolkit']:<12} {r['method']:<24} {r['runtime']:<10} top-1 {r['top1']:.4f} p50 {r['p50_ms']:.4f} ms speed-up {speedup}{vs}"
            )


if __name__ == "__main__":
    main()
