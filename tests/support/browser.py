"""Headless Debian chromium through chromedriver (selenium), for the page tests and the docs screenshots.

Never a downloaded browser (only package registries are reachable): ``make setup`` installs Debian's
``chromium`` and ``chromium-driver``. Under CI (``CI=true``) a missing browser fails the test that needs
it; elsewhere it skips with the command that installs it. Chromium runs as root here, so it needs
``--no-sandbox``; a fresh profile folder per browser keeps runs independent.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("EDGEQ_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("EDGEQ_CHROMEDRIVER", "/usr/bin/chromedriver"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]


def missing_reason() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (path.is_file() and os.access(path, os.X_OK)):
            return f"{path} is missing: run `make setup` (as root) or `apt-get install chromium chromium-driver`"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: run `make setup`"
    return None


def require_browser() -> None:
    """Skip (or, under CI, fail) when the browser cannot run here."""
    reason = missing_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true and the browser test cannot run: {reason}")
    pytest.skip(reason)


@contextmanager
def chromium(width: int = 1280, height: int = 900, phone: bool = False) -> Iterator[Any]:
    """A selenium driver for headless chromium; ``phone`` emulates a 412 px wide touch screen at 2x."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="edgeq-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS + [f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    if phone:
        options.add_experimental_option(
            "mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0, "touch": True}}
        )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
