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
from suite.records.paired import MIN_RANKED_ITEMS

#: (column, unit or type, meaning). Order is the CSV/JSON column order.
COLUMN_DOCS: list[tuple[str, str, str]] = [
    ("target", "str", "hardware profile the record was measured on"),
    ("task", "str", "task (model + dataset)"),
    ("method", "str", "quantization method (registry name)"),
    ("label", "str", "method, plus the parameters that tell apart several variants of it on this task"),
    ("family", "str", "method family: baseline, ptq, dynamic, qat, mixed, binary, ..."),
    (
        "toolkit",
        "str",
        "library that quantized (method.toolkit: onnxruntime, nncf, aimet-onnx, brevitas, torch, tensorflow, executorch, ...); a separate column from runtime",
    ),
    ("toolkit_version", "str", "its version when the job was planned (empty for records older than method.toolkit)"),
    ("params", "json", "the method's parameters, as recorded"),
    ("w_bits", "int", "weight bits of the artifact"),
    ("a_bits", "int", "activation bits of the artifact"),
    ("runtime", "str", "runtime that ran and timed the artifact (ort, litert, torch, ...)"),
    ("runtime_version", "str", "version of that runtime's package"),
    ("provider", "str", "execution provider / delegate actually used, read back after an inference"),
    ("fallback", "bool", "the runtime fell back from the requested provider (e.g. to CPU)"),
    ("threads", "int", "intra-op threads"),
    ("status", "str", "ok | failed | skipped"),
    ("error", "str", "one-line error of a failed or skipped job"),
    ("metric", "str", "the task's primary accuracy metric"),
    ("score", "fraction", "value of the primary metric, deployed (the sort key of the tables)"),
    ("top1", "fraction", "deployed top-1: measured through the runtime that is timed"),
    ("top5", "fraction", "deployed top-5 (where the task has it)"),
    ("n_eval", "int", "number of evaluated samples"),
    ("fp32_top1", "fraction", "top-1 of the fp32 artifact on the same runtime"),
    ("delta_top1", "fraction", "top1 - fp32_top1"),
    ("simulated_top1", "fraction", "fake-quant (simulated) top-1, where the method has one"),
    ("sim_to_real_gap", "fraction", "simulated_top1 - top1: what deployment lost against the simulation"),
    ("perplexity", "ratio", "language models: deployed perplexity of the held-out windows (lower is better)"),
    ("fp32_perplexity", "ratio", "perplexity of the fp32 artifact on the same runtime"),
    ("delta_perplexity", "ratio", "perplexity - fp32_perplexity (positive: worse)"),
    ("embedding_cosine", "ratio", "encoders: mean cosine of the method's sentence embeddings to fp32's"),
    (
        "p50_ms",
        "ms",
        "LoadGen SingleStream latency, 50th percentile (precision mode: of all runs' queries pooled; mlperf: median over runs)",
    ),
    ("p90_ms", "ms", "SingleStream 90th percentile"),
    ("p99_ms", "ms", "SingleStream 99th percentile"),
    ("p50_ms_min", "ms", "lowest per-run p50 (spread across runs)"),
    ("p50_ms_max", "ms", "highest per-run p50"),
    ("latency_cv", "ratio", "coefficient of variation of the per-run p50s"),
    ("latency_runs", "int", "SingleStream runs"),
    ("queries", "int", "SingleStream queries in the median run"),
    (
        "items_per_s",
        "items/s",
        "LoadGen Offline throughput (precision mode: all samples over all runs' LoadGen time; mlperf: median over runs)",
    ),
    ("items_per_s_min", "items/s", "lowest per-run throughput"),
    ("items_per_s_max", "items/s", "highest per-run throughput"),
    ("throughput_cv", "ratio", "coefficient of variation of the per-run throughputs"),
    ("throughput_runs", "int", "Offline runs"),
    ("batch_size", "int", "Offline batch size"),
    ("ttft_ms", "ms", "language models: time to first token for the task's fixed prompt (LoadGen, median over runs)"),
    ("tpot_ms", "ms", "language models: time per output token while decoding at batch 1 (LoadGen, median over runs)"),
    ("tokens_per_s", "tokens/s", "language models: decode rate at batch 1, 1000 / tpot_ms"),
    ("speedup", "x", "fp32 p50 / p50 on the same target, task, runtime, version, provider and timing mode"),
    ("power_status", "str", "measured | unavailable | needs_privilege"),
    ("power_reason", "str", "why power was not measured"),
    ("power_sensor", "str", "sensor that measured power"),
    (
        "power_boundary",
        "str",
        "what the sensor sees: wall, board_input, module_input, gpu_board, cpu_package, partial_rails",
    ),
    ("avg_w", "W", "average power over the timed window"),
    ("energy_j", "J", "energy over the timed window"),
    ("mj_per_item", "mJ", "energy per inference"),
    ("items_per_j", "items/J", "1000 / mj_per_item"),
    ("size_bytes", "bytes", "artifact file size"),
    ("compressed_size_bytes", "bytes", "artifact size after zlib -9 (or the method's theoretical size)"),
    ("peak_rss_mb", "MB", "peak resident memory of the measuring process during evaluation and timing (MiB)"),
    ("precision_map", "json", "nodes per precision, read from the artifact"),
    ("simulated", "bool", "no integer kernels here: accuracy is real, speed is not claimed"),
    ("unstable", "bool", "run-to-run CV above the profile's threshold"),
    ("valid", "bool", "LoadGen judged the runs valid (min duration and queries met)"),
    ("quick", "bool", "shortened --quick timing"),
    ("flags", "str", "comma-separated: simulated, unstable, invalid, quick, fallback, imprecise, too few to rank"),
    ("pareto", "bool", "on the accuracy / p50 latency front of its target and task"),
    ("pareto_energy", "bool", "on the accuracy / energy-per-item front (only where energy was measured)"),
    ("date", "date", "UTC date the record was written"),
    ("created_at", "datetime", "UTC time the record was written"),
    ("commit", "str", "git commit of the suite that measured (10 hex digits)"),
    ("dirty", "bool", "the suite's working tree had uncommitted changes"),
    ("cpu", "str", "CPU model of the machine that measured"),
    ("job_id", "str", "record id (file name under records/<target>/<task>/)"),
    (
        "latency_mode",
        "str",
        "precision (timed until the 95% intervals met the profile's goal) or mlperf (fixed counts, --mlperf)",
    ),
    (
        "p50_ci_lo_ms",
        "ms",
        "lower end of the 95% interval of p50_ms (order-statistic, over the pooled per-query latencies)",
    ),
    ("p50_ci_hi_ms", "ms", "upper end of that interval"),
    ("p50_ci_pct", "%", "half-width of that interval in % of p50_ms: the ± of the tables"),
    (
        "items_per_s_ci_lo",
        "items/s",
        "lower end of the 95% interval of items_per_s (batch means over the Offline runs' batches)",
    ),
    ("items_per_s_ci_hi", "items/s", "upper end of that interval"),
    ("items_per_s_ci_pct", "%", "half-width of that interval in % of items_per_s: the ± of the tables"),
    (
        "precision_met",
        "bool",
        "both intervals reached the profile's goal before its time bound (empty for mlperf rows)",
    ),
    ("top1_ci_lo", "fraction", "lower end of the Wilson 95% interval of top1"),
    ("top1_ci_hi", "fraction", "upper end of that interval"),
    ("mcnemar_p", "p-value", "exact McNemar test against fp32 on the same evaluated items (paired, two-sided)"),
    (
        "delta_significant",
        "bool",
        "mcnemar_p < 0.05: the accuracy difference from fp32 is more than chance; tables print n.s. otherwise",
    ),
    (
        "too_few_to_rank",
        "bool",
        "the task was scored on fewer than 200 items: accuracy ties unless significant, for the Pareto mark",
    ),
]
COLUMNS: list[str] = [name for name, _, _ in COLUMN_DOCS]
NUMERIC = {name for name, unit, _ in COLUMN_DOCS if unit not in ("str", "json", "bool", "date", "datetime")}
INTEGER = {name for name, unit, _ in COLUMN_DOCS if unit in ("int", "bytes")}
DEDUP_KEY = ["target", "task", "method", "params", "runtime", "runtime_version", "provider"]
SPEEDUP_KEY = ["target", "task", "runtime", "runtime_version", "provider", "quick"]
#: Metrics where a lower value is better (the tables sort and the Pareto fronts are drawn accordingly).
LOWER_IS_BETTER = {"perplexity"}


def ranked(metric: Any, score: Any) -> Any:
    """``score`` turned so that higher is better for every metric (for sorting and Pareto fronts)."""
    return -score if metric in LOWER_IS_BETTER else score


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _spread(values: Any) -> tuple[float | None, float | None]:
    nums = [float(v) for v in values or [] if _num(v) is not None]
    return (min(nums), max(nums)) if nums else (None, None)


def _interval(values: Any) -> tuple[float | None, float | None]:
    """``[lo, hi]`` of a record's interval key, or (None, None)."""
    if isinstance(values, (list, tuple)) and len(values) == 2 and all(_num(v) is not None for v in values):
        return float(values[0]), float(values[1])
    return None, None


def _precision_met(lat: dict[str, Any], thr: dict[str, Any]) -> bool | None:
    flags = [b.get("precision_met") for b in (lat, thr) if b.get("precision_met") is not None]
    return all(flags) if flags else None


def _toolkit(method: dict[str, Any]) -> dict[str, Any]:
    """``method.toolkit``, or for a record written before it existed the toolkit the method's registry
    entry names today (no version: it was not recorded)."""
    if method.get("toolkit"):
        return method["toolkit"]
    from suite.registry import methods

    try:
        name = methods.meta(str(method.get("name"))).get("toolkit")
    except Exception:  # an unknown or uninstalled plugin method: no toolkit to show
        name = None
    return {"name": name, "version": None}


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """The row of one record (every column except the derived label, speed-up and Pareto marks)."""
    acc = record.get("accuracy") or {}
    lat = record.get("latency") or {}
    thr = record.get("throughput") or {}
    pw = record.get("power") or {}
    art = record.get("artifact") or {}
    rt = record.get("runtime") or {}
    env = record.get("environment") or {}
    git = env.get("git") or {}
    method = record.get("method") or {}
    metric = acc.get("metric") or "top1"
    score = _num(acc.get(metric)) if _num(acc.get(metric)) is not None else _num(acc.get("top1"))
    top1, sim = _num(acc.get("top1")), _num(acc.get("simulated_top1"))
    p50_min, p50_max = _spread(lat.get("per_run_p50_ms"))
    ips_min, ips_max = _spread(thr.get("per_run_items_per_s"))
    mj = _num(pw.get("mj_per_item"))
    measured = pw.get("status") == "measured"
    p50_lo, p50_hi = _interval(lat.get("p50_ci_ms"))
    ips_lo, ips_hi = _interval(thr.get("ci"))
    top1_lo, top1_hi = _interval(acc.get("top1_ci"))
    paired = acc.get("vs_fp32") or {}
    precise = _precision_met(lat, thr)
    # items scored right or wrong (a perplexity is over tokens, not a count of right answers)
    too_few = acc.get("metric", "top1") == "top1" and isinstance(acc.get("n"), int) and 0 < acc["n"] < MIN_RANKED_ITEMS
    flags = [
        f
        for f in ("simulated", "unstable")
        if (f == "simulated" and art.get("simulated"))
        or (f == "unstable" and (lat.get("unstable") or thr.get("unstable")))
    ]
    valid = (bool(lat.get("valid", True)) and bool(thr.get("valid", True))) if (lat or thr) else None
    if valid is False:
        flags.append("invalid")
    if lat.get("quick") or thr.get("quick"):
        flags.append("quick")
    if rt.get("fallback"):
        flags.append("fallback")
    if precise is False:
        flags.append("imprecise")
    if too_few:
        flags.append("too few to rank")
    created = record.get("created_at") or ""
    return {
        "target": record["target"]["name"],
        "task": record["task"]["name"],
        "method": method.get("name"),
        "label": method.get("name"),
        "family": method.get("family"),
        "toolkit": _toolkit(method).get("name"),
        "toolkit_version": _toolkit(method).get("version"),
        "params": json.dumps(method.get("params") or {}, sort_keys=True),
        "w_bits": art.get("weight_bits"),
        "a_bits": art.get("activation_bits"),
        "runtime": rt.get("name"),
        "runtime_version": rt.get("version"),
        "provider": rt.get("provider") or rt.get("delegate"),
        "fallback": bool(rt.get("fallback")),
        "threads": rt.get("threads"),
        "status": record.get("status"),
        "error": record.get("error"),
        "metric": metric,
        "score": score,
        "top1": top1,
        "top5": _num(acc.get("top5")),
        "n_eval": acc.get("n"),
        "fp32_top1": _num(acc.get("fp32_top1")),
        "delta_top1": _num(acc.get("delta_top1")),
        "simulated_top1": sim,
        "sim_to_real_gap": (sim - top1) if sim is not None and top1 is not None else None,
        "perplexity": _num(acc.get("perplexity")),
        "fp32_perplexity": _num(acc.get("fp32_perplexity")),
        "delta_perplexity": _num(acc.get("delta_perplexity")),
        "embedding_cosine": _num(acc.get("embedding_cosine")),
        "p50_ms": _num(lat.get("p50_ms")),
        "p90_ms": _num(lat.get("p90_ms")),
        "p99_ms": _num(lat.get("p99_ms")),
        "p50_ms_min": p50_min,
        "p50_ms_max": p50_max,
        "latency_cv": _num(lat.get("cv")),
        "latency_runs": lat.get("runs"),
        "queries": lat.get("queries"),
        "items_per_s": _num(thr.get("items_per_s")),
        "items_per_s_min": ips_min,
        "items_per_s_max": ips_max,
        "throughput_cv": _num(thr.get("cv")),
        "throughput_runs": thr.get("runs"),
        "batch_size": thr.get("batch_size"),
        "ttft_ms": _num(lat.get("ttft_ms")),
        "tpot_ms": _num(lat.get("tpot_ms")),
        "tokens_per_s": _num(thr.get("tokens_per_s")),
        "speedup": None,
        "power_status": pw.get("status"),
        "power_reason": None if measured else (pw.get("reason") or pw.get("hint")),
        "power_sensor": pw.get("sensor"),
        "power_boundary": pw.get("boundary"),
        "avg_w": _num(pw.get("avg_w")) if measured else None,
        "energy_j": _num(pw.get("energy_j")) if measured else None,
        "mj_per_item": mj if measured else None,
        "items_per_j": (1000.0 / mj) if measured and mj else None,
        "size_bytes": art.get("size_bytes"),
        "compressed_size_bytes": art.get("compressed_size_bytes"),
        "peak_rss_mb": _num((record.get("memory") or {}).get("peak_rss_mb")),
        "precision_map": json.dumps(art.get("precision_map") or {}, sort_keys=True),
        "simulated": bool(art.get("simulated")),
        "unstable": bool(lat.get("unstable") or thr.get("unstable")),
        "valid": valid,
        "quick": bool(lat.get("quick") or thr.get("quick")),
        "flags": ",".join(flags),
        "pareto": False,
        "pareto_energy": False,
        "date": created[:10] or None,
        "created_at": created or None,
        "commit": (git.get("commit") or "")[:10] or None,
        "dirty": git.get("dirty"),
        "cpu": (env.get("cpu") or {}).get("model"),
        "job_id": record.get("job_id"),
        "latency_mode": lat.get("mode") or ("mlperf" if lat else None),
        "p50_ci_lo_ms": p50_lo,
        "p50_ci_hi_ms": p50_hi,
        "p50_ci_pct": _num(lat.get("ci_half_width_pct")),
        "items_per_s_ci_lo": ips_lo,
        "items_per_s_ci_hi": ips_hi,
        "items_per_s_ci_pct": _num(thr.get("ci_half_width_pct")),
        "precision_met": precise,
        "top1_ci_lo": top1_lo,
        "top1_ci_hi": top1_hi,
        "mcnemar_p": _num(paired.get("mcnemar_p")),
        "delta_significant": paired.get("significant") if isinstance(paired.get("significant"), bool) else None,
        "too_few_to_rank": too_few,
    }


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
            labels[df.index.get_loc(idx)] = (
                f"{df.at[idx, 'method']} [" + " ".join(f"{k}={p.get(k)}" for k in differing) + "]"
            )
    return labels


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

    ok = (df["status"] == "ok") & ~df["simulated"].astype(bool)
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
