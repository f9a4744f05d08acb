"""What the llama.cpp tests share: the build check (skip here, fail under CI) and a tiny causal LM task with its GGUFs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.zoo.test_transformers_tasks import lm_task


def require_llamacpp() -> None:
    """Skip when ``make llamacpp`` has not been run here; under CI (``CI=true``, where ``make test`` builds it) fail."""
    from suite.runtimes.llamacpp_build import stamp

    if stamp() is None:
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail("llama.cpp is not built in this environment, but make test builds it (make llamacpp)")
        pytest.skip("llama.cpp is not built in this environment: run `make llamacpp`")


def micro_task(folder: Path) -> Path:
    """A one-layer Llama trained in seconds on a small text (tests/zoo/test_transformers_tasks.py's gpt-micro)."""
    return lm_task(folder)


def built_gguf(task_file: Path, method: str) -> tuple[Path, dict]:
    """The GGUF a method makes of the task (built in this process through the suite's own cache), and its record."""
    from suite.config import load_task
    from suite.job.build import build_artifact

    artifact, _ = build_artifact(load_task(str(task_file)), method, {}, "test")
    return Path(artifact.path), artifact.to_record()
