"""The record schema ``edgeq.record/1`` as one pydantic model, shared by the writer and every reader.

docs/record-schema.md is the contract; this module is its checkable part. It types the contract keys
(● there) and their ranges: fractions in 0..1, counts and times not negative, no NaN or infinity, a
``status`` among ok/failed/skipped, plain names where a name becomes a path (``task.name``,
``target.name``, ``job_id``). Everything else is allowed through untouched (``extra="allow"`` at
every level), because the schema's rule is that keys are added freely; the keys that open issues add
(``method.toolkit``, ``latency.mode``, ``accuracy.vs_fp32``, ``memory``...) are typed here already,
optional, so records that carry them are checked too.

Validation is strict: a string is not a number, ``1`` is not ``true``. Only the check is used; a
record stays the plain dict it was read as (validated models are not written back, so a record is
never rewritten by being read).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

SCHEMA = "edgeq.record/1"


class _Open(BaseModel):
    """Typed where the contract says, open to every other key."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


def _ordered(value: list[float]) -> list[float]:
    if value[0] > value[1]:
        raise ValueError("an interval [lo, hi] with lo <= hi")
    return value


Fraction = Annotated[float, Field(ge=0, le=1)]
Signed = Annotated[float, Field(ge=-1, le=1)]  # a difference of fractions, a cosine
Number = Annotated[float, Field(ge=0)]  # times, rates, sizes, energies: never negative
Count = Annotated[int, Field(ge=0)]
Bits = Annotated[int, Field(ge=0, le=64)]
# A name that becomes a folder or file name under records/: no separator, no leading dot, not empty.
PlainName = Annotated[str, Field(pattern=r"^[^/\\\x00.][^/\\\x00]*$", max_length=255)]
Interval = Annotated[list[float], Field(min_length=2, max_length=2), AfterValidator(_ordered)]
FractionInterval = Annotated[list[Fraction], Field(min_length=2, max_length=2), AfterValidator(_ordered)]


class Task(_Open):
    name: PlainName
    file_sha256: str | None = None
    limit: Annotated[int, Field(ge=1)] | None = None
    weights_sha256: str | None = None
    dataset: dict[str, Any] | None = None
    model: dict[str, Any] | None = None


class Toolkit(_Open):
    name: str
    version: str | None = None


class Method(_Open):
    name: Annotated[str, Field(min_length=1)]
    family: str | None = None
    params: dict[str, Any] | None = None
    toolkit: Toolkit | None = None


class Target(_Open):
    name: PlainName
    matched: bool | None = None
    override: bool | None = None


class Runtime(_Open):
    name: Annotated[str, Field(min_length=1)]
    version: str | None = None
    provider: str | None = None
    providers_requested: list[str] | None = None
    fallback: bool | None = None
    threads: Count | None = None
    delegate: str | None = None
    providers_session: list[str] | None = None
    providers_missing: list[str] | None = None
    placement: dict[str, Any] | None = None
    inference_precision: str | None = None


class Artifact(_Open):
    format: str | None = None
    path: str | None = None
    sha256: str | None = None
    size_bytes: Count | None = None
    compressed_size_bytes: Count | None = None
    simulated: bool | None = None
    weight_bits: Bits | None = None
    activation_bits: Bits | None = None
    precision_map: dict[str, Count] | None = None
    details: dict[str, Any] | None = None
    cached: bool | None = None


class VsFp32(_Open):
    both_right: Count | None = None
    only_fp32: Count | None = None
    only_method: Count | None = None
    mcnemar_p: Fraction | None = None
    significant: bool | None = None


class Accuracy(_Open):
    metric: str | None = None
    top1: Fraction | None = None
    top5: Fraction | None = None
    n: Count | None = None
    fp32_top1: Fraction | None = None
    delta_top1: Signed | None = None
    simulated_top1: Fraction | None = None
    delta_filled_at: str | None = None
    top1_ci: FractionInterval | None = None
    vs_fp32: VsFp32 | None = None
    perplexity: Number | None = None
    fp32_perplexity: Number | None = None
    embedding_cosine: Signed | None = None


class _Timed(_Open):
    """What the SingleStream and Offline blocks share."""

    scenario: str | None = None
    runs: Count | None = None
    cv: Number | None = None
    unstable: bool | None = None
    valid: bool | None = None
    invalid_reason: str | None = None
    quick: bool | None = None


class Latency(_Timed):
    p50_ms: Number | None = None
    p90_ms: Number | None = None
    p99_ms: Number | None = None
    mean_ms: Number | None = None
    early_stopping_p90_ms: Number | None = None
    queries: Count | None = None
    per_run_p50_ms: list[Number | None] | None = None
    expected_latency_ns: Number | None = None
    mode: Literal["precision", "mlperf"] | None = None
    p50_ci_ms: Interval | None = None
    precision_met: bool | None = None
    ttft_ms: Number | None = None


class Throughput(_Timed):
    items_per_s: Number | None = None
    per_run_items_per_s: list[Number | None] | None = None
    samples: Count | None = None
    batch_size: Count | None = None
    ci: Interval | None = None
    tokens_per_s: Number | None = None


class Power(_Open):
    status: Literal["measured", "unavailable", "needs_privilege"] | None = None
    reason: str | None = None
    hint: str | None = None
    sensor: str | None = None
    boundary: str | None = None
    method: str | None = None
    avg_w: Number | None = None
    energy_j: Number | None = None
    mj_per_item: Number | None = None
    window_s: Number | None = None
    samples: Count | None = None
    detail: dict[str, Any] | None = None


class Environment(_Open):
    packages: dict[str, str] | None = None
    python: str | None = None
    cpu: dict[str, Any] | None = None
    os: str | None = None
    kernel: str | None = None
    governor: str | None = None
    git: dict[str, Any] | None = None
    temperatures: dict[str, Any] | None = None
    throttled: dict[str, Any] | None = None
    preflight: list[Any] | None = None


class Diagnosis(_Open):
    baseline_job: str | None = None
    speedup_p50: Number | None = None
    speedup_items_per_s: Number | None = None
    faster: bool | None = None
    causes: list[str] | None = None
    not_faster_on: list[str] | None = None
    line: str | None = None


class Memory(_Open):
    peak_rss_mb: Number | None = None


class Compute(_Open):
    """Work per item, counted from the artifact's graph (``suite.compute``); null counts carry a reason."""

    macs_per_item: Number | None = None
    ops_per_item: Number | None = None
    weight_bytes: Count | None = None
    source: str | None = None
    reason: str | None = None
    per: str | None = None
    not_counted: str | None = None
    counted_ops: dict[str, Count] | None = None
    uncounted_ops: dict[str, Count] | None = None
    kv_cache_bytes_per_token: Number | None = None
    kv_cache_read_bytes_per_decoded_token: Number | None = None
    bytes_per_decoded_token: Number | None = None


class Efficiency(_Open):
    """Achieved operations against the measuring machine's peak (``suite.compute.efficiency``). A share of
    peak is not bounded by 1 here: a share above 1 is a wrong peak or a wrong count, and the record keeps
    it so a reader can see it rather than lose the record."""

    ops_per_item: Number | None = None
    achieved_ops_per_s_offline: Number | None = None
    achieved_ops_per_s_single_stream: Number | None = None
    precision: str | None = None
    precision_from: str | None = None
    peak_key: str | None = None
    peak_ops_per_s: Number | None = None
    peak_source: str | None = None
    peak_basis: str | None = None
    share_of_peak_offline: Number | None = None
    share_of_peak_single_stream: Number | None = None
    ops_per_joule: Number | None = None
    tops_per_w: Number | None = None
    decode_roofline_tok_per_s: Number | None = None
    decode_share_of_bandwidth_roofline: Number | None = None
    reason: str | None = None


class Record(_Open):
    """One record. Required: what names the job and its file; every measured block may be null."""

    schema_: Literal["edgeq.record/1"] = Field(alias="schema")
    job_id: PlainName
    fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{16,64}$")]
    status: Literal["ok", "failed", "skipped"]
    error: str | None = None
    error_tail: list[str] | None = None
    error_kind: str | None = None
    created_at: Annotated[str, Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d")] | None = None
    task: Task
    method: Method
    target: Target
    runtime: Runtime
    artifact: Artifact | None = None
    accuracy: Accuracy | None = None
    latency: Latency | None = None
    throughput: Throughput | None = None
    power: Power | None = None
    environment: Environment | None = None
    timings_s: dict[str, Number] | None = None
    inputs: dict[str, Any] | None = None
    sources: dict[str, Any] | None = None
    diagnosis: Diagnosis | None = None
    dispatch: dict[str, Any] | None = None
    memory: Memory | None = None
    compute: Compute | None = None
    efficiency: Efficiency | None = None


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problem(record: Any) -> str | None:
    """None if ``record`` is a valid ``edgeq.record/1``, else one line: ``key: got X, expected Y``."""
    if not isinstance(record, dict):
        return f"(top level): got {type(record).__name__}, expected a JSON object"
    if record.get("schema") != SCHEMA:
        return f"schema: got {_got(record.get('schema'))}, expected {SCHEMA!r}"
    try:
        Record.model_validate(record)
    except ValidationError as exc:
        return describe(exc)
    except RecursionError:
        return "(top level): nested too deeply"
    return None


def describe(exc: ValidationError) -> str:
    """The first error of a validation as ``key: got X, expected Y (and N more)``."""
    errors = exc.errors()
    err = errors[0]
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if err["type"] == "missing":
        return f"missing required key {key!r}{more}"
    expected = err["msg"][0].lower() + err["msg"][1:]
    expected = expected.removeprefix("input should be ").removeprefix("value should be ")
    return f"{key}: got {_got(err.get('input'))}, expected {expected}{more}"


def failing_blocks(record: dict[str, Any]) -> set[str]:
    """The top-level keys whose values fail the schema (what a writer drops to keep the rest)."""
    try:
        Record.model_validate(record)
    except ValidationError as exc:
        return {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
    return set()


# The keys that name the job and its file: a record cannot be kept without them.
IDENTITY = frozenset({"schema", "job_id", "fingerprint", "status", "task", "method", "target", "runtime"})


def fit_for_write(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` if it fits the schema; else the record of a failed job that keeps every block that
    fits and drops (nulls) those that do not, with the reason as its error (``error_kind: bad_record``).

    A job or plugin that reports an ill-typed value (a top-1 of ``"high"``) is a failed measurement,
    not a reason to lose the whole record or stop the sweep. Identity keys cannot be dropped; a record
    wrong there is left for the writer to refuse with one line."""
    wrong = problem(record)
    if wrong is None:
        return record
    dropped = sorted(failing_blocks(record) - IDENTITY)
    fixed = {**record, **{key: None for key in dropped}}
    fixed.update(
        status="failed",
        error_kind="bad_record",
        error=f"the job's record does not fit {SCHEMA} ({wrong}); dropped: {', '.join(dropped) or 'nothing'}",
    )
    return fixed
