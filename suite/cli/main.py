"""The ``edgeq`` command line: one module per command group, registered on one typer app; ``main`` is
the console script and the one place where errors become exit codes.

Exit codes (docs/design.md): 0 every job ok or skipped; 1 some jobs failed (after all ran); 2 bad input
(one line on stderr, no traceback); 130 interrupted (records written so far are complete); 143 and 129 stopped
by SIGTERM or SIGHUP, handled as Ctrl-C is (``suite.cli.stop_signals``).

Why the click exceptions are recognised by name: typer 0.12-0.16 raise ``click``'s own exceptions,
while typer 0.17+ carry a private copy of click (``typer._click``) whose ``UsageError`` is not a
``click.ClickException``. Matching the class names along the exception's MRO, for classes defined in
either package, handles both without importing the one that is not in use.
"""

from __future__ import annotations

import sys
from typing import Any

# Each module registers its commands on the app; `edgeq --help` lists them in this order.
from suite.cli import bundle, catalogue, fleet, machine, records, results, stop_signals, sweep  # noqa: F401, I001
from suite.cli.app import app
from suite.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, BadInput

INTERRUPTED = "edgeq: interrupted; records written so far are complete"


def main() -> None:
    _stack_dumps_on_sigusr1()
    stop_signals.install()
    sys.exit(run(sys.argv[1:]))


def _stack_dumps_on_sigusr1() -> None:
    """``kill -USR1 <pid>`` prints every thread's stack to stderr: how to see where a sweep that does not
    answer is waiting (the tests ask for it when a sweep outlives its deadline)."""
    import faulthandler
    import signal

    if hasattr(signal, "SIGUSR1"):
        try:
            faulthandler.register(signal.SIGUSR1, all_threads=True)
        except (AttributeError, ValueError, OSError):  # stderr without a file descriptor (captured in tests)
            pass


def run(argv: list[str]) -> int:
    """Run one command line and return its exit code; every error that is not a bug is one line."""
    try:
        code = app(args=argv, prog_name="edgeq", standalone_mode=False)  # click returns an Exit's code here
    except BadInput as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as exc:
        kinds = click_kinds(exc)
        if "Exit" in kinds:
            code = getattr(exc, "exit_code", 0)
        elif "Abort" in kinds:  # click's form of Ctrl-C (and of EOF at a prompt)
            return _interrupted()
        elif "NoArgsIsHelpError" in kinds:  # `edgeq` (or a group) with nothing after it: the help, not an error
            ctx = getattr(exc, "ctx", None)
            print(ctx.get_help() if ctx is not None else exc)
            return 0
        elif "ClickException" in kinds:
            return _error(usage_line(exc))
        else:
            raise
    code = code if isinstance(code, int) else 0
    if code == EXIT_INTERRUPTED:  # typer 0.17+ turns Ctrl-C into Exit(130) and says nothing
        return _interrupted()
    return code


def _error(line: str) -> int:
    print(f"edgeq: error: {' '.join(line.split())}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _interrupted() -> int:
    number = stop_signals.received()
    if number is None:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    print(stopped_line(number), file=sys.stderr)
    return 128 + number


def stopped_line(number: int) -> str:
    """The one line of a command stopped by SIGTERM or SIGHUP."""
    return f"edgeq: stopped by {stop_signals.name_of(number)}; records written so far are complete"


def click_kinds(exc: BaseException) -> set[str]:
    """Names of the click/typer exception classes ``exc`` is an instance of (``UsageError``, ``Exit``...)."""
    return {cls.__name__ for cls in type(exc).__mro__ if cls.__module__.split(".")[0] in ("click", "typer")}


def usage_line(exc: Any) -> str:
    """``<command>: <what was wrong>; <what is accepted>`` for a click usage error."""
    import difflib

    ctx = getattr(exc, "ctx", None)
    try:
        wrong = exc.format_message()
    except Exception:  # a click version whose message needs what it lost
        wrong = str(exc)
    wrong = " ".join(str(wrong).split()).rstrip(".") or type(exc).__name__
    if ctx is None:
        return f"{wrong}; see `edgeq --help`"
    path = ctx.command_path or "edgeq"
    command = ctx.command
    accepted = ""
    subcommands = sorted(getattr(command, "commands", {}) or {})
    kinds = click_kinds(exc)
    if subcommands and ("No such command" in wrong or "Missing command" in wrong):
        given = wrong.split("'")[1] if wrong.count("'") >= 2 else ""
        close = difflib.get_close_matches(given, subcommands, n=1)
        hint = f"did you mean {close[0]!r}? " if close and "Did you mean" not in wrong else ""
        accepted = f"{hint}commands: {', '.join(subcommands)}"
    elif "NoSuchOption" in kinds:
        options = sorted(
            o
            for p in command.params
            if getattr(p, "param_type_name", "") == "option"
            for o in p.opts
            if o.startswith("--")
        )
        given = str(getattr(exc, "option_name", "") or "")
        close = difflib.get_close_matches(given, options, n=1)
        wrong = f"no such option {given}" if given else wrong
        accepted = (f"did you mean {close[0]}? " if close else "") + f"options: {', '.join(options + ['--help'])}"
    else:
        param = getattr(exc, "param", None)
        helptext = " ".join(str(getattr(param, "help", "") or "").split())
        names = [o for o in getattr(param, "opts", []) if o.startswith("--")] or [
            str(getattr(param, "name", "") or "").upper()
        ]
        if helptext:
            accepted = f"{names[0]}: {helptext}"
    return f"{path}: {wrong}; {accepted + '; ' if accepted else ''}see `{path} --help`"
