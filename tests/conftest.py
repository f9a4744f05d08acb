"""Shared fixtures: an isolated results root per test, one model/artifact cache per test session.

Every test runs with ``EDGEQ_RESULTS_DIR`` in its own temporary folder (records, MLflow store,
leaderboards never leak between tests), while trained checkpoints and quantized artifacts are shared
through ``EDGEQ_CACHE_DIR`` so the digits CNN is trained once per session, not once per test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edgeq-cache")


@pytest.fixture(autouse=True)
def results_dir(tmp_path: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "results"
    monkeypatch.setenv("EDGEQ_RESULTS_DIR", str(root))
    monkeypatch.setenv("EDGEQ_CACHE_DIR", str(shared_cache))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return root


def edgeq(*args: str, env: dict[str, str] | None = None, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (``python -m suite``), with the test's environment."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "suite", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd or REPO,
    )
