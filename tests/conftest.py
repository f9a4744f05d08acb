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
from typing import Any

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


def require(module: str) -> Any:
    """``pytest.importorskip(module)``, except under CI (``CI=true``): there a module that is missing or
    does not import is an error, so a broken install fails the run instead of skipping its tests."""
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        import importlib

        return importlib.import_module(module)
    return pytest.importorskip(module)


def edgeq(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600, cwd: Path | None = None
) -> subprocess.CompletedProcess:
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (also a 'closed port' for fault tests)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A real ``mlflow server`` on 127.0.0.1 (sqlite backend, proxied artifacts), shared by the session.

    Yields its URI. Tests sharing it must not assume an empty server: look runs up by fingerprint.
    Started in its own process group and stopped by that group's id (uvicorn runs in child processes).
    """
    import signal
    import time
    import urllib.request

    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=root,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(uri + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield uri
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(3)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:  # whatever of the group is left (uvicorn workers, the job runner)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        log.close()
