"""The typer application every command module registers on, and what they share."""

from __future__ import annotations

from typing import Any, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="EdgeQ: quantization benchmarks on edge hardware.")


def split(values: Optional[list[str]]) -> list[str] | None:
    """Accept both ``--methods a,b`` and ``--methods a --methods b``."""
    if not values:
        return None
    return [v for item in values for v in item.split(",") if v]


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False)
