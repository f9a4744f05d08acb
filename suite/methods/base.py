"""The Method interface and the Artifact it produces.

A Method takes the float reference model (and calibration / training data) and writes one runnable
model file. Its parameters are a pydantic model (unknown keys rejected, types checked) so that the same
names appear in task files, profiles, records and MLflow params.
"""

from __future__ import annotations

import hashlib
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from suite.config.schemas import TaskConfig
from suite.data.base import Splits
from suite.errors import BadInput
from suite.zoo.base import ReferenceModel


class Params(BaseModel):
    """Base of every method's parameters.

    ``added_later`` names parameters added after a method's jobs were first recorded: they are left out
    of the dump (so of job fingerprints and artifact keys) while at their default, so that existing
    job ids stay what they were; set to anything else they are dumped like every other parameter."""

    model_config = ConfigDict(extra="forbid")
    added_later: ClassVar[tuple[str, ...]] = ()

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        data = super().model_dump(**kwargs)
        for name in self.added_later:
            if name in data and getattr(self, name) == type(self).model_fields[name].default:
                data.pop(name)
        return data


@dataclass
class Artifact:
    """A model file in a runnable format plus what was done to it (read from the file where possible)."""

    format: str
    path: Path
    sha256: str
    size_bytes: int
    simulated: bool
    weight_bits: int | None
    activation_bits: int | None
    precision_map: dict[str, int]
    compressed_size_bytes: int
    simulated_top1: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data.pop("simulated_top1")
        return data

    @classmethod
    def from_record(cls, data: dict[str, Any], simulated_top1: float | None = None) -> Artifact:
        return cls(**{**data, "path": Path(data["path"]), "simulated_top1": simulated_top1})

    @classmethod
    def for_file(
        cls,
        format: str,
        path: Path,
        *,
        simulated: bool,
        weight_bits: int | None,
        activation_bits: int | None,
        precision_map: dict[str, int],
        details: dict[str, Any] | None = None,
        simulated_top1: float | None = None,
        compressed_size_bytes: int | None = None,
    ) -> Artifact:
        """Describe a written model file: its hash, size and compressed size are read from the file.

        ``compressed_size_bytes`` overrides the zlib size for methods whose deployable form is a codebook
        (k-means, product quantization); the zlib size is then kept in details as ``zlib_size_bytes``.
        """
        sha, size, compressed = file_facts(path)
        details = dict(details or {})
        if compressed_size_bytes is not None:
            details["zlib_size_bytes"] = compressed
            compressed = compressed_size_bytes
        return cls(
            format=format,
            path=path,
            sha256=sha,
            size_bytes=size,
            simulated=simulated,
            weight_bits=weight_bits,
            activation_bits=activation_bits,
            precision_map=precision_map,
            compressed_size_bytes=compressed,
            simulated_top1=simulated_top1,
            details=details,
        )


def file_facts(path: Path) -> tuple[str, int, int]:
    """sha256, size and zlib-9 compressed size of a file (the compressed size is what a download or a
    flash image would cost; methods with codebooks report their own theoretical size in details)."""
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data), len(zlib.compress(data, 9))


@dataclass
class PrepareContext:
    """Everything a method may use. ``fp32_onnx()`` is the task's cached float ONNX export."""

    task: TaskConfig
    splits: Splits
    reference: ReferenceModel
    workdir: Path
    fp32_onnx: Callable[[], Path]
    target_name: str = ""


class Method(ABC):
    """A quantization recipe with a ``Params`` model. Its name, family, format and summary are written
    once, in the ``PLUGINS`` table of ``suite/methods/__init__.py`` (or a plugin's ``plugin_meta``)."""

    Params: ClassVar[type[Params]] = Params

    @classmethod
    def parse_params(cls, values: dict[str, Any], where: str = "", name: str = "") -> Params:
        """Validated parameters, or one line naming ``where``, the method ``name`` and the bad key."""
        try:
            return cls.Params.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            prefix = f"{where}: " if where else ""
            if err["type"] == "extra_forbidden":
                known = ", ".join(cls.Params.model_fields)
                raise BadInput(f"{prefix}method {name!r} has no parameter {key!r} (known: {known})") from None
            raise BadInput(
                f"{prefix}method {name!r} parameter {key}: got {err.get('input')!r}, expected {err['msg'].lower()}"
            ) from None

    @abstractmethod
    def apply(self, ctx: PrepareContext, params: Any) -> Artifact:
        """Write the artifact under ``ctx.workdir`` and describe it."""

    @staticmethod
    def param_table(params_cls: type[BaseModel]) -> list[tuple[str, str, Any]]:
        return [
            (name, str(getattr(f.annotation, "__name__", f.annotation)).replace("typing.", ""), f.default)
            for name, f in params_cls.model_fields.items()
        ]
