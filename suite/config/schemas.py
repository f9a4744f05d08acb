"""Pydantic schemas for task files (``tasks/*.yaml``) and hardware profiles (``hardware/*.yaml``).

Every model forbids unknown keys, so a typo in a YAML file is an error that names the key instead of a
setting silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    create_model,
    field_validator,
    model_serializer,
    model_validator,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------- task
class TrainRecipe(Strict):
    """How a built-in model is trained here (deterministically, in seconds)."""

    epochs: int = Field(30, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(0.003, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    seed: int = 0
    threads: int = Field(
        1, ge=1, description="torch threads while training; part of the recipe: the thread count changes the weights"
    )


class ModelSpec(Strict):
    source: str = Field(description="zoo source name, e.g. builtin")
    name: str = Field(description="model name within the source")
    path: str | None = None
    train: TrainRecipe | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class CalibrationSpec(Strict):
    """Where calibration samples come from. ``split``: a seeded draw disjoint from eval (the default);
    ``folder``: images from another folder (``path``); ``eval``: drawn from the eval images themselves,
    allowed only when declared (tiny sets), and the record says so."""

    source: Literal["split", "folder", "eval"] = "split"
    path: str | None = Field(None, description="calibration image folder (source: folder); ${VAR} expands")


# Upper bounds that no real task reaches: a value past them is a typo (1e30), refused with one line
# instead of an overflow or a multi-GB allocation inside a job. Bounds do not change model_dump(), so
# job fingerprints stay as they were.
MAX_SAMPLES = 1_000_000_000
MAX_CLASSES = 1_000_000  # past the largest vocabularies (256k) and class sets
MAX_DIM = 1_000_000
MAX_SAMPLE_VALUES = 1 << 28  # 1 GiB of float32 per sample


class DatasetSpec(Strict):
    name: str = Field(description="dataset adapter name, e.g. sklearn-digits")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="numpy's split seed (not negative)")
    n_eval: int | None = Field(
        None,
        ge=1,
        le=MAX_SAMPLES,
        description="eval samples; required for array datasets, default for folders: all not calibrated on",
    )
    n_calibration: int = Field(ge=1, le=MAX_SAMPLES)
    path: str | None = Field(None, description="dataset file or folder; relative to the task file; ${VAR} expands")
    calibration: CalibrationSpec = Field(default_factory=CalibrationSpec)
    n_val: int = Field(
        0,
        ge=0,
        le=MAX_SAMPLES,
        description="labelled validation samples held out from training (for accuracy-driven methods)",
    )
    options: dict[str, Any] = Field(default_factory=dict)


class InputSpec(Strict):
    shape: list[Annotated[int, Field(ge=1, le=MAX_DIM)]] = Field(
        min_length=1, max_length=8, description="per-sample shape, without the batch dimension"
    )

    @field_validator("shape")
    @classmethod
    def _sample_size(cls, value: list[int]) -> list[int]:
        size = 1
        for dim in value:
            size *= dim
        if size > MAX_SAMPLE_VALUES:
            raise ValueError(
                f"at most {MAX_SAMPLE_VALUES} values per sample (a {size}-value sample would not fit in memory)"
            )
        return value

    layout: Literal["NCHW", "NHWC", "NC"] = "NCHW"
    dtype: Literal["float32", "uint8", "int64"] = "float32"
    names: list[str] | None = Field(
        None,
        description="model inputs packed along the sample's first axis, in order (text: [input_ids, attention_mask]); "
        "None = one input",
    )


class GenerationSpec(Strict):
    """How a causal LM is timed: a fixed prompt (the first ``prompt_tokens`` of the first held-out window),
    then ``new_tokens`` greedy tokens at batch 1 with the KV cache (suite/measure/lm_timing.py)."""

    prompt_tokens: int = Field(64, ge=1, description="prompt length for time to first token")
    new_tokens: int = Field(
        32, ge=2, description="tokens generated per query (decode tokens/s is over the last new_tokens - 1)"
    )
    min_queries: int = Field(
        64, ge=1, description="generations per LoadGen run (LoadGen's token early stopping needs at least 64)"
    )
    warmup_queries: int = Field(2, ge=0, description="untimed generations before the runs")


class PreprocessSpec(Strict):
    """How an image file becomes the model's input (the same for calibration and evaluation).

    Steps in order: convert to ``color``; resize (an int: shorter side to N keeping the aspect ratio,
    torchvision's rule; [h, w]: exact); center crop; to array; channel order; ``* scale``; ``- mean``;
    ``/ std``; layout and dtype from ``input``. Defaults: no resize, no crop, pixels scaled to 0..1.
    """

    color: Literal["RGB", "L"] = "RGB"
    resize: int | list[int] | None = Field(None, description="shorter side to N, or exact [height, width]")
    interpolation: Literal["bilinear", "bicubic", "nearest", "lanczos"] = "bilinear"
    center_crop: int | list[int] | None = Field(None, description="N (square) or [height, width]")
    channel_order: Literal["RGB", "BGR"] = "RGB"
    scale: float = Field(1 / 255, gt=0, description="applied to 0..255 pixels before mean/std")
    mean: list[float] = Field(default_factory=lambda: [0.0], description="one value, or one per channel")
    std: list[float] = Field(default_factory=lambda: [1.0], description="one value, or one per channel")

    @field_validator("resize", "center_crop")
    @classmethod
    def _size(cls, value: int | list[int] | None) -> int | list[int] | None:
        values = [value] if isinstance(value, int) else (value or [])
        if isinstance(value, list) and len(value) != 2:
            raise ValueError("an int or a list [height, width]")
        if any(v < 1 for v in values):
            raise ValueError("sizes of at least 1 pixel")
        return value

    @field_validator("std")
    @classmethod
    def _std(cls, value: list[float]) -> list[float]:
        if any(v == 0 for v in value):
            raise ValueError("non-zero standard deviations")
        return value


class TaskConfig(Strict):
    name: str
    description: str = ""
    model: ModelSpec
    dataset: DatasetSpec
    input: InputSpec
    preprocess: PreprocessSpec | None = Field(None, description="image decoding and normalisation (image datasets)")
    num_classes: int = Field(ge=2, le=MAX_CLASSES)
    metric: Literal["top1", "perplexity"] = Field(
        "top1", description="top1 (classifiers, higher is better) or perplexity (causal LMs, lower is better)"
    )
    generation: GenerationSpec | None = Field(None, description="LM timing (metric perplexity): prompt and new tokens")
    methods: list[str] = Field(default_factory=lambda: ["fp32"], description="methods of the default sweep")
    method_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-method parameter overrides for this task"
    )
    # The folder of the task file: relative paths in it (model.path, dataset.path) resolve against it.
    _source_dir: Any = PrivateAttr(None)


# ------------------------------------------------------------------------------------------ profile
class DetectSpec(Strict):
    """How to recognise the machine. Every listed rule must hold."""

    arch: list[str] = Field(
        default_factory=list, description="machine architectures (/proc/sys/kernel/arch, else platform.machine())"
    )
    os: list[str] = Field(default_factory=list, description="platform.system() values")
    device_tree_model: list[str] = Field(
        default_factory=list, description="substrings of /proc/device-tree/model; one must occur (case-insensitive)"
    )
    nv_tegra_release: list[str] = Field(
        default_factory=list, description="accepted L4T releases from /etc/nv_tegra_release, e.g. R36"
    )
    cpu_flags: list[str] = Field(default_factory=list, description="/proc/cpuinfo flags that must all be present")
    cpu_model: list[str] = Field(default_factory=list, description="substrings of the CPU model name; one must occur")
    gpu_name: list[str] = Field(
        default_factory=list, description="substrings of an NVIDIA GPU name (driver /proc files or nvidia-smi)"
    )
    usb_ids: list[str] = Field(
        default_factory=list, description="USB vendor:product ids (e.g. Coral 1a6e:089a); one must be present"
    )


class RuntimeSpec(Strict):
    name: str
    providers: list[str] = Field(default_factory=list, description="execution providers in order of preference")
    threads: int = Field(0, ge=0, le=4096, description="intra-op threads; 0 = runtime default")
    options: dict[str, Any] = Field(default_factory=dict)
    default_methods: list[str] | None = Field(
        None,
        description="this entry runs only these of the sweep's methods (with or without --methods), and every method "
        "whose artifact it loads when --runtimes names it; default (unset): every method whose artifact it loads",
    )

    @model_serializer(mode="wrap")
    def _drop_unset_default_methods(self, handler: Any) -> dict[str, Any]:
        """Left out of the dump while unset, so the ``inputs.runtime`` of every existing job (and its id)
        stays what it was before the key existed."""
        data: dict[str, Any] = handler(self)
        if data.get("default_methods") is None:
            data.pop("default_methods", None)
        return data


class ScenarioSpec(Strict):
    min_duration_s: float = Field(gt=0, le=86_400)
    min_queries: int = Field(ge=1, le=MAX_SAMPLES)
    batch_size: int = Field(1, ge=1, le=65_536)


class PrecisionScenarioSpec(Strict):
    """When one scenario of the precision-driven timing may stop (suite/measure/precision.py)."""

    min_duration_s: float = Field(gt=0, description="at least this much query time, all runs together")
    min_queries: int = Field(ge=1, description="at least this many queries (SingleStream) or samples (Offline)")
    max_duration_s: float = Field(
        gt=0, description="stop here (wall time) even if the interval is wider; the record says precision_met: false"
    )

    @model_validator(mode="after")
    def _bound_above_minimum(self) -> PrecisionScenarioSpec:
        if self.max_duration_s < self.min_duration_s:
            raise ValueError(
                f"max_duration_s ({self.max_duration_s}) must be at least min_duration_s ({self.min_duration_s})"
            )
        return self


class PrecisionSpec(Strict):
    """The default timing mode: LoadGen runs repeated until the 95% interval of the SingleStream p50 (and
    of Offline items/s) lies within ±ci_pct % of it; ``edgeq bench --mlperf`` uses the fixed settings."""

    ci_pct: float = Field(1.0, gt=0, le=50, description="goal: 95% interval half-width, % of the p50 / items/s")
    single_stream: PrecisionScenarioSpec = Field(
        default_factory=lambda: PrecisionScenarioSpec(min_duration_s=0.2, min_queries=100, max_duration_s=30)
    )
    offline: PrecisionScenarioSpec = Field(
        default_factory=lambda: PrecisionScenarioSpec(min_duration_s=0.6, min_queries=192, max_duration_s=30)
    )
    quick_max_duration_s: float = Field(
        0.5, gt=0, description="--quick: each scenario stops here at the latest (a smoke test: flagged quick)"
    )
    power_window_s: float = Field(
        2.0, ge=0, description="with a power sensor measuring, Offline lasts at least this long (enough sensor samples)"
    )


class MeasurementSpec(Strict):
    warmup_queries: int = Field(50, ge=0, le=MAX_SAMPLES)
    runs: int = Field(
        3, ge=3, le=1000, description="runs per scenario; the CV is over these (precision mode: at least these)"
    )
    cv_threshold: float = Field(0.10, gt=0)
    single_stream: ScenarioSpec = Field(description="--mlperf: fixed minimum duration and queries per run")
    offline: ScenarioSpec = Field(description="--mlperf: fixed minimums per run; batch_size in both modes")
    quick: dict[str, ScenarioSpec] = Field(
        default_factory=dict, description="shorter scenario settings for --quick --mlperf (tests)"
    )
    precision: PrecisionSpec = Field(default_factory=PrecisionSpec, description="the default, precision-driven timing")
    job_timeout_s: float = Field(900, gt=0, le=7 * 86_400)
    build_timeout_s: float = Field(
        3600,
        gt=0,
        le=7 * 86_400,
        description="bound of a job's build (reference model, quantizing) on a workstation; job_timeout_s then bounds the measurement",
    )


# The field names of MLPerf Inference's system description JSON (submission rules, "System description").
MLPERF_SYSTEM_FIELDS = frozenset(
    {
        "division",
        "submitter",
        "status",
        "system_name",
        "system_type",
        "system_type_detail",
        "number_of_nodes",
        "host_processor_model_name",
        "host_processors_per_node",
        "host_processor_core_count",
        "host_processor_frequency",
        "host_processor_caches",
        "host_processor_interconnect",
        "host_memory_capacity",
        "host_memory_configuration",
        "host_storage_type",
        "host_storage_capacity",
        "host_networking",
        "host_networking_topology",
        "host_network_card_count",
        "accelerators_per_node",
        "accelerator_model_name",
        "accelerator_frequency",
        "accelerator_host_interconnect",
        "accelerator_interconnect",
        "accelerator_interconnect_topology",
        "accelerator_memory_capacity",
        "accelerator_memory_configuration",
        "accelerator_on-chip_memories",
        "cooling",
        "hw_notes",
        "framework",
        "operating_system",
        "other_software_stack",
        "sw_notes",
        "power_management",
        "filesystem",
        "boot_firmware_version",
        "management_firmware_version",
        "disk_drives",
        "disk_controllers",
        "nics_enabled_firmware",
        "nics_enabled_os",
        "nics_enabled_connected",
        "power_supply_quantity_and_rating_watts",
        "power_supply_details",
    }
)


# A model with every MLPerf field optional: a misspelt key is an "unknown key" error naming it.
SystemDescription = create_model(  # type: ignore[call-overload]
    "SystemDescription",
    __config__=ConfigDict(extra="forbid", populate_by_name=True),
    **{name.replace("-", "_"): (Any, Field(None, alias=name)) for name in sorted(MLPERF_SYSTEM_FIELDS)},
)


class PowerSpec(Strict):
    """A power sensor with its options; a plain name in ``power:`` means no options."""

    name: str
    boundary: Literal["wall", "board_input", "module_input", "gpu_board", "cpu_package", "partial_rails"] | None = (
        Field(None, description="where the sensor measures, when the sensor cannot know (an external meter)")
    )
    options: dict[str, Any] = Field(default_factory=dict)


class PreflightSpec(Strict):
    """The reproducible state a measurement expects; ``edgeq doctor`` says what would change it."""

    governor: str | None = Field(None, description="CPU frequency governor, e.g. performance")
    nvpmodel: str | None = Field(None, description="Jetson power mode name from /etc/nvpmodel.conf, e.g. MAXN")
    jetson_clocks: bool | None = Field(None, description="Jetson clocks pinned at their maximum (sudo jetson_clocks)")
    max_start_temp_c: float | None = Field(None, gt=0, description="hottest thermal zone allowed at the start")
    cooldown_wait_s: float = Field(0, ge=0, le=86_400, description="wait up to this long for the start temperature")
    on_fail: Literal["warn", "stop"] = Field("warn", description="warn and record, or stop before measuring")


class DispatchSpec(Strict):
    """How a lab fleet hands this target's jobs to its workers (``edgeq worker``, suite/fleet)."""

    visibility_timeout_s: float | None = Field(
        None,
        gt=0,
        description="seconds a job may stay unacknowledged before the broker hands it to another worker; "
        "must exceed measurement.job_timeout_s (default: job_timeout_s + worker start and bundle fetch allowance)",
    )


def _no_sensor() -> list[str | PowerSpec]:
    return ["none"]


class PeakFigure(Strict):
    """One datasheet figure: the value, where it was read (the vendor document named), and whether the vendor
    counts 2:4 structured sparsity in it (a sparse figure is twice the dense one a dense model can reach)."""

    value: float = Field(gt=0, description="in the key's unit (ops/s, FLOP/s, bytes/s, W)")
    source: str = Field(min_length=1, description="the vendor datasheet or page, named (or 'derived: ...')")
    counts_sparsity: bool = False


class PeakSpec(Strict):
    """What the hardware can do at most, from its datasheet: the denominator of a record's share of peak.

    ``derived: cpu``: the figures come from the CPU found at run time (``suite.machine.cpu_peak``); ``derived:
    gpu``: from the datasheet table of the GPU found (``suite.machine.gpu_peak``); figures written here still
    win over derived ones (e.g. a power rating)."""

    int8_ops_per_s: PeakFigure | None = None
    fp16_flops: PeakFigure | None = None
    fp32_flops: PeakFigure | None = None
    memory_bw_bytes_per_s: PeakFigure | None = None
    typical_w: PeakFigure | None = None
    max_w: PeakFigure | None = None
    derived: Literal["cpu", "gpu"] | None = None

    @model_validator(mode="after")
    def _something(self) -> PeakSpec:
        figures = (self.int8_ops_per_s, self.fp16_flops, self.fp32_flops, self.memory_bw_bytes_per_s)
        if self.derived is None and all(f is None for f in figures):
            raise ValueError(
                "a peak block needs at least one of int8_ops_per_s, fp16_flops, fp32_flops, "
                "memory_bw_bytes_per_s, or derived: cpu / gpu"
            )
        return self


class TargetConfig(Strict):
    name: str
    description: str = ""
    system: SystemDescription = Field(default_factory=SystemDescription, description="MLPerf system-description fields")
    detect: DetectSpec = Field(default_factory=DetectSpec)
    runtimes: list[RuntimeSpec] = Field(min_length=1)
    power: list[str | PowerSpec] = Field(default_factory=_no_sensor, description="sensors in order of preference")
    measurement: MeasurementSpec
    tasks: list[str] = Field(default_factory=list, description="tasks of the default sweep")
    method_defaults: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-method parameters that decide speed on this target"
    )
    extra_methods: list[str] = Field(
        default_factory=list, description="methods added to each task's default list on this target"
    )
    preflight: PreflightSpec = Field(default_factory=PreflightSpec)
    throttle: list[Literal["rpi_get_throttled", "thermal_trip", "cpu_freq_cap", "intel_thermal_throttle"]] = Field(
        default_factory=list, description="throttle checks before and after each measurement; a hit marks it invalid"
    )
    setup: list[str] = Field(default_factory=list, description="install notes `edgeq doctor` prints for this target")
    dispatch: DispatchSpec = Field(default_factory=DispatchSpec, description="fleet queue settings (edgeq worker)")
    peak: PeakSpec | None = Field(None, description="datasheet peak figures, each with its source")

    @field_validator("power")
    @classmethod
    def _at_least_none(cls, value: list[str | PowerSpec]) -> list[str | PowerSpec]:
        return value or ["none"]

    def power_specs(self) -> list[PowerSpec]:
        """``power`` with plain names turned into specs without options."""
        return [PowerSpec(name=p) if isinstance(p, str) else p for p in self.power]


class AliasConfig(Strict):
    """A target name that stands for the first of several profiles whose detection matches this machine."""

    name: str
    description: str = ""
    alias_of: list[str] = Field(min_length=1, description="profiles tried in order; the first that matches wins")
