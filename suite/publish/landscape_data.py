"""The landscape file (``hardware/landscape/processors.yaml``): commercial edge processors with a sourced
peak and power, and the measured points of records set against them.

Every entry names where its peak and its power come from; an entry without a source, or a zero or
negative number, is one line naming the file and the key (``suite.config.format_validation_error``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from suite.compute.efficiency import efficiency_block
from suite.config import format_validation_error, read_yaml
from suite.errors import BadInput
from suite.paths import HARDWARE_DIR

LANDSCAPE_FILE = HARDWARE_DIR / "landscape" / "processors.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Processor(_Strict):
    name: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    kind: str = ""
    peak_ops_per_s: float = Field(gt=0, description="the vendor's peak in `precision`, ops/s")
    counts_sparsity: bool = False
    precision: Literal["int8", "fp16"] = "int8"
    source: str = Field(min_length=1, description="where the peak was read, named")
    power_w: float = Field(gt=0)
    power_basis: Literal["datasheet", "estimate"]
    power_source: str = Field(min_length=1)

    @property
    def dense_ops_per_s(self) -> float:
        """The figure a dense model can meet: a 2:4-sparse peak is twice it."""
        return self.peak_ops_per_s / 2 if self.counts_sparsity else self.peak_ops_per_s


class Landscape(_Strict):
    schema_: Literal["edgeq.landscape/1"] = Field(alias="schema")
    entries: list[Processor] = Field(min_length=1)


def load_landscape(path: Path = LANDSCAPE_FILE) -> list[Processor]:
    """The processors of a landscape file, validated; bad input is one line naming file and key."""
    data = read_yaml(path)
    try:
        return Landscape.model_validate(data).entries
    except ValidationError as exc:
        raise BadInput(format_validation_error(path, exc)) from None


@dataclass(frozen=True)
class MeasuredPoint:
    """One record on the chart: its achieved ops/s and the power it is drawn at."""

    label: str
    target: str
    ops_per_s: float
    power_w: float
    power_measured: bool  # False: drawn at the profile's typical (or max) power, no sensor
    power_from: str = "measured"  # or "typical_w" / "max_w": the profile figure it is drawn at


def measured_point(record: dict[str, Any], peak: dict[str, Any] | None) -> MeasuredPoint | None:
    """A record's place on the chart, or None (failed, emulated, no MAC count, or no power to draw it at).

    Achieved ops/s is the Offline figure of ``efficiency_block``; the power is the measured average where
    a sensor measured it, else the profile's ``typical_w`` (``max_w`` when no typical figure), marked."""
    if record.get("status") != "ok":
        return None
    block = efficiency_block(record, peak)
    ops = (block or {}).get("achieved_ops_per_s_offline")
    if not ops:
        return None
    power = record.get("power") or {}
    if power.get("status") == "measured" and power.get("avg_w"):
        watts, measured = float(power["avg_w"]), True
    else:
        key = next((k for k in ("typical_w", "max_w") if (peak or {}).get(k)), None)
        if key is None:
            return None
        rated = (peak or {})[key]
        watts, measured = float(rated["value"] if isinstance(rated, dict) else rated), False
    target = str((record.get("target") or {}).get("name") or "?")
    method = str((record.get("method") or {}).get("name") or "?")
    task = str((record.get("task") or {}).get("name") or "?")
    return MeasuredPoint(f"{target}: {task} {method}", target, ops, watts, measured, "measured" if measured else key)
