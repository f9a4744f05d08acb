"""How much KL divergence the stored top-K + tail reference loses against the full-vocabulary KL, measured.

    .venv/bin/python tools/lm_reference_bound.py RESULTS_DIR TASK [--k 8 16 32 64 128]

Reads the task's ok ONNX Runtime records under ``RESULTS_DIR/records/*/TASK/`` (the fp32 record and every
other method), rebuilds the task's eval windows (the cache under ``RESULTS_DIR``), runs every window through
fp32 and each method with EdgeQ's own perplexity loop, and prints per method and K: the mean full KL, the
mean top-K + tail KL (``suite.measure.lm_fidelity``, what records carry), their difference and the largest
per-token shortfall. Only for vocabularies small enough to hold one window's full log-probs (gpt-tiny-wiki:
4096); the record's bound is the figure this prints for its K.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


class Collect:
    """Keeps each window's scored log-probs (one window at a time is enough: the loop runs in order)."""

    def __init__(self) -> None:
        self.windows: list[np.ndarray] = []

    def add(self, logp: np.ndarray, true_ids: np.ndarray, nll: np.ndarray) -> None:
        self.windows.append(logp.astype(np.float32))  # float32 keeps one model's 16k x 4096 under 300 MB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("task")
    parser.add_argument("--k", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    args = parser.parse_args()
    os.environ["EDGEQ_RESULTS_DIR"] = str(args.results.resolve())

    from suite.config import load_task
    from suite.config.schemas import RuntimeSpec
    from suite.job.build import task_state
    from suite.measure import lm_fidelity
    from suite.measure.lm_eval import perplexity
    from suite.registry import runtimes

    records = [json.loads(p.read_text()) for p in sorted(args.results.glob(f"records/*/{args.task}/*.json"))]
    records = [r for r in records if r.get("status") == "ok" and r["runtime"]["name"] == "ort"]
    task_file = REPO / "tasks" / f"{args.task}.yaml"
    state = task_state(load_task(str(task_file)))
    x, first = state.splits.x_eval, state.splits.y_eval
    vocab = state.task.num_classes

    def logps(path: str) -> list[np.ndarray]:
        session = runtimes.get("ort")().load(Path(path), RuntimeSpec.model_validate({"name": "ort", "threads": 2}))
        seen = Collect()
        perplexity(session, x, first, vocab=vocab, observer=seen)
        return seen.windows

    fp32 = next(r for r in records if r["method"]["family"] == "baseline")
    ref = [w.astype(np.float64) for w in logps(fp32["artifact"]["path"])]
    print(f"{args.task}: {sum(len(w) for w in ref)} scored tokens, {len(ref)} windows, vocabulary {vocab}")
    for record in records:
        if record is fp32:
            continue
        job = [w.astype(np.float64) for w in logps(record["artifact"]["path"])]
        full = np.concatenate([lm_fidelity.kl_full(p, q) for p, q in zip(ref, job)])
        for k in args.k:
            coarse = []
            for p, q in zip(ref, job):
                ids, vals = lm_fidelity.top_k(p, k)
                r: Any = lm_fidelity.Reference(
                    ids, vals, lm_fidelity.log_rest(vals), np.zeros(len(p)), np.array([0, len(p)]), "", k, vocab, ""
                )
                coarse.append(lm_fidelity.kl_top_k(r, slice(0, len(p)), q))
            bound = np.concatenate(coarse)
            gap = full - bound
            print(
                f"  {record['method']['name']:>10} K={k:>4}: full KL mean {full.mean():.6f}, top-K+tail {bound.mean():.6f}, "
                f"shortfall {gap.mean():.6f} ({gap.mean() / full.mean() * 100:.2f}% of the mean), "
                f"per-token max {gap.max():.6f}, p99 full {np.percentile(full, 99):.5f} vs {np.percentile(bound, 99):.5f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
