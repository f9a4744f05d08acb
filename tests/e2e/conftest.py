"""Every test in this folder drives the real CLI end to end (``python -m suite`` in a subprocess, a sweep
or a bad input from the command line to its exit code): each is marked ``e2e``, so the unit tier
(``make test-fast``) can leave the folder out by marker, as it does servers, the browser and boards."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)
