"""The ``edgeq`` command line: one module per command group; ``main`` is the console script."""

from suite.cli.app import main

__all__ = ["main"]
