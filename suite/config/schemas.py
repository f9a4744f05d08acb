"""Pydantic schemas for task files (``tasks/*.yaml``) and hardware profiles (``hardware/*.yaml``).

Every model forbids unknown keys, so a typo in a YAML file is an error that names the key instead of a
setting silently ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


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


class ModelSpec(Strict):
    source: str = Field(description="zoo source name, e.g. builtin")
    name: str = Field(description="model name within the source")
    path: str | None = None
    train: TrainRecipe | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class DatasetSpec(Strict):
    name: str = Field(description="dataset adapter name, e.g. sklearn-digits")
    seed: int = 0
    n_eval: int = Field(ge=1)
    n_calibration: int = Field(ge=1)
    options: dict[str, Any] = Field(default_factory=dict)


class InputSpec(Strict):
    shape: list[int] = Field(description="per-sample shape, without the batch dimension")
    layout: Literal["NCHW", "NHWC", "NC"] = "NCHW"
    dtype: Literal["float32"] = "float32"


class TaskConfig(Strict):
    name: str
    description: str = ""
    model: ModelSpec
    dataset: DatasetSpec
    input: InputSpec
    num_classes: int = Field(ge=2)
    metric: Literal["top1"] = "top1"
    methods: list[str] = Field(default_factory=lambda: ["fp32"], description="methods of the default sweep")
    method_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-method parameter overrides for this task"
    )


# ------------------------------------------------------------------------------------------ profile
class DetectSpec(Strict):
    """How to recognise the machine. Every listed rule must hold."""

    arch: list[str] = Field(default_factory=list, description="platform.machine() values")
    os: list[str] = Field(default_factory=list, description="platform.system() values")


class RuntimeSpec(Strict):
    name: str
    providers: list[str] = Field(default_factory=list, description="execution providers in order of preference")
    threads: int = Field(0, ge=0, description="intra-op threads; 0 = runtime default")
    options: dict[str, Any] = Field(default_factory=dict)


class ScenarioSpec(Strict):
    min_duration_s: float = Field(gt=0)
    min_queries: int = Field(ge=1)
    batch_size: int = Field(1, ge=1)


class MeasurementSpec(Strict):
    warmup_queries: int = Field(50, ge=0)
    runs: int = Field(3, ge=3, description="runs per scenario; the CV is over these")
    cv_threshold: float = Field(0.10, gt=0)
    single_stream: ScenarioSpec
    offline: ScenarioSpec
    quick: dict[str, ScenarioSpec] = Field(
        default_factory=dict, description="shorter scenario settings for --quick (tests)"
    )
    job_timeout_s: float = Field(900, gt=0)


class ProfileConfig(Strict):
    name: str
    description: str = ""
    system: dict[str, Any] = Field(default_factory=dict, description="MLPerf system-description fields")
    detect: DetectSpec = Field(default_factory=DetectSpec)
    runtimes: list[RuntimeSpec] = Field(min_length=1)
    power: list[str] = Field(default_factory=lambda: ["none"], description="sensors in order of preference")
    measurement: MeasurementSpec
    tasks: list[str] = Field(default_factory=list, description="tasks of the default sweep")
    method_defaults: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-method parameters that decide speed on this target"
    )

    @field_validator("power")
    @classmethod
    def _at_least_none(cls, value: list[str]) -> list[str]:
        return value or ["none"]
