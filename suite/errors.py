"""Error types that the CLI turns into exit codes (docs/design.md, "Exit codes").

``BadInput`` is anything the user can fix by changing a file or a flag: the CLI prints its one-line
message on stderr and exits 2, never with a traceback. ``JobFailed`` is a failure inside one job: the
sweep records it and goes on.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_JOBS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class BadInput(Exception):
    """A user error with a one-line message naming the file/key/value and what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class JobFailed(Exception):
    """One job could not complete; the sweep records it as failed and moves on."""


class MissingEnv(BadInput):
    """A task file names an environment variable (``${IMAGENET_VAL_DIR}``) that is not set.

    Its jobs are recorded as ``skipped`` with this one line, which says which variable to set: a task
    that needs data a machine does not have is not a failure of the sweep.
    """


class NotAvailableHere(Exception):
    """A job this machine cannot run for a stated reason, such as a vendor compiler that is not installed
    (``edgetpu_compiler``). Recorded as ``skipped`` with the reason and how to get the tool, like a task
    whose data is missing: not a failure of the sweep."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
