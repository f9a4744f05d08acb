"""The record's vocabulary, declared once: every field that leaves a record (a leaderboard column, an MLflow
metric or param) with where it sits in the record, its unit, what it means, whether lower is better, which
task kinds fill it, and how the human tables show it.

The leaderboard's columns and ``flatten`` (``suite.publish.rows``), the MLflow mapping
(``suite.tracking.mlflow``), the tables' kind-specific cells, ``docs/columns.md`` and the generated tables
of ``docs/record-schema.md`` (``python -m suite.records.docs``) are all read from ``FIELDS``. Adding a metric
is one ``Field`` here and the code that measures it. The order of ``FIELDS`` is the leaderboard's column
order, a contract like the record schema: a column is added at the end, never renamed, removed or moved.

Readers take a :class:`View` (the record's blocks, each ``{}`` when absent) and return the row's value;
numbers are plain floats (``None`` when missing or not a number), so every table reads the same value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from suite.records.paired import MIN_RANKED_ITEMS

#: The built-in task kinds (``suite.kinds``); a field's ``kinds`` names the ones whose records fill it.
CLASSIFIER, ENCODER, CAUSAL_LM = "classifier", "text-encoder", "causal-lm"
SCORED_BY_ITEMS = (CLASSIFIER, ENCODER)  # top-1 over items scored right or wrong
ALL_KINDS = (CLASSIFIER, ENCODER, CAUSAL_LM)

#: Units that are not numbers (every other unit is, and reads as a float or an int).
TEXT_UNITS = ("str", "json", "bool", "date", "datetime")
INTEGER_UNITS = ("int", "bytes", "MACs")

Reader = Callable[["View"], Any]

#: Where a record's Offline rate sits, by what its compute block counts per (``compute.per``): an item, or
#: a decoded token for a causal LM. The efficiency block (``suite.compute.efficiency``) reads it from here.
OFFLINE_RATE = {"item": "throughput.items_per_s", "token": "throughput.tokens_per_s"}


def number(value: Any) -> float | None:
    """``value`` as a float, or None for a missing value, a bool or anything that is not a number."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _spread(values: Any) -> tuple[float | None, float | None]:
    nums = [float(v) for v in values or [] if number(v) is not None]
    return (min(nums), max(nums)) if nums else (None, None)


def _interval(values: Any) -> tuple[float | None, float | None]:
    """``[lo, hi]`` of a record's interval key, or (None, None)."""
    if isinstance(values, (list, tuple)) and len(values) == 2 and all(number(v) is not None for v in values):
        return float(values[0]), float(values[1])
    return None, None


class View:
    """One record's blocks, read once for every field's reader."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.acc: dict[str, Any] = record.get("accuracy") or {}
        self.lat: dict[str, Any] = record.get("latency") or {}
        self.thr: dict[str, Any] = record.get("throughput") or {}
        self.pw: dict[str, Any] = record.get("power") or {}
        self.art: dict[str, Any] = record.get("artifact") or {}
        self.rt: dict[str, Any] = record.get("runtime") or {}
        self.env: dict[str, Any] = record.get("environment") or {}
        self.mem: dict[str, Any] = record.get("memory") or {}
        self.eff: dict[str, Any] = record.get("efficiency") or {}
        details = self.art.get("details") or {}
        # the top-level block, else the one stored with the artifact (records written before it was carried up)
        work = record.get("compute") or details.get("work")
        self.compute: dict[str, Any] = work if isinstance(work, dict) else {}
        weights = details.get("weights")
        self.weights: dict[str, Any] = weights if isinstance(weights, dict) else {}
        self.method: dict[str, Any] = record.get("method") or {}
        self.params: dict[str, Any] = self.method.get("params") or {}

    def get(self, path: str) -> Any:
        """The value at ``block.key`` (``None`` when a block or key is absent)."""
        value: Any = self.record
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    @property
    def metric(self) -> str:
        return self.acc.get("metric") or "top1"

    @property
    def measured(self) -> bool:
        return self.pw.get("status") == "measured"

    @property
    def emulated(self) -> str | None:
        """The emulator that ran the timing (``environment.emulated``), or None on real hardware."""
        return self.env.get("emulated") or None

    @property
    def precision_met(self) -> bool | None:
        flags = [b.get("precision_met") for b in (self.lat, self.thr) if b.get("precision_met") is not None]
        return all(flags) if flags else None

    @property
    def valid(self) -> bool | None:
        if not (self.lat or self.thr):
            return None
        return bool(self.lat.get("valid", True)) and bool(self.thr.get("valid", True))

    @property
    def too_few(self) -> bool:
        # items scored right or wrong (a metric over tokens is not a count of right answers)
        n = self.acc.get("n")
        return scored_by_items(self.acc.get("metric", "top1")) and isinstance(n, int) and 0 < n < MIN_RANKED_ITEMS

    @property
    def unstable(self) -> bool:
        return bool(self.lat.get("unstable") or self.thr.get("unstable"))

    @property
    def quick(self) -> bool:
        return bool(self.lat.get("quick") or self.thr.get("quick"))

    @cached_property
    def toolkit(self) -> dict[str, Any]:
        """``method.toolkit``, or for a record written before it existed the toolkit the method's registry
        entry names today (no version: it was not recorded)."""
        if self.method.get("toolkit"):
            recorded: dict[str, Any] = self.method["toolkit"]
            return recorded
        from suite.registry import methods

        try:
            name = methods.meta(str(self.method.get("name"))).get("toolkit")
        except Exception:  # an unknown or uninstalled plugin method: no toolkit to show
            name = None
        return {"name": name, "version": None}

    @property
    def flags(self) -> str:
        flags = [f for f, on in (("simulated", self.art.get("simulated")), ("unstable", self.unstable)) if on]
        flags += [
            f
            for f, on in (
                ("invalid", self.valid is False),
                ("quick", self.quick),
                ("fallback", self.rt.get("fallback")),
                ("imprecise", self.precision_met is False),
                ("too few to rank", self.too_few),
                ("bits above label", self.weights.get("overstated") is True),
                ("emulated", self.emulated),
            )
            if on
        ]
        return ",".join(flags)


def num(path: str) -> Reader:
    """Reader of the number at ``block.key``."""
    return lambda v: number(v.get(path))


def raw(path: str) -> Reader:
    """Reader of the value at ``block.key`` as recorded."""
    return lambda v: v.get(path)


def when_measured(path: str) -> Reader:
    """A power number only when power was measured (a window that failed leaves nothing to show)."""
    return lambda v: number(v.get(path)) if v.measured else None


@dataclass(frozen=True)
class Field:
    """One field that leaves the record.

    ``column``: its leaderboard column (None: MLflow only); ``path``: where it sits in the record
    (``block.key``; a derived column names what it is derived from); ``read``: how the row's value is
    computed (default: the number, or for a text unit the value, at ``path``); ``metric``/``param``: its
    MLflow name, logged from ``mlflow`` when given, else from the row's value; ``timing``: derived from the
    timed window (blank for a record measured under emulation: its timing is the emulator's, not the
    board's); ``header``/``short``/``abbrev`` and ``spec``: how the Markdown tables, the HTML page and the
    terminal tables head and format it, for the kind-specific columns those tables take from here.
    """

    column: str | None
    unit: str
    doc: str
    path: str | None = None
    read: Reader | None = None
    metric: str | None = None
    param: str | None = None
    mlflow: Reader | None = None
    lower_is_better: bool = False
    kinds: tuple[str, ...] = ALL_KINDS
    timing: bool = False
    header: str | None = None
    short: str | None = None
    abbrev: str | None = None
    spec: str | None = None
    compare: bool = False  # `edgeq compare` reports B's change against A in % (a timing figure)
    items: str | None = None  # an accuracy metric: what its ``accuracy.n`` counts, when not samples
    # A bool column that says whether this figure's difference from fp32 is real; the tables print "n.s."
    # after the figure where it is False (a Δ whose paired test or interval does not establish it).
    significance: str | None = None

    @property
    def name(self) -> str:
        return self.column or self.metric or self.param or str(self.path)

    @property
    def numeric(self) -> bool:
        return self.unit not in TEXT_UNITS

    @property
    def integer(self) -> bool:
        return self.unit in INTEGER_UNITS

    @property
    def block(self) -> str | None:
        return self.path.split(".", 1)[0] if self.path else None

    def value(self, view: View) -> Any:
        if self.read is not None:
            return self.read(view)
        if self.path is None:
            return None
        return number(view.get(self.path)) if self.numeric and not self.integer else view.get(self.path)

    def cell(self, row: Any) -> str:
        """This column of a leaderboard row, formatted as the tables show it (an en dash when missing)."""
        value = row[self.column]
        try:
            if value is None or value != value:
                return "–"
        except (TypeError, ValueError):  # pandas.NA
            return "–"
        text = format(float(value), self.spec or "")
        if self.significance and _is_false(row[self.significance]):
            text += " n.s."
        return text


def _is_false(value: Any) -> bool:
    """A bool cell that is False (not missing: a record without a test says nothing)."""
    return type(value).__name__ in ("bool", "bool_") and not value  # Python's or numpy's bool


def _toolkit_param(v: View) -> Any:
    return (v.method.get("toolkit") or {}).get("name")


def _granularity(v: View) -> Any:
    if "per_channel" not in v.params:
        return None
    return "per_channel" if v.params.get("per_channel") else "per_tensor"


def _score(v: View) -> float | None:
    own = number(v.acc.get(v.metric))
    return own if own is not None else number(v.acc.get("top1"))


def _gap(v: View) -> float | None:
    sim, top1 = number(v.acc.get("simulated_top1")), number(v.acc.get("top1"))
    return (sim - top1) if sim is not None and top1 is not None else None


def _items_per_j(v: View) -> float | None:
    mj = number(v.pw.get("mj_per_item"))
    return (1000.0 / mj) if v.measured and mj else None


def _mlflow_items_per_j(v: View) -> float | None:
    return (1000.0 / v.pw["mj_per_item"]) if v.pw.get("mj_per_item") else None


def _size_mb(v: View) -> float | None:
    return (v.art["size_bytes"] / 1e6) if v.art.get("size_bytes") else None


#: The one unit every human-facing size is shown in (tables, plots, the sweep summary, MLflow's
#: ``model/size_kib``): KiB, 1024 bytes, because file sizes are multiples of disk blocks and the tools
#: people check them with (``ls -lh``, ``du``) count in powers of two. ``model/size_mb`` (10^6 bytes) stays
#: for the MLflow contract; every other size goes through :func:`size_in_unit` / :func:`size_text`.
SIZE_UNIT = "KiB"
SIZE_UNIT_BYTES = 1024
SIZE_SPEC = ",.1f"


def size_in_unit(size_bytes: Any) -> float | None:
    """A byte count in :data:`SIZE_UNIT` (None when it is not a positive number)."""
    value = number(size_bytes)
    return value / SIZE_UNIT_BYTES if value else None


def size_text(size_bytes: Any) -> str:
    """A byte count as the tables show it, without the unit (the header names it): 46587 -> '45.5'."""
    value = size_in_unit(size_bytes)
    return "–" if value is None else format(value, SIZE_SPEC)


def _size_kib(v: View) -> float | None:
    return size_in_unit(v.art.get("size_bytes"))


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _giga(value: Any) -> float | None:
    ops = number(value)
    return ops / 1e9 if ops is not None else None


def _pct(value: Any) -> float | None:
    share = number(value)
    return share * 100.0 if share is not None else None


def _significant(v: View) -> bool | None:
    value = (v.acc.get("vs_fp32") or {}).get("significant")
    return value if isinstance(value, bool) else None


def _speedup_vs_fp32(v: View, key: str, own: str) -> float | None:
    """The job's speed-up against its fp32 baseline (``diagnosis``); the baseline itself is 1 when timed.
    A simulated artifact has none: it claims no speed. Rounded to 3 decimals: MLflow's runs table shows
    a metric's digits as logged, and a speed-up is not measured to more."""
    if v.art.get("simulated"):
        return None
    if v.method.get("family") == "baseline":
        return 1.0 if number(v.lat.get(own) if own == "p50_ms" else v.thr.get(own)) else None
    value = number((v.record.get("diagnosis") or {}).get(key))
    return None if value is None else round(value, 3)


_LM, _ITEMS, _ENC = (CAUSAL_LM,), SCORED_BY_ITEMS, (ENCODER,)

FIELDS: list[Field] = [
    Field("target", "str", "hardware profile the record was measured on", "target.name", param="target"),
    Field("task", "str", "task (model + dataset)", "task.name"),
    Field("method", "str", "quantization method (registry name)", "method.name", param="method"),
    Field(
        "label", "str", "method, plus the parameters that tell apart several variants of it on this task", "method.name"
    ),
    Field(
        "family",
        "str",
        "method family: baseline, ptq, dynamic, qat, mixed, binary, ...",
        "method.family",
        param="family",
    ),
    Field(
        "toolkit",
        "str",
        "library that quantized (method.toolkit: onnxruntime, nncf, aimet-onnx, brevitas, torch, tensorflow, executorch, ...); a separate column from runtime",
        "method.toolkit.name",
        read=lambda v: v.toolkit.get("name"),
        param="toolkit",
        mlflow=_toolkit_param,
    ),
    Field(
        "toolkit_version",
        "str",
        "its version when the job was planned (empty for records older than method.toolkit)",
        "method.toolkit.version",
        read=lambda v: v.toolkit.get("version"),
        param="toolkit_version",
        mlflow=raw("method.toolkit.version"),
    ),
    Field(
        "params",
        "json",
        "the method's parameters, as recorded",
        "method.params",
        read=lambda v: json.dumps(v.params, sort_keys=True),
    ),
    Field("w_bits", "int", "weight bits of the artifact", "artifact.weight_bits", param="w_bits"),
    Field("a_bits", "int", "activation bits of the artifact", "artifact.activation_bits", param="a_bits"),
    Field(
        "runtime",
        "str",
        "runtime that ran and timed the artifact (ort, litert, torch, ...)",
        "runtime.name",
        param="runtime",
    ),
    Field("runtime_version", "str", "version of that runtime's package", "runtime.version"),
    Field(
        "provider",
        "str",
        "execution provider / delegate actually used, read back after an inference",
        "runtime.provider",
        read=lambda v: v.rt.get("provider") or v.rt.get("delegate"),
        param="provider",
        mlflow=raw("runtime.provider"),
    ),
    Field(
        "fallback",
        "bool",
        "the runtime fell back from the requested provider (e.g. to CPU)",
        "runtime.fallback",
        read=lambda v: bool(v.rt.get("fallback")),
    ),
    Field("threads", "int", "intra-op threads", "runtime.threads"),
    Field("status", "str", "ok | failed | skipped", "status"),
    Field("error", "str", "one-line error of a failed or skipped job", "error"),
    Field("metric", "str", "the task's primary accuracy metric", "accuracy.metric", read=lambda v: v.metric),
    Field(
        "score",
        "fraction",
        "value of the primary metric, deployed (the sort key of the tables)",
        "accuracy.<metric>",
        read=_score,
    ),
    Field(
        "top1",
        "fraction",
        "deployed top-1: measured through the runtime that is timed",
        "accuracy.top1",
        metric="acc/top1",
        kinds=_ITEMS,
    ),
    Field(
        "top5", "fraction", "deployed top-5 (where the task has it)", "accuracy.top5", metric="acc/top5", kinds=_ITEMS
    ),
    Field("n_eval", "int", "number of evaluated samples", "accuracy.n"),
    Field(
        "fp32_top1", "fraction", "top-1 of the fp32 artifact on the same runtime", "accuracy.fp32_top1", kinds=_ITEMS
    ),
    Field("delta_top1", "fraction", "top1 - fp32_top1", "accuracy.delta_top1", metric="acc/delta_top1", kinds=_ITEMS),
    Field(
        "simulated_top1",
        "fraction",
        "fake-quant (simulated) top-1, where the method has one",
        "accuracy.simulated_top1",
        metric="acc/simulated_top1",
        kinds=_ITEMS,
    ),
    Field(
        "sim_to_real_gap",
        "fraction",
        "simulated_top1 - top1: what deployment lost against the simulation",
        "accuracy.simulated_top1",
        read=_gap,
        kinds=_ITEMS,
    ),
    Field(
        "perplexity",
        "ratio",
        "language models: deployed perplexity of the held-out windows (lower is better)",
        "accuracy.perplexity",
        metric="acc/perplexity",
        lower_is_better=True,
        kinds=_LM,
        items="windows of held-out text",
        header="perplexity",
        abbrev="ppl",
        spec=".3f",
    ),
    Field(
        "fp32_perplexity",
        "ratio",
        "perplexity of the fp32 artifact on the same runtime",
        "accuracy.fp32_perplexity",
        kinds=_LM,
    ),
    Field(
        "delta_perplexity",
        "ratio",
        "perplexity - fp32_perplexity (positive: worse)",
        "accuracy.delta_perplexity",
        metric="acc/delta_perplexity",
        lower_is_better=True,
        kinds=_LM,
        header="Δ vs fp32",
        short="Δ ppl",
        spec="+.3f",
        significance="delta_significant",
    ),
    Field(
        "embedding_cosine",
        "ratio",
        "encoders: mean cosine of the method's sentence embeddings to fp32's",
        "accuracy.embedding_cosine",
        metric="acc/embedding_cosine",
        kinds=_ENC,
        header="emb. cosine vs fp32",
        short="emb. cosine",
        spec=".4f",
    ),
    Field(
        "p50_ms",
        "ms",
        "LoadGen SingleStream latency, 50th percentile (precision mode: of all runs' queries pooled; mlperf: median over runs)",
        "latency.p50_ms",
        metric="latency/p50_ms",
        lower_is_better=True,
        timing=True,
    ),
    Field(
        "p90_ms",
        "ms",
        "SingleStream 90th percentile",
        "latency.p90_ms",
        metric="latency/p90_ms",
        lower_is_better=True,
        timing=True,
    ),
    Field(
        "p99_ms",
        "ms",
        "SingleStream 99th percentile",
        "latency.p99_ms",
        metric="latency/p99_ms",
        lower_is_better=True,
        timing=True,
    ),
    Field(
        "p50_ms_min",
        "ms",
        "lowest per-run p50 (spread across runs)",
        "latency.per_run_p50_ms",
        read=lambda v: _spread(v.lat.get("per_run_p50_ms"))[0],
        timing=True,
    ),
    Field(
        "p50_ms_max",
        "ms",
        "highest per-run p50",
        "latency.per_run_p50_ms",
        read=lambda v: _spread(v.lat.get("per_run_p50_ms"))[1],
        timing=True,
    ),
    Field(
        "latency_cv",
        "ratio",
        "coefficient of variation of the per-run p50s",
        "latency.cv",
        metric="latency/cv",
        timing=True,
    ),
    Field("latency_runs", "int", "SingleStream runs", "latency.runs"),
    Field("queries", "int", "SingleStream queries in the median run", "latency.queries"),
    Field(
        "items_per_s",
        "items/s",
        "LoadGen Offline throughput (precision mode: all samples over all runs' LoadGen time; mlperf: median over runs)",
        "throughput.items_per_s",
        metric="throughput/items_per_s",
        timing=True,
    ),
    Field(
        "items_per_s_min",
        "items/s",
        "lowest per-run throughput",
        "throughput.per_run_items_per_s",
        read=lambda v: _spread(v.thr.get("per_run_items_per_s"))[0],
        timing=True,
    ),
    Field(
        "items_per_s_max",
        "items/s",
        "highest per-run throughput",
        "throughput.per_run_items_per_s",
        read=lambda v: _spread(v.thr.get("per_run_items_per_s"))[1],
        timing=True,
    ),
    Field(
        "throughput_cv", "ratio", "coefficient of variation of the per-run throughputs", "throughput.cv", timing=True
    ),
    Field("throughput_runs", "int", "Offline runs", "throughput.runs"),
    Field("batch_size", "int", "Offline batch size", "throughput.batch_size", param="batch_size"),
    Field(
        "ttft_ms",
        "ms",
        "language models: time to first token for the task's fixed prompt (LoadGen, median over runs)",
        "latency.ttft_ms",
        metric="latency/ttft_ms",
        lower_is_better=True,
        kinds=_LM,
        timing=True,
        header="TTFT ms",
        abbrev="TTFT",
        spec=".2f",
        compare=True,
    ),
    Field(
        "tpot_ms",
        "ms",
        "language models: time per output token while decoding at batch 1 (LoadGen, median over runs)",
        "latency.tpot_ms",
        metric="latency/tpot_ms",
        lower_is_better=True,
        kinds=_LM,
        timing=True,
    ),
    Field(
        "tokens_per_s",
        "tokens/s",
        "language models: decode rate at batch 1, 1000 / tpot_ms",
        "throughput.tokens_per_s",
        metric="throughput/tokens_per_s",
        kinds=_LM,
        timing=True,
        header="tokens/s",
        abbrev="tok/s",
        spec=",.1f",
        compare=True,
    ),
    Field(
        "speedup",
        "x",
        "fp32 p50 / p50 on the same target, task, runtime, version, provider and timing mode",
        None,
        read=lambda v: None,  # filled across rows (suite.publish.rows.frame)
        timing=True,
    ),
    Field("power_status", "str", "measured | unavailable | needs_privilege", "power.status"),
    Field(
        "power_reason",
        "str",
        "why power was not measured",
        "power.reason",
        read=lambda v: None if v.measured else (v.pw.get("reason") or v.pw.get("hint")),
    ),
    Field("power_sensor", "str", "sensor that measured power", "power.sensor"),
    Field(
        "power_boundary",
        "str",
        "what the sensor sees: wall, board_input, module_input, gpu_board, cpu_package, partial_rails",
        "power.boundary",
    ),
    Field(
        "avg_w",
        "W",
        "average power over the timed window",
        "power.avg_w",
        read=when_measured("power.avg_w"),
        metric="power/avg_w",
        mlflow=raw("power.avg_w"),
        lower_is_better=True,
        timing=True,
    ),
    Field(
        "energy_j",
        "J",
        "energy over the timed window",
        "power.energy_j",
        read=when_measured("power.energy_j"),
        timing=True,
    ),
    Field(
        "mj_per_item",
        "mJ",
        "energy per inference",
        "power.mj_per_item",
        read=when_measured("power.mj_per_item"),
        metric="energy/mj_per_item",
        mlflow=raw("power.mj_per_item"),
        lower_is_better=True,
        timing=True,
    ),
    Field(
        "items_per_j",
        "items/J",
        "1000 / mj_per_item",
        "power.mj_per_item",
        read=_items_per_j,
        metric="efficiency/items_per_j",
        mlflow=_mlflow_items_per_j,
        timing=True,
    ),
    Field(
        "size_bytes",
        "bytes",
        "artifact file size",
        "artifact.size_bytes",
        metric="model/size_mb",
        mlflow=_size_mb,
        lower_is_better=True,
    ),
    Field(
        None,
        SIZE_UNIT,
        f"artifact file size in {SIZE_UNIT} ({SIZE_UNIT_BYTES} bytes), the unit every table shows",
        "artifact.size_bytes",
        metric="model/size_kib",
        mlflow=_size_kib,
        lower_is_better=True,
    ),
    Field(
        "compressed_size_bytes",
        "bytes",
        "artifact size after zlib -9 (or the method's theoretical size)",
        "artifact.compressed_size_bytes",
        lower_is_better=True,
    ),
    Field(
        "peak_rss_mb",
        "MB",
        "peak resident memory of the measuring process during evaluation and timing (MiB)",
        "memory.peak_rss_mb",
        metric="memory/peak_rss_mb",
        lower_is_better=True,
        header="peak RSS MB",
        spec=",.0f",
    ),
    Field(
        "precision_map",
        "json",
        "nodes per precision, read from the artifact",
        "artifact.precision_map",
        read=lambda v: json.dumps(v.art.get("precision_map") or {}, sort_keys=True),
    ),
    Field(
        "simulated",
        "bool",
        "no integer kernels here: accuracy is real, speed is not claimed",
        "artifact.simulated",
        read=lambda v: bool(v.art.get("simulated")),
    ),
    Field(
        "unstable", "bool", "run-to-run CV above the profile's threshold", "latency.unstable", read=lambda v: v.unstable
    ),
    Field(
        "valid",
        "bool",
        "LoadGen judged the runs valid (min duration and queries met)",
        "latency.valid",
        read=lambda v: v.valid,
    ),
    Field("quick", "bool", "shortened --quick timing", "latency.quick", read=lambda v: v.quick),
    Field(
        "flags",
        "str",
        "comma-separated: simulated, unstable, invalid, quick, fallback, imprecise, too few to rank, emulated, bits above label",
        None,
        read=lambda v: v.flags,
    ),
    Field("pareto", "bool", "on the accuracy / p50 latency front of its target and task", None, read=lambda v: False),
    Field(
        "pareto_energy",
        "bool",
        "on the accuracy / energy-per-item front (only where energy was measured)",
        None,
        read=lambda v: False,
    ),
    Field(
        "date",
        "date",
        "UTC date the record was written",
        "created_at",
        read=lambda v: (v.get("created_at") or "")[:10] or None,
    ),
    Field(
        "created_at",
        "datetime",
        "UTC time the record was written",
        "created_at",
        read=lambda v: v.get("created_at") or None,
    ),
    Field(
        "commit",
        "str",
        "git commit of the suite that measured (10 hex digits)",
        "environment.git.commit",
        read=lambda v: (v.get("environment.git.commit") or "")[:10] or None,
    ),
    Field("dirty", "bool", "the suite's working tree had uncommitted changes", "environment.git.dirty"),
    Field("cpu", "str", "CPU model of the machine that measured", "environment.cpu.model"),
    Field("job_id", "str", "record id (file name under records/<target>/<task>/)", "job_id"),
    Field(
        "latency_mode",
        "str",
        "precision (timed until the 95% intervals met the profile's goal) or mlperf (fixed counts, --mlperf)",
        "latency.mode",
        read=lambda v: v.lat.get("mode") or ("mlperf" if v.lat else None),
    ),
    Field(
        "p50_ci_lo_ms",
        "ms",
        "lower end of the 95% interval of p50_ms (order-statistic, over the pooled per-query latencies)",
        "latency.p50_ci_ms",
        read=lambda v: _interval(v.lat.get("p50_ci_ms"))[0],
        metric="latency/p50_ci_lo_ms",
        timing=True,
    ),
    Field(
        "p50_ci_hi_ms",
        "ms",
        "upper end of that interval",
        "latency.p50_ci_ms",
        read=lambda v: _interval(v.lat.get("p50_ci_ms"))[1],
        metric="latency/p50_ci_hi_ms",
        timing=True,
    ),
    Field(
        "p50_ci_pct",
        "%",
        "half-width of that interval in % of p50_ms: the ± of the tables",
        "latency.ci_half_width_pct",
        timing=True,
    ),
    Field(
        "items_per_s_ci_lo",
        "items/s",
        "lower end of the 95% interval of items_per_s (batch means over the Offline runs' batches)",
        "throughput.ci",
        read=lambda v: _interval(v.thr.get("ci"))[0],
        metric="throughput/ci_lo",
        timing=True,
    ),
    Field(
        "items_per_s_ci_hi",
        "items/s",
        "upper end of that interval",
        "throughput.ci",
        read=lambda v: _interval(v.thr.get("ci"))[1],
        metric="throughput/ci_hi",
        timing=True,
    ),
    Field(
        "items_per_s_ci_pct",
        "%",
        "half-width of that interval in % of items_per_s: the ± of the tables",
        "throughput.ci_half_width_pct",
        timing=True,
    ),
    Field(
        "precision_met",
        "bool",
        "both intervals reached the profile's goal before its time bound (empty for mlperf rows)",
        "latency.precision_met",
        read=lambda v: v.precision_met,
    ),
    Field(
        "top1_ci_lo",
        "fraction",
        "lower end of the Wilson 95% interval of top1",
        "accuracy.top1_ci",
        read=lambda v: _interval(v.acc.get("top1_ci"))[0],
        metric="acc/top1_ci_lo",
        kinds=_ITEMS,
    ),
    Field(
        "top1_ci_hi",
        "fraction",
        "upper end of that interval",
        "accuracy.top1_ci",
        read=lambda v: _interval(v.acc.get("top1_ci"))[1],
        metric="acc/top1_ci_hi",
        kinds=_ITEMS,
    ),
    Field(
        "mcnemar_p",
        "p-value",
        "exact McNemar test against fp32 on the same evaluated items (paired, two-sided)",
        "accuracy.vs_fp32.mcnemar_p",
        metric="acc/mcnemar_p",
        kinds=_ITEMS,
    ),
    Field(
        "delta_significant",
        "bool",
        "mcnemar_p < 0.05 (causal LMs: the paired 95% interval of delta_perplexity excludes 0): the accuracy "
        "difference from fp32 is more than chance; tables print n.s. otherwise",
        "accuracy.vs_fp32.significant",
        read=_significant,
        kinds=ALL_KINDS,
    ),
    Field(
        "too_few_to_rank",
        "bool",
        f"the task was scored on fewer than {MIN_RANKED_ITEMS} items: accuracy ties unless significant, for the Pareto mark",
        "accuracy.n",
        read=lambda v: v.too_few,
        kinds=_ITEMS,
    ),
    Field(
        "emulated",
        "str",
        "the emulator the record was timed under (e.g. qemu-aarch64); its timing, power and speed-up are blank",
        "environment.emulated",
        read=lambda v: v.emulated,
    ),
    # Work per item and efficiency (docs/compute.md): appended after every column above, as the contract says.
    Field(
        "macs_per_item",
        "MACs",
        "multiply-accumulates of one item counted from the artifact's graph at the job's input shape "
        "(a causal LM: of one decoded token); empty when the graph could not be counted (compute.reason says why)",
        "compute.macs_per_item",
        read=lambda v: _count(v.compute.get("macs_per_item")),
        metric="compute/macs_per_item",
    ),
    Field(
        "gops",
        "GOPS",
        "achieved operations per second, Offline: 2 x macs_per_item x items_per_s (a causal LM: x tokens_per_s), / 1e9",
        "efficiency.achieved_ops_per_s_offline",
        read=lambda v: _giga(v.eff.get("achieved_ops_per_s_offline")),
        metric="efficiency/gops",
        timing=True,
        header="GOPS",
        spec=".3g",
    ),
    Field(
        "gops_single_stream",
        "GOPS",
        "achieved operations per second, SingleStream: 2 x macs_per_item x 1000 / p50_ms, / 1e9 (not for causal LMs)",
        "efficiency.achieved_ops_per_s_single_stream",
        read=lambda v: _giga(v.eff.get("achieved_ops_per_s_single_stream")),
        metric="efficiency/gops_single_stream",
        timing=True,
    ),
    Field(
        "pct_of_peak",
        "%",
        "gops as a share of the measuring machine's peak for the precision that ran (peak_gops), in %",
        "efficiency.share_of_peak_offline",
        read=lambda v: _pct(v.eff.get("share_of_peak_offline")),
        metric="efficiency/share_of_peak_pct",
        timing=True,
        header="% of peak",
        spec=".3g",
    ),
    Field(
        "peak_gops",
        "GOPS",
        "the peak pct_of_peak is set against: the profile's datasheet figure or the one derived from the CPU "
        "found, for the fastest precision that ran, scaled to the threads used (efficiency.peak_source says which)",
        "efficiency.peak_ops_per_s",
        read=lambda v: _giga(v.eff.get("peak_ops_per_s")),
    ),
    Field(
        "tops_per_w",
        "TOPS/W",
        "achieved Offline operations per joule / 1e12, where power was measured",
        "efficiency.tops_per_w",
        read=lambda v: number(v.eff.get("tops_per_w")) if v.measured else None,
        metric="efficiency/tops_per_w",
        timing=True,
    ),
    Field(
        "decode_pct_of_roofline",
        "%",
        "causal LMs: the measured decode rate as a share of the memory-bandwidth roofline "
        "(memory bandwidth / bytes moved per decoded token: weights + KV cache read), in %",
        "efficiency.decode_share_of_bandwidth_roofline",
        read=lambda v: _pct(v.eff.get("decode_share_of_bandwidth_roofline")),
        metric="efficiency/decode_share_of_roofline_pct",
        kinds=_LM,
        timing=True,
    ),
    # MLflow only: parameters that tell runs apart in MLflow's table (the leaderboard has them in `params`)
    Field(
        None,
        "str",
        "precisions of the compute nodes that ran",
        "runtime.inference_precision",
        param="inference_precision",
    ),
    Field(
        None,
        "str",
        "per_channel or per_tensor, from the method's per_channel parameter",
        "method.params.per_channel",
        read=_granularity,
        param="granularity",
    ),
    Field(
        None,
        "bool",
        "symmetric (activations) quantization, from the method's parameters",
        "method.params.symmetric",
        read=lambda v: v.params.get("symmetric_activations", v.params.get("symmetric")),
        param="symmetric",
    ),
    Field(
        None,
        "str",
        "calibration method, from the method's parameters",
        "method.params.calibration",
        param="calibration",
    ),
    Field(None, "str", "the LoadGen scenarios timed", None, read=lambda v: "single_stream+offline", param="scenario"),
    Field(None, "str", "precision or mlperf, as recorded", "latency.mode", param="timing_mode"),
    # The decision metrics of the MLflow comparison (MLflow only: the leaderboard has speedup, size_bytes...).
    Field(
        None,
        "x",
        "fp32 p50 / p50 against the fp32 job of the same sweep, task, target and runtime (1 for the baseline)",
        "diagnosis.speedup_p50",
        metric="speedup/p50",
        mlflow=lambda v: _speedup_vs_fp32(v, "speedup_p50", "p50_ms"),
        timing=True,
    ),
    Field(
        None,
        "x",
        "items/s / fp32 items/s (Offline), against the same fp32 job (1 for the baseline)",
        "diagnosis.speedup_items_per_s",
        metric="speedup/items_per_s",
        mlflow=lambda v: _speedup_vs_fp32(v, "speedup_items_per_s", "items_per_s"),
        timing=True,
    ),
    Field(
        None,
        "0/1",
        "1 when delta_top1 is significant (McNemar p < 0.05 against fp32 on the same items; causal LMs: the "
        "paired interval of delta_perplexity excludes 0), 0 when not",
        "accuracy.vs_fp32.significant",
        metric="acc/delta_significant",
        mlflow=lambda v: None if _significant(v) is None else float(_significant(v) or 0),
        kinds=ALL_KINDS,
    ),
    Field(
        None,
        "us",
        "SingleStream p50 in microseconds, to the ns (MLflow's compare page rounds to 3 decimals: ms hid microsecond models)",
        "latency.p50_ms",
        metric="latency/p50_us",
        mlflow=lambda v: round(v.lat["p50_ms"] * 1000.0, 3) if number(v.lat.get("p50_ms")) is not None else None,
        timing=True,
    ),
    # Logit fidelity of causal LMs against the task's fp32 reference (accuracy.fidelity, suite.measure.lm_fidelity)
    Field(
        "kld_mean",
        "nats",
        "causal LMs: mean KL divergence of the next-token distribution from the fp32 reference's over the "
        "scored tokens (a lower bound: the reference keeps its top-k tokens and their tail, fidelity.reference)",
        "accuracy.fidelity.kld_mean",
        metric="acc/kld_mean",
        lower_is_better=True,
        kinds=_LM,
        header="KLD",
        spec=".3g",
    ),
    Field(
        "kld_ci_lo",
        "nats",
        "lower end of kld_mean's 95% interval (percentile bootstrap over windows)",
        "accuracy.fidelity.kld_mean_ci",
        read=lambda v: _interval((v.acc.get("fidelity") or {}).get("kld_mean_ci"))[0],
        kinds=_LM,
    ),
    Field(
        "kld_ci_hi",
        "nats",
        "upper end of kld_mean's 95% interval",
        "accuracy.fidelity.kld_mean_ci",
        read=lambda v: _interval((v.acc.get("fidelity") or {}).get("kld_mean_ci"))[1],
        kinds=_LM,
    ),
    Field(
        "kld_median",
        "nats",
        "median per-token KL divergence from the fp32 reference",
        "accuracy.fidelity.kld_median",
        metric="acc/kld_median",
        lower_is_better=True,
        kinds=_LM,
    ),
    Field(
        "kld_p99",
        "nats",
        "99th percentile of the per-token KL divergence from the fp32 reference",
        "accuracy.fidelity.kld_p99",
        metric="acc/kld_p99",
        lower_is_better=True,
        kinds=_LM,
    ),
    Field(
        "top1_agreement",
        "fraction",
        "causal LMs: share of scored positions whose most likely next token is the fp32 reference's",
        "accuracy.fidelity.top1_agreement",
        metric="acc/top1_agreement",
        kinds=_LM,
        header="top-1 agree",
        spec=".4f",
    ),
    Field(
        "delta_p_mean",
        "fraction",
        "mean of p(true next token) - fp32 reference's p(true next token) (llama.cpp's delta-p; negative: worse)",
        "accuracy.fidelity.delta_p_mean",
        metric="acc/delta_p_mean",
        kinds=_LM,
    ),
    Field(
        "delta_ci_lo",
        "ratio",
        "lower end of the paired 95% interval of the accuracy difference from fp32 (causal LMs: of "
        "delta_perplexity, per-window NLL of both on the same tokens, bootstrapped over windows)",
        "accuracy.vs_fp32.delta_perplexity_ci",
        read=lambda v: _interval((v.acc.get("vs_fp32") or {}).get("delta_perplexity_ci"))[0],
        kinds=_LM,
    ),
    Field(
        "delta_ci_hi",
        "ratio",
        "upper end of that interval",
        "accuracy.vs_fp32.delta_perplexity_ci",
        read=lambda v: _interval((v.acc.get("vs_fp32") or {}).get("delta_perplexity_ci"))[1],
        kinds=_LM,
    ),
    # True bits per weight of the artifact as stored (artifact.details.weights, suite.compute.weights)
    Field(
        "bits_per_weight",
        "bits",
        "storage bits of the artifact's weight tensors (matrix products, convolutions, embeddings) with their "
        "scales, zero points and block metadata, per logical weight, read from the file",
        "artifact.details.weights.bits_per_weight",
        read=lambda v: number(v.weights.get("bits_per_weight")),
        metric="model/bits_per_weight",
        lower_is_better=True,
    ),
    Field(
        "nominal_bits_per_weight",
        "bits",
        "what the method's label promises per weight (fp32 32, int8 8, int4 4; a GGUF type's block bits, Q4_K 4.5)",
        "artifact.details.weights.nominal_bits",
        read=lambda v: number(v.weights.get("nominal_bits")),
    ),
    Field(
        "bits_overstated",
        "bool",
        "bits_per_weight exceeds the nominal bits by more than 0.25: the label overstates the compression "
        "(flag bits above label; artifact.details.weights.higher_precision names the tensors kept wider and why)",
        "artifact.details.weights.overstated",
        read=lambda v: v.weights.get("overstated") if isinstance(v.weights.get("overstated"), bool) else None,
    ),
    Field(
        "higher_precision_weights",
        "int",
        "weights stored wider than the nominal bits (embedding, LM head, shape fallbacks, skipped layers)",
        "artifact.details.weights.higher_precision_weights",
        read=lambda v: _count(v.weights.get("higher_precision_weights")),
    ),
]

#: The MLflow metrics that decide between methods, in the order MLflow's views show them: speed-up and
#: delta first (the first screen of the sweep's link), then the job's own figures.
MLFLOW_DECISION: tuple[str, ...] = (
    "speedup/p50",
    "acc/delta_top1",
    "acc/delta_significant",
    "acc/delta_perplexity",
    "speedup/items_per_s",
    "latency/p50_us",
    "model/size_kib",
    "acc/top1",
    "acc/perplexity",
)

COLUMN_FIELDS: list[Field] = [f for f in FIELDS if f.column]
BY_COLUMN: dict[str, Field] = {f.column: f for f in COLUMN_FIELDS if f.column}
#: The accuracy metrics a record's ``accuracy.metric`` may name, by name (their field).
_FIELD_OF_METRIC: dict[str, Field] = {f.column: f for f in COLUMN_FIELDS if f.block == "accuracy" and f.column}


#: Accuracy metrics of one task kind other than top-1 (perplexity): `edgeq compare` shows A, B and B - A.
OWN_METRICS: list[Field] = [f for f in COLUMN_FIELDS if f.block == "accuracy" and f.abbrev]
#: Timing figures of one task kind that `edgeq compare` reports as B's change against A.
COMPARED: list[Field] = [f for f in COLUMN_FIELDS if f.compare]


def lower_is_better(metric: Any) -> bool:
    """Is a lower value of ``metric`` (a column name) better? (tables' sort order, Pareto fronts)"""
    field = BY_COLUMN.get(str(metric))
    return bool(field and field.lower_is_better)


def ranked(metric: Any, score: Any) -> Any:
    """``score`` turned so that higher is better for every metric (for sorting and Pareto fronts)."""
    return -score if lower_is_better(metric) else score


def scored_by_items(metric: Any) -> bool:
    """Is ``metric`` a share of items scored right or wrong (so a count of items says if it can rank)?"""
    field = _FIELD_OF_METRIC.get(str(metric))
    return bool(field and field.kinds == SCORED_BY_ITEMS)


def evaluated_items(metric: Any) -> str:
    """What ``accuracy.n`` counts for ``metric`` (samples, or e.g. windows of held-out text)."""
    field = _FIELD_OF_METRIC.get(str(metric))
    return (field.items if field else None) or "samples"


def kind_of_metric(metric: Any) -> str | None:
    """The one task kind whose records carry ``metric``, or None when several kinds share it (top-1)."""
    field = _FIELD_OF_METRIC.get(str(metric))
    return field.kinds[0] if field and len(field.kinds) == 1 else None


def shown_for(kind: str) -> list[Field]:
    """The columns only ``kind`` fills that the human tables show (perplexity, token timing, cosine...), its
    accuracy figures first (a causal LM's KLD beside its perplexity, though declared after the timing)."""
    own = [f for f in COLUMN_FIELDS if f.header and f.kinds == (kind,)]
    return sorted(own, key=lambda f: f.block != "accuracy")


def row(record: dict[str, Any]) -> dict[str, Any]:
    """The leaderboard row of one record (derived label, speed-up and Pareto marks are filled later). A
    record timed under emulation keeps its accuracy, size and provenance; its timing columns are blank."""
    view = View(record)
    blank = view.emulated is not None
    return {f.column: None if blank and f.timing else f.value(view) for f in COLUMN_FIELDS if f.column}


def mlflow_params(record: dict[str, Any]) -> dict[str, str]:
    """MLflow params of a record, plus every method parameter prefixed ``param.``, as strings."""
    view = View(record)
    values = {f.param: (f.mlflow or f.value)(view) for f in FIELDS if f.param}
    for key, value in view.params.items():  # every method parameter, prefixed, so nothing is hidden
        values.setdefault(f"param.{key}", value)
    return {k: str(v) for k, v in values.items() if v is not None}


def mlflow_metrics(record: dict[str, Any]) -> dict[str, float]:
    """MLflow metrics of a record (timing left out for a record timed under emulation)."""
    view = View(record)
    blank = view.emulated is not None
    values = {f.metric: (f.mlflow or f.value)(view) for f in FIELDS if f.metric and not (blank and f.timing)}
    return {k: float(v) for k, v in values.items() if v is not None}
