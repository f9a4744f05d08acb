"""The ``edgeq`` command line: one module per command group, registered on one typer app; ``main`` is
the console script and the one place where errors become exit codes.

Exit codes (docs/design.md): 0 every job ok or skipped; 1 some jobs failed (after all ran); 2 bad input
(one line on stderr, no traceback); 130 interrupted (records written so far are complete).
"""

from __future__ import annotations

import sys

import typer

# Each module registers its commands on the app; `edgeq --help` lists them in this order.
from suite.cli import sweep, catalogue, results, records, machine, bundle, fleet  # noqa: F401, I001
from suite.cli.app import app
from suite.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, BadInput


def main() -> None:
    try:
        code = app(standalone_mode=False)  # click returns an Exit's code instead of raising it here
        sys.exit(code if isinstance(code, int) else 0)
    except BadInput as exc:
        print(f"edgeq: error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("edgeq: interrupted; records written so far are complete", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.Abort):  # click's form of Ctrl-C (KeyboardInterrupt)
            print("edgeq: interrupted; records written so far are complete", file=sys.stderr)
            sys.exit(EXIT_INTERRUPTED)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(EXIT_BAD_INPUT)
        raise
