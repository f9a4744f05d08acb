"""The built-in architectures, by ``model.name``: ``digits-cnn`` (8x8 digits), ``tabular-mlp`` (raw
feature vectors) and, for 28x28 greyscale digits (mnist5k), ``mnist-cnn`` and ``resnet-mnist``.

``mnist-cnn`` is the classic two-conv MNIST network. ``resnet-mnist`` is a small ResNet (stem + three
stages of one basic block each, 48/96/192 channels, batch norm, identity and 1x1 projection shortcuts):
big enough that its convolutions, not per-call overhead, decide latency, so what int8 kernels buy on a
CPU is visible (the digits CNN is so small that per-call overhead decides its latency, and int8 buys
nothing there). Its widths trade a larger int8 speed-up on a CPU (than at 32/64/128 channels) against
training time on two cores; the measurements behind the choice are in docs/benchmarks.md, "Figures
behind choices in the code".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ARCHITECTURES: dict[str, Callable[[int], Any]] = {}


def architecture(name: str) -> Callable[[Callable[[int], Any]], Callable[[int], Any]]:
    def decorator(fn: Callable[[int], Any]) -> Callable[[int], Any]:
        ARCHITECTURES[name] = fn
        return fn

    return decorator


@architecture("digits-cnn")
def digits_cnn(num_classes: int) -> Any:
    """Two 3x3 convolutions, a pool and two dense layers for 1x8x8 inputs (~45k parameters)."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.ReLU(),
        nn.Linear(64, num_classes),
    )


@architecture("tabular-mlp")
def tabular_mlp(num_classes: int) -> Any:
    """Raw feature vector -> BatchNorm (normalises in-graph) -> 64 -> 32 -> classes; input width inferred."""
    from torch import nn

    return nn.Sequential(
        nn.LazyBatchNorm1d(),
        nn.LazyLinear(64),
        nn.ReLU(),
        nn.Linear(64, 32),
        nn.ReLU(),
        nn.Linear(32, num_classes),
    )


@architecture("mnist-cnn")
def mnist_cnn(num_classes: int) -> Any:
    """conv32-pool-conv64-pool-fc128 for 1x28x28 inputs (~420k parameters)."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, num_classes),
    )


def _basic_block(cin: int, cout: int, stride: int) -> Any:
    from torch import nn

    class BasicBlock(nn.Module):
        """ResNet's basic block: two 3x3 convs with batch norm, plus the (projected) input."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.shortcut = (
                nn.Identity()
                if stride == 1 and cin == cout
                else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            )

        def forward(self, x):  # type: ignore[no-untyped-def]
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return self.relu(y + self.shortcut(x))

    return BasicBlock()


@architecture("resnet-mnist")
def resnet_mnist(num_classes: int) -> Any:
    """Stem 3x3/48, blocks 48 @28x28, 96 @14x14, 192 @7x7, global average pool, fc (~0.7M parameters)."""
    from torch import nn

    widths = (48, 96, 192)
    layers: list[Any] = [nn.Conv2d(1, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()]
    cin = widths[0]
    for i, width in enumerate(widths):
        layers.append(_basic_block(cin, width, 1 if i == 0 else 2))
        cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)
