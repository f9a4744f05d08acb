"""Reading LoadGen's own log files: the detail log's results and the trace log's per-query latencies.

- ``mlperf_log_detail.txt`` holds one ``:::MLLOG {json}`` line per logged value (settings, results,
  warnings); ``read_mllog`` returns them as ``key -> value`` (last value wins).
- ``mlperf_log_trace.json`` (written when ``LogSettings.enable_trace`` is on) holds a Chrome-trace
  event per sample: the ``"Sample"`` begin event carries ``complete_ns``, the sample's latency from
  its scheduled start to its completion, the very number LoadGen's percentiles are computed from
  (checked: the nearest-rank p50/p90/p99 of these equal ``result_*_percentile_latency_ns``). The
  file as a whole is not strict JSON in every LoadGen version (some ``args`` keys are written with
  doubled quotes), so it is read line by line and only the sample lines are parsed.

The precision-driven timing pools these latencies over several LoadGen runs to put a confidence
interval on the p50 (``suite.measure.precision``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DETAIL = "mlperf_log_detail.txt"
_SEQ = re.compile(r'"query_seq":(\d+)')
_COMPLETE = re.compile(r'"complete_ns":(\d+)')
TRACE = "mlperf_log_trace.json"


def read_mllog(path: Path) -> dict[str, Any]:
    """The ``key -> value`` pairs of a LoadGen detail log (last value wins)."""
    values: dict[str, Any] = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(":::MLLOG "):
            try:
                entry = json.loads(line[len(":::MLLOG ") :])
            except ValueError:
                continue
            values[entry.get("key")] = entry.get("value")
    return values


def read_trace_latencies(path: Path) -> list[int]:
    """Per-sample latencies (ns) from a LoadGen trace log, in query order (``query_seq``).

    Raises ``ValueError`` naming the file when it holds no sample events (tracing was off, or the
    run was cut short before LoadGen wrote it).
    """
    samples: list[tuple[int, int]] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith('{"name":"Sample"') or '"ph":"b"' not in line:
                continue
            # Two fields by pattern, not a JSON parse of every line: 10,000 queries a run, and
            # json.loads made reading a fifth of a short run's wall time. A line the pattern does not fit
            # is parsed as JSON.
            seq, done = _SEQ.search(line), _COMPLETE.search(line)
            if seq and done:
                samples.append((int(seq.group(1)), int(done.group(1))))
                continue
            try:
                event = json.loads(line.rstrip().rstrip(","))
                args = event["args"]
                samples.append((int(args.get("query_seq", args.get("sample_seq", 0))), int(args["complete_ns"])))
            except (ValueError, KeyError, TypeError):
                continue
    if not samples:
        raise ValueError(f"{path}: no per-sample events in the LoadGen trace log")
    samples.sort()
    return [latency for _, latency in samples]
