"""``edgeq compare A B``: per-method deltas between two record sets, so a regression is one command.

A record set is a folder (a results root, a published snapshot, any folder of records) or the name of a
target with records in the current results root, optionally narrowed with ``#key=value,...``::

    edgeq compare results/published/2026-05-ort-1.31 results/published/2026-06-ort-1.32
    edgeq compare local-cpu jetson-orin-nano
    edgeq compare 'results#onnxruntime=1.31.0' 'results#onnxruntime=1.32.0'

Filter keys: ``target``, ``task``, ``method``, ``runtime``, ``version`` (the runtime's), ``provider``,
``commit`` (a prefix), and any package name recorded in ``environment.packages`` (``onnxruntime=1.32.0``).

Rows are paired by task, method and runtime, then by parameters (and provider where a side has several);
a method on both sides whose parameters differ is paired when it is the only row left on each side, and
either way the output says which parameters differ. Two sets that share no task are an error (exit 2). Latency changes are judged against the run-to-run spread the records
carry: "slower"/"faster" only when the two sides' per-run p50 ranges do not overlap, never on a single
number. Simulated methods' speed is not compared (it is not theirs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite.errors import BadInput
from suite.records.fields import COMPARED, OWN_METRICS

ROW_FILTERS = {
    "target": "target",
    "task": "task",
    "method": "method",
    "runtime": "runtime",
    "version": "runtime_version",
    "provider": "provider",
}


@dataclass
class RecordSet:
    """One side of a comparison: what was asked for, and the records it names."""

    spec: str
    records: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        targets = sorted({r["target"]["name"] for r in self.records})
        runtimes = sorted(
            {
                " ".join(
                    str(v) for v in ((r.get("runtime") or {}).get("name"), (r.get("runtime") or {}).get("version")) if v
                )
                for r in self.records
                if r.get("runtime")
            }
            - {""}
        )
        commits = sorted(
            {((r.get("environment") or {}).get("git") or {}).get("commit") or ""[:7] for r in self.records} - {""}
        )
        return (
            f"{self.spec}: {len(self.records)} record(s); targets {', '.join(targets)}; "
            f"runtimes {', '.join(runtimes) or '?'}; commits {', '.join(commits) or '?'}"
        )


def _parse_filters(text: str, spec: str) -> dict[str, str]:
    filters: dict[str, str] = {}
    for part in [p for p in text.split(",") if p.strip()]:
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise BadInput(f"{spec!r}: filter {part!r} is not key=value (e.g. onnxruntime=1.32.0, target=local-cpu)")
        filters[key.strip()] = value.strip()
    return filters


def _matches(record: dict[str, Any], filters: dict[str, str]) -> bool:
    from suite.publish.rows import flatten

    row = flatten(record)
    packages = (record.get("environment") or {}).get("packages") or {}
    for key, want in filters.items():
        if key == "commit":
            if not str(((record.get("environment") or {}).get("git") or {}).get("commit") or "").startswith(want):
                return False
        elif key in ROW_FILTERS:
            if str(row.get(ROW_FILTERS[key])) != want:
                return False
        elif str(packages.get(key)) != want:
            return False
    return True


def load_set(spec: str) -> RecordSet:
    """Resolve ``PATH[#filters]`` or ``TARGET[#filters]`` to its records (a one-line error otherwise)."""
    from suite.publish.leaderboard import records_from
    from suite.records.store import RecordStore

    base, _, filter_text = spec.partition("#")
    filters = _parse_filters(filter_text, spec)
    path = Path(base).expanduser()
    if base and path.exists():
        records = records_from(path)
    else:
        store = RecordStore()
        records = list(store.iter_records(base)) if base and "/" not in base and (store.root / base).is_dir() else []
        if not records:
            known = sorted(p.name for p in store.root.iterdir() if p.is_dir()) if store.root.is_dir() else []
            raise BadInput(
                f"{base!r} is neither a folder of records nor a target with records under {store.root}"
                + (f" (targets there: {', '.join(known)})" if known else "")
            )
    unknown = [
        k
        for k in filters
        if k not in ROW_FILTERS
        and k != "commit"
        and not any(k in ((r.get("environment") or {}).get("packages") or {}) for r in records)
    ]
    if unknown:
        raise BadInput(
            f"{spec!r}: unknown filter key(s) {', '.join(unknown)} (use {', '.join(sorted(ROW_FILTERS))}, commit, or a recorded package name)"
        )
    chosen = [r for r in records if _matches(r, filters)]
    if not chosen:
        raise BadInput(f"{spec!r}: none of its {len(records)} record(s) match {filter_text!r}")
    return RecordSet(spec=spec, records=chosen)


def _ranges_apart(a: Any, b: Any) -> int:
    """+1 if b's per-run p50 range lies wholly above a's, -1 wholly below, 0 if they overlap."""
    a_lo, a_hi = (
        (a["p50_ms_min"], a["p50_ms_max"]) if a["p50_ms_min"] == a["p50_ms_min"] else (a["p50_ms"], a["p50_ms"])
    )
    b_lo, b_hi = (
        (b["p50_ms_min"], b["p50_ms_max"]) if b["p50_ms_min"] == b["p50_ms_min"] else (b["p50_ms"], b["p50_ms"])
    )
    if b_lo > a_hi:
        return 1
    if b_hi < a_lo:
        return -1
    return 0


def _f(value: Any) -> float | None:
    from suite.publish.fmt import missing

    return None if missing(value) else float(value)


def _params(row: Any) -> dict[str, Any]:
    try:
        value = json.loads(row["params"]) if isinstance(row["params"], str) else {}
    except ValueError:
        value = {}
    return value if isinstance(value, dict) else {}


def params_differ(rows_a: list[Any], rows_b: list[Any]) -> str:
    """Which parameters tell one side's rows of a method from the other's: 'quantize_adds: True → False'
    (each side's values, in order, where a side has several rows)."""
    pa, pb = [_params(r) for r in rows_a], [_params(r) for r in rows_b]
    keys = sorted({k for p in pa + pb for k in p})
    parts = []
    for key in keys:
        va = sorted({json.dumps(p.get(key)) for p in pa})
        vb = sorted({json.dumps(p.get(key)) for p in pb})
        if va != vb:
            parts.append(f"{key}: {'/'.join(va)} → {'/'.join(vb)}".replace('"', ""))
    return "; ".join(parts)


def _pair_same_params(
    ga: Any, gb: Any, k: tuple[str, str, str], side_a: RecordSet, side_b: RecordSet
) -> tuple[list[tuple[Any, Any]], list[Any], list[Any]]:
    """Rows of one task, method and runtime with the same parameters on both sides, paired by provider
    where a side has several; the newest of several versions is compared (with a note)."""
    pairs: list[tuple[Any, Any]] = []
    left_a: list[Any] = []
    left_b: list[Any] = []
    for params, pa in ga.groupby("params", sort=False):
        pb = gb[gb["params"] == params]
        if pb.empty:
            left_a.extend(r for _, r in pa.iterrows())
            continue
        if len(pa) == 1 and len(pb) == 1:
            pairs.append((pa.iloc[0], pb.iloc[0]))
            continue
        for prov, sa in pa.groupby("provider", sort=False):
            sb = pb[pb["provider"] == prov]
            if sb.empty:
                left_a.extend(r for _, r in sa.iterrows())
                continue
            for side, rows in ((side_a, sa), (side_b, sb)):
                if len(rows) > 1:
                    side.notes.append(
                        f"{k[0]}/{k[1]} on {k[2]}: {len(rows)} rows (runtime versions {', '.join(map(str, rows['runtime_version']))}); the newest is compared, narrow with '#version=...'"
                    )
            pairs.append((sa.sort_values("created_at").iloc[-1], sb.sort_values("created_at").iloc[-1]))
        left_b.extend(r for _, r in pb.iterrows() if r["provider"] not in set(pa["provider"]))
    left_b.extend(r for _, r in gb.iterrows() if r["params"] not in set(ga["params"]))
    return pairs, left_a, left_b


def _pair_rows(df_a, df_b, side_a: RecordSet, side_b: RecordSet) -> tuple[list[tuple[Any, Any]], list[Any], list[Any]]:  # type: ignore[no-untyped-def]
    """Pairs by task, method and runtime. Rows of a method on both sides whose parameters differ are paired
    when they are the only ones left on each side (the row says which parameters differ), else listed as
    unpaired with a note naming the differing parameters."""
    key = ["task", "method", "runtime"]
    pairs: list[tuple[Any, Any]] = []
    only_a: list[Any] = []
    only_b: list[Any] = []
    groups_a = {k: g for k, g in df_a.groupby(key, sort=False)}
    groups_b = {k: g for k, g in df_b.groupby(key, sort=False)}
    for k in list(groups_a) + [k for k in groups_b if k not in groups_a]:
        ga, gb = groups_a.get(k), groups_b.get(k)
        if ga is None or gb is None:
            (only_a if gb is None else only_b).extend(r for _, r in (ga if gb is None else gb).iterrows())
            continue
        same, left_a, left_b = _pair_same_params(ga, gb, k, side_a, side_b)
        pairs += same
        if len(left_a) == 1 and len(left_b) == 1:
            pairs.append((left_a[0], left_b[0]))
        elif left_a and left_b:
            side_a.notes.append(
                f"{k[0]}/{k[1]} ({k[2]}) is on both sides but not paired: parameters differ "
                f"({params_differ(left_a, left_b)})"
            )
            only_a += left_a
            only_b += left_b
        else:
            only_a += left_a
            only_b += left_b
    return pairs, only_a, only_b


def _runtime(row: Any) -> str:
    """'ort 1.32.0', the name alone when no version was recorded."""
    from suite.publish.fmt import runtime

    return runtime(row)


def compare(a: RecordSet, b: RecordSet) -> dict[str, Any]:
    """Per-method deltas of B against A, as plain data (rendered by ``render``; ``--format json`` prints it)."""
    from suite.publish.leaderboard import require_track_extra
    from suite.publish.rows import frame

    require_track_extra("edgeq compare")
    df_a, df_b = frame(a.records), frame(b.records)
    for df in (df_a, df_b):  # "" rather than None, so rows without a provider still pair
        df["provider"] = df["provider"].fillna("")
        df["runtime"] = df["runtime"].fillna("")
    tasks_a, tasks_b = set(df_a["task"]), set(df_b["task"])
    if not tasks_a & tasks_b:
        raise BadInput(
            f"{a.spec!r} and {b.spec!r} share no task (A: {', '.join(sorted(tasks_a))}; B: {', '.join(sorted(tasks_b))}): "
            "nothing to compare"
        )
    pairs, only_a, only_b = _pair_rows(df_a, df_b, a, b)
    rows = []
    for ra, rb in pairs:
        p50_a, p50_b = _f(ra["p50_ms"]), _f(rb["p50_ms"])
        timed = not ra["simulated"] and not rb["simulated"] and ra["status"] == rb["status"] == "ok" and p50_a and p50_b
        latency = "not compared (simulated)" if ra["simulated"] or rb["simulated"] else "–"
        if timed:
            latency = {1: "slower", -1: "faster", 0: "within run spread"}[_ranges_apart(ra, rb)]
        top1_a, top1_b = _f(ra["top1"]), _f(rb["top1"])
        ips_a, ips_b = _f(ra["items_per_s"]), _f(rb["items_per_s"])
        mj_a, mj_b = _f(ra["mj_per_item"]), _f(rb["mj_per_item"])
        size_a, size_b = _f(ra["size_bytes"]), _f(rb["size_bytes"])
        row = {
            "task": ra["task"],
            "method": ra["label"],
            "runtime_a": _runtime(ra),
            "runtime_b": _runtime(rb),
            "target_a": ra["target"],
            "target_b": rb["target"],
            "status_a": ra["status"],
            "status_b": rb["status"],
            "top1_a": top1_a,
            "top1_b": top1_b,
            "delta_top1_pts": (top1_b - top1_a) * 100 if top1_a is not None and top1_b is not None else None,
            "p50_ms_a": p50_a if timed else None,
            "p50_ms_b": p50_b if timed else None,
            "p50_change_pct": (p50_b / p50_a - 1) * 100 if timed else None,
            "latency": latency,
            "items_per_s_change_pct": (ips_b / ips_a - 1) * 100 if timed and ips_a and ips_b else None,
            "mj_per_item_a": mj_a,
            "mj_per_item_b": mj_b,
            "mj_per_item_change_pct": (mj_b / mj_a - 1) * 100 if mj_a and mj_b else None,
            "size_change_pct": (size_b / size_a - 1) * 100 if size_a and size_b else None,
            "metric": ra["metric"],
        }
        # a kind's own metric (declared in suite.records.fields): A, B and B - A; its timing figures' changes
        for decl in OWN_METRICS:
            own_a, own_b = _f(ra[decl.column]), _f(rb[decl.column])
            row[f"{decl.column}_a"], row[f"{decl.column}_b"] = own_a, own_b
            row[f"delta_{decl.column}"] = own_b - own_a if own_a is not None and own_b is not None else None
        for decl in COMPARED:
            fig_a, fig_b = _f(ra[decl.column]), _f(rb[decl.column])
            row[f"{decl.column}_change_pct"] = (fig_b / fig_a - 1) * 100 if timed and fig_a and fig_b else None
        row["params_differ"] = params_differ([ra], [rb]) or None  # last: the CSV's columns are only appended
        rows.append(row)
    mixed = sorted({str(ra["label"]) for ra, rb in pairs if bool(ra["quick"]) != bool(rb["quick"])})
    if mixed:
        a.notes.append(
            f"timing modes differ (--quick on one side only) for {', '.join(mixed)}: their latency is not like for like"
        )
    a.notes.extend(same_artifact_agreement(a.records, b.records))
    return {
        "a": a.describe(),
        "b": b.describe(),
        "notes": a.notes + b.notes,
        "rows": rows,
        "only_a": [f"{r['task']}/{r['label']} ({_runtime(r)})" for r in only_a],
        "only_b": [f"{r['task']}/{r['label']} ({_runtime(r)})" for r in only_b],
    }


def same_artifact_agreement(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[str]:
    """Notes on the artifacts both sides measured (same artifact sha256, same evaluated labels): do the
    two machines get the same items right? Compared item by item on the packed correctness bits the
    records carry, so an emulated Arm board and x86 (or two runtime builds) are shown to agree exactly,
    or by how many items they differ, whatever their timing."""
    from suite.records.paired import decode_correct

    def key(record: dict[str, Any]) -> tuple[Any, Any] | None:
        sha = (record.get("artifact") or {}).get("sha256")
        labels = (record.get("accuracy") or {}).get("labels_sha256")
        return (sha, labels) if record.get("status") == "ok" and sha and labels else None

    by_key = {key(r): r for r in b if key(r) is not None}
    same, differing = 0, []
    for ra in a:
        rb = by_key.get(key(ra)) if key(ra) is not None else None
        if rb is None:
            continue
        bits_a, bits_b = decode_correct(ra["accuracy"].get("correct")), decode_correct(rb["accuracy"].get("correct"))
        if bits_a is None or bits_b is None or bits_a.size != bits_b.size:
            continue
        differ = int((bits_a != bits_b).sum())
        if differ:
            differing.append(f"{ra['task']['name']}/{ra['method']['name']}: {differ} of {bits_a.size} items differ")
        else:
            same += 1
    if not same and not differing:
        return []
    emulated = sorted(
        {
            f"{side} emulated ({(r.get('environment') or {}).get('emulated')})"
            for side, records in (("A", a), ("B", b))
            for r in records
            if (r.get("environment") or {}).get("emulated")
        }
    )
    head = f"same artifacts on both sides{' (' + ', '.join(emulated) + ')' if emulated else ''}: "
    head += f"{same} of {same + len(differing)} score identically item by item"
    return [head + (f"; {'; '.join(differing)}" if differing else "")]


def _n(value: Any, spec: str, suffix: str = "") -> str:
    return "–" if value is None else f"{format(value, spec)}{suffix}"


def _named(rows: list[dict[str, Any]]) -> str:
    """' (digits-cnn: fp32, ptq-static; mnist: qat)', or '' for no rows: the summary names each task."""
    by_task: dict[str, list[str]] = {}
    for r in rows:
        by_task.setdefault(str(r["task"]), []).append(str(r["method"]))
    if not rows:
        return ""
    return " (" + "; ".join(f"{task}: {', '.join(methods)}" for task, methods in by_task.items()) + ")"


def render(result: dict[str, Any], fmt: str = "table") -> str:
    """The comparison as a text table (default), CSV or JSON."""
    rows = result["rows"]
    if fmt == "json":
        return json.dumps(result, indent=1)
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        fields = list(rows[0]) if rows else ["task", "method"]
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    if fmt != "table":
        raise BadInput(f"--format: got {fmt!r}, expected table, csv or json")
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="B against A, per method", title_justify="left")
    own = [f for f in OWN_METRICS if any(r.get("metric") == f.column for r in rows)]
    figures = [f for f in COMPARED if any(set(f.kinds) & set(o.kinds) for o in own)]
    extra = [*(f"{f.abbrev} {side}" for f in own for side in "AB"), *(f"{f.abbrev} Δ" for f in figures)]
    for col in (
        "task",
        "method",
        "runtime A → B",
        "top-1 A %",
        "top-1 B %",
        "Δ pts",
        *extra,
        "p50 A ms",
        "p50 B ms",
        "p50 Δ",
        "latency",
        "items/s Δ",
        "mJ/item Δ",
        "size Δ",
    ):
        table.add_column(col, justify="left" if col in ("task", "method", "runtime A → B", "latency") else "right")
    for r in rows:
        runtime = r["runtime_a"] if r["runtime_a"] == r["runtime_b"] else f"{r['runtime_a']} → {r['runtime_b']}"
        if r["target_a"] != r["target_b"]:
            runtime += f" ({r['target_a']} → {r['target_b']})"
        if r.get("params_differ"):
            runtime += f" [{r['params_differ']}]"
        own_cells = [
            *(_n(r[f"{f.column}_{side.lower()}"], f.spec or "") for f in own for side in "AB"),
            *(_n(r[f"{f.column}_change_pct"], "+.1f", "%") for f in figures),
        ]
        table.add_row(  # escaped: a label's "[per_channel=True]" is text, not rich markup
            escape(str(r["task"])),
            escape(str(r["method"])),
            escape(runtime),
            _n(r["top1_a"] * 100 if r["top1_a"] is not None else None, ".2f")
            if r["status_a"] == "ok"
            else r["status_a"],
            _n(r["top1_b"] * 100 if r["top1_b"] is not None else None, ".2f")
            if r["status_b"] == "ok"
            else r["status_b"],
            _n(r["delta_top1_pts"], "+.2f"),
            *own_cells,
            _n(r["p50_ms_a"], ".4f"),
            _n(r["p50_ms_b"], ".4f"),
            _n(r["p50_change_pct"], "+.1f", "%"),
            r["latency"],
            _n(r["items_per_s_change_pct"], "+.1f", "%"),
            _n(r["mj_per_item_change_pct"], "+.1f", "%"),
            _n(r["size_change_pct"], "+.1f", "%"),
        )
    console = Console(width=200, highlight=False, record=True, force_terminal=False, color_system=None)
    with console.capture() as capture:
        console.print(escape(f"A = {result['a']}"))
        console.print(escape(f"B = {result['b']}"))
        console.print(table)
        for note in result["notes"]:
            console.print(f"note: {escape(note)}")
        if result["only_a"]:
            console.print("only in A: " + escape(", ".join(result["only_a"])))
        if result["only_b"]:
            console.print("only in B: " + escape(", ".join(result["only_b"])))
        slower = [r for r in rows if r["latency"] == "slower"]
        faster = [r for r in rows if r["latency"] == "faster"]
        acc = [
            r
            for r in rows
            if r["delta_top1_pts"] not in (None, 0.0)
            or any(r.get(f"delta_{f.column}") not in (None, 0.0) for f in OWN_METRICS)
        ]
        console.print(
            escape(
                f"{len(rows)} method(s) compared: {len(slower)} slower beyond the run spread{_named(slower)}"
                + f", {len(faster)} faster{_named(faster)}"
                + f", accuracy changed for {len(acc)}{_named(acc)}."
            )
        )
    return "\n".join(line.rstrip() for line in capture.get().splitlines()) + "\n"
