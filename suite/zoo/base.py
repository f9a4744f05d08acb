"""The reference model a zoo source hands to the methods, and what every source shares.

A source is a function ``load(task, splits) -> ReferenceModel`` listed in ``suite/zoo/__init__.py``.
It may carry an ``identity(task) -> dict`` attribute (``suite.data.base.with_identity``): the cheap
facts that decide its weights (a file's sha256, a package version), which ``edgeq bench`` puts in every
job's fingerprint *before* anything is trained, exported or quantized.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite.errors import BadInput


@dataclass
class ReferenceModel:
    """A float model, its weights' sha256 (recorded), and how it was obtained.

    ``module`` is a torch.nn.Module in eval mode for torch sources (builtin, torchvision, timm,
    efficientnet-lite0). For sources that give a graph file (onnx, tflite, keras) ``module`` is None
    and ``onnx_path`` is the float ONNX model every ONNX-side method starts from; torch-side methods
    call :meth:`torch_module`, which says in one line why there is none.
    """

    module: Any  # torch.nn.Module in eval mode, or None for ONNX-only sources
    weights_sha256: str
    origin: dict[str, Any] = field(default_factory=dict)
    onnx_path: Path | None = None
    # Arrays aligned with the eval split that the run side compares each method against (the encoder
    # task's fp32 sentence embeddings); carried with the eval data, sliced with it by --limit.
    eval_extras: dict[str, Any] = field(default_factory=dict)
    # A source that could not be converted to a float ONNX graph that agrees with it (a full-integer
    # TFLite file, a conversion beyond its tolerance): the one line every ONNX-side method fails with.
    onnx_refused: str | None = None
    # How the converted graph agreed with its source (suite.zoo.conversion_check), for the artifacts.
    conversion_check: dict[str, Any] | None = None

    def torch_module(self, needed_by: str) -> Any:
        """The torch module, or a one-line BadInput for ONNX-only sources."""
        if self.module is None:
            source = self.origin.get("source", "file")
            raise BadInput(
                f"{needed_by} needs a torch model, but this task's model (source {source}) is an ONNX graph "
                f"only; run ONNX-side methods on it (fp32, ptq-static, dynamic, nncf-ptq, aimet-adaround, aimet-cle) "
                f"or give a torch source (builtin, torchvision, timm, ...)"
            )
        return self.module


def file_only_reference(task: Any, path: Path, family: str, fmt: str, **origin: Any) -> ReferenceModel:
    """The reference of a model file that is measured only as it is (an OpenVINO IR, an ExecuTorch program):
    no float ONNX graph exists, so every ONNX-side method fails with the one line ``onnx_refused`` says."""
    from suite.data.hashing import file_sha256

    sha = file_sha256(path)
    return ReferenceModel(
        module=None,
        weights_sha256=sha,
        onnx_path=None,
        origin={
            "source": task.model.source,
            "name": task.model.name,
            "path": str(path),
            "file_sha256": sha,
            **origin,
            "precision": family,
        },
        onnx_refused=(
            f"{path} is an {fmt} ({family}): EdgeQ has no float ONNX graph of it for the ONNX-side methods; "
            f"measure it as it is with --methods as-is, or bring its float model for the other methods"
        ),
    )


def require_path(task: Any) -> None:
    """``check`` for sources that read a file: ``model.path`` must be given."""
    if not task.model.path:
        raise BadInput(f"model.path: missing; model.source {task.model.source} needs the path of the model file")


def weights_file(spec_path: str | None, task: Any, key: str = "model.path", hint: str = "") -> Path:
    """The model file a task names (``model.path``), resolved and checked to exist."""
    from suite.data.locate import resolve

    if not spec_path:
        raise BadInput(f"{key}: missing; model.source {task.model.source} needs the path of the model file")
    return resolve(spec_path, key, task, kind="file", hint=hint)
