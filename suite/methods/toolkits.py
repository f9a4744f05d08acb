"""What the third-party toolkit methods (NNCF, AIMET, Brevitas, ExecuTorch) share: importing the toolkit
with a line that says how to install it, and turning a toolkit's failure into one line that names the
toolkit, its version and the cause.

A toolkit that is not installed makes its jobs ``skipped`` (``NotAvailableHere``, like a missing vendor
compiler), not failed: the sweep's other rows are still comparable. A toolkit that refuses the model
(an operator it does not know, a dynamic shape it cannot handle) fails that job with
``nncf 3.4.0 cannot quantize this model: <the toolkit's own last line>``; the sweep goes on.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Iterator
from typing import Any

from suite.errors import BadInput, JobFailed, NotAvailableHere
from suite.registry import dist_version

EXTRA = "pip install -e '.[toolkits]' (make setup installs it; aimet-onnx with --no-deps, see the Makefile)"


def version_of(dist: str) -> str:
    return dist_version(dist) or "not installed"


def require(module: str, dist: str) -> Any:
    """Import a toolkit module, or raise NotAvailableHere naming the distribution and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise NotAvailableHere(f"{dist} is not installed or does not import ({exc}): {EXTRA}") from None


def cause(exc: BaseException) -> str:
    """A toolkit exception as one line: its last non-empty line (the cause, after any traceback text)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = lines[-1] if lines else ""
    return f"{type(exc).__name__}: {text}"[:400] if text else type(exc).__name__


@contextlib.contextmanager
def toolkit_errors(dist: str, what: str = "quantize this model") -> Iterator[None]:
    """Any exception inside becomes ``JobFailed("<dist> <version> cannot <what>: <cause>")``; the
    suite's own BadInput/NotAvailableHere/JobFailed pass through unchanged."""
    try:
        yield
    except (BadInput, JobFailed, NotAvailableHere):
        raise
    except Exception as exc:
        raise JobFailed(f"{dist} {version_of(dist)} cannot {what}: {cause(exc)}") from exc


@contextlib.contextmanager
def quiet(*loggers: str) -> Iterator[None]:
    """Silence the toolkits' INFO chatter (progress is printed by the sweep, not by each library)."""
    saved = [(name, logging.getLogger(name).level) for name in loggers]
    for name in loggers:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in saved:
            logging.getLogger(name).setLevel(level)
