"""Decode and first-token speed of LM artifacts relative to fp32, measured interleaved (robust to load).

    .venv/bin/python tools/lm_speed_ratios.py RESULTS_DIR TASK [--rounds 7] [--prompt 64] [--tokens 32]

Reads the task's ok records under ``RESULTS_DIR/records/*/TASK/``, loads every distinct artifact with
ONNX Runtime (CPU, one thread, the suite's session options), and times them in rounds: each round runs
one greedy generation (the record's prompt length and new tokens, EdgeQ's own loop from
suite/measure/lm_timing.py) per artifact, in a shuffled order, so that a slow spell of a shared
machine hits every artifact alike. It prints, per method, the median over rounds of its TTFT and
decode rate divided by fp32's in the same round. LoadGen's absolute numbers are in the records; this
is the ratio check for a machine that is not idle.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("task")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--prompt", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=32)
    args = parser.parse_args()

    from suite.config.schemas import RuntimeSpec
    from suite.measure.lm_eval import lm_interface
    from suite.measure.lm_timing import greedy
    from suite.runtimes.ort import OrtSession

    artifacts: dict[str, Path] = {}
    for file in sorted((args.results / "records").glob(f"*/{args.task}/*.json")):
        record = json.loads(file.read_text())
        if record["status"] != "ok" or not record.get("artifact"):
            continue
        params = {
            k: v
            for k, v in record["method"]["params"].items()
            if k in ("algorithm", "accuracy_level", "mode", "awq", "scale_estimation")
        }
        label = record["method"]["name"] + (
            "" if not params else " " + " ".join(f"{k}={v}" for k, v in sorted(params.items()))
        )
        path = Path(record["artifact"]["path"])
        if path.is_file():
            artifacts.setdefault(label, path)
    if "fp32" not in artifacts:
        print(f"no ok fp32 record with its artifact for {args.task} under {args.results}", file=sys.stderr)
        return 2
    sessions = {label: OrtSession(path, RuntimeSpec(name="ort", threads=1)) for label, path in artifacts.items()}
    prompt = (np.arange(args.prompt, dtype=np.int64)[None] * 31 + 7) % 1000
    ratios: dict[str, list[tuple[float, float]]] = {label: [] for label in sessions}
    for _ in range(args.rounds):
        order = list(sessions)
        random.shuffle(order)
        here: dict[str, tuple[float, float]] = {}
        for label in order:
            session = sessions[label]
            graph = lm_interface(session)
            marks: list[float] = []
            t0 = time.perf_counter()
            greedy(session, graph, prompt, args.tokens, on_first=lambda marks=marks: marks.append(time.perf_counter()))
            t1 = time.perf_counter()
            here[label] = (marks[0] - t0, (args.tokens - 1) / (t1 - marks[0]))
        for label, (ttft, rate) in here.items():
            ratios[label].append((here["fp32"][0] / ttft, rate / here["fp32"][1]))
    print(
        f"{args.task}: {args.rounds} interleaved rounds, prompt {args.prompt}, {args.tokens} new tokens, ORT CPU 1 thread"
    )
    print(f"{'method':55} {'TTFT speed-up':>14} {'decode tokens/s ratio':>22}")
    for label in sorted(ratios):
        ttft = float(np.median([r[0] for r in ratios[label]]))
        rate = float(np.median([r[1] for r in ratios[label]]))
        print(f"{label:55} {ttft:14.2f} {rate:22.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
