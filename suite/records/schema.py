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

from typing import Annotated, Any, Literal, Optional

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
    file_sha256: Optional[str] = None
    limit: Optional[Annotated[int, Field(ge=1)]] = None
    weights_sha256: Optional[str] = None
    dataset: Optional[dict[str, Any]] = None
    model: Optional[dict[str, Any]] = None


class Toolkit(_Open):
    name: str
    version: Optional[str] = None


class Method(_Open):
    name: Annotated[str, Field(min_length=1)]
    family: Optional[str] = None
    params: Optional[dict[str, Any]] = None
    toolkit: Optional[Toolkit] = None


class Target(_Open):
    name: PlainName
    matched: Optional[bool] = None
    override: Optional[bool] = None


class Runtime(_Open):
    name: Annotated[str, Field(min_length=1)]
    version: Optional[str] = None
    provider: Optional[str] = None
    providers_requested: Optional[list[str]] = None
    fallback: Optional[bool] = None
    threads: Optional[Count] = None
    delegate: Optional[str] = None
    providers_session: Optional[list[str]] = None
    providers_missing: Optional[list[str]] = None
    placement: Optional[dict[str, Any]] = None
    inference_precision: Optional[str] = None


class Artifact(_Open):
    format: Optional[str] = None
    path: Optional[str] = None
    sha256: Optional[str] = None
    size_bytes: Optional[Count] = None
    compressed_size_bytes: Optional[Count] = None
    simulated: Optional[bool] = None
    weight_bits: Optional[Bits] = None
    activation_bits: Optional[Bits] = None
    precision_map: Optional[dict[str, Count]] = None
    details: Optional[dict[str, Any]] = None
    cached: Optional[bool] = None


class VsFp32(_Open):
    both_right: Optional[Count] = None
    only_fp32: Optional[Count] = None
    only_method: Optional[Count] = None
    mcnemar_p: Optional[Fraction] = None
    significant: Optional[bool] = None


class Accuracy(_Open):
    metric: Optional[str] = None
    top1: Optional[Fraction] = None
    top5: Optional[Fraction] = None
    n: Optional[Count] = None
    fp32_top1: Optional[Fraction] = None
    delta_top1: Optional[Signed] = None
    simulated_top1: Optional[Fraction] = None
    delta_filled_at: Optional[str] = None
    top1_ci: Optional[FractionInterval] = None
    vs_fp32: Optional[VsFp32] = None
    perplexity: Optional[Number] = None
    fp32_perplexity: Optional[Number] = None
    embedding_cosine: Optional[Signed] = None


class _Timed(_Open):
    """What the SingleStream and Offline blocks share."""

    scenario: Optional[str] = None
    runs: Optional[Count] = None
    cv: Optional[Number] = None
    unstable: Optional[bool] = None
    valid: Optional[bool] = None
    invalid_reason: Optional[str] = None
    quick: Optional[bool] = None


class Latency(_Timed):
    p50_ms: Optional[Number] = None
    p90_ms: Optional[Number] = None
    p99_ms: Optional[Number] = None
    mean_ms: Optional[Number] = None
    early_stopping_p90_ms: Optional[Number] = None
    queries: Optional[Count] = None
    per_run_p50_ms: Optional[list[Optional[Number]]] = None
    expected_latency_ns: Optional[Number] = None
    mode: Optional[Literal["precision", "mlperf"]] = None
    p50_ci_ms: Optional[Interval] = None
    precision_met: Optional[bool] = None
    ttft_ms: Optional[Number] = None


class Throughput(_Timed):
    items_per_s: Optional[Number] = None
    per_run_items_per_s: Optional[list[Optional[Number]]] = None
    samples: Optional[Count] = None
    batch_size: Optional[Count] = None
    ci: Optional[Interval] = None
    tokens_per_s: Optional[Number] = None


class Power(_Open):
    status: Optional[Literal["measured", "unavailable", "needs_privilege"]] = None
    reason: Optional[str] = None
    hint: Optional[str] = None
    sensor: Optional[str] = None
    boundary: Optional[str] = None
    method: Optional[str] = None
    avg_w: Optional[Number] = None
    energy_j: Optional[Number] = None
    mj_per_item: Optional[Number] = None
    window_s: Optional[Number] = None
    samples: Optional[Count] = None
    detail: Optional[dict[str, Any]] = None


class Environment(_Open):
    packages: Optional[dict[str, str]] = None
    python: Optional[str] = None
    cpu: Optional[dict[str, Any]] = None
    os: Optional[str] = None
    kernel: Optional[str] = None
    governor: Optional[str] = None
    git: Optional[dict[str, Any]] = None
    temperatures: Optional[dict[str, Any]] = None
    throttled: Optional[dict[str, Any]] = None
    preflight: Optional[list[Any]] = None


class Diagnosis(_Open):
    baseline_job: Optional[str] = None
    speedup_p50: Optional[Number] = None
    speedup_items_per_s: Optional[Number] = None
    faster: Optional[bool] = None
    causes: Optional[list[str]] = None
    not_faster_on: Optional[list[str]] = None
    line: Optional[str] = None


class Memory(_Open):
    peak_rss_mb: Optional[Number] = None


class Record(_Open):
    """One record. Required: what names the job and its file; every measured block may be null."""

    schema_: Literal["edgeq.record/1"] = Field(alias="schema")
    job_id: PlainName
    fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{16,64}$")]
    status: Literal["ok", "failed", "skipped"]
    error: Optional[str] = None
    error_tail: Optional[list[str]] = None
    error_kind: Optional[str] = None
    created_at: Optional[Annotated[str, Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d")]] = None
    task: Task
    method: Method
    target: Target
    runtime: Runtime
    artifact: Optional[Artifact] = None
    accuracy: Optional[Accuracy] = None
    latency: Optional[Latency] = None
    throughput: Optional[Throughput] = None
    power: Optional[Power] = None
    environment: Optional[Environment] = None
    timings_s: Optional[dict[str, Number]] = None
    inputs: Optional[dict[str, Any]] = None
    sources: Optional[dict[str, Any]] = None
    diagnosis: Optional[Diagnosis] = None
    dispatch: Optional[dict[str, Any]] = None
    memory: Optional[Memory] = None


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
