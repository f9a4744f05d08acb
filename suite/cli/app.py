"""The typer application every command module registers on, and what they share."""

from __future__ import annotations

from typing import Any

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="EdgeQ: quantization benchmarks on edge hardware.")


def split(values: list[str] | None, option: str = "the option") -> list[str] | None:
    """Accept both ``--methods a,b`` and ``--methods a --methods b``; an option given with no name in it
    (``--methods ""``, ``--methods ,,,``) is an error, never the default sweep."""
    if not values:
        return None
    names = [v.strip() for item in values for v in item.split(",") if v.strip()]
    if not names:
        from suite.errors import BadInput

        raise BadInput(f"{option}: got {','.join(values)!r}, expected one or more names separated by commas")
    return names


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False)
