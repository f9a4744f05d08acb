"""The sweep's progress display: job k of n, its phase (from the job process), the elapsed time; one
line per phase when the output is not a terminal (a real sweep, piped), redrawn in place on one.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from suite.job.spec import Job
from tests.conftest import REPO, edgeq


def phased_runner(job: Job) -> dict[str, Any]:
    """A runner (module level: the spawned job process imports it) that goes through the phases as a job
    does, through ``suite.job.phase``."""
    from suite.job.phase import phase

    for name in ("preparing", "quantizing", "accuracy", "timing"):
        phase(name)
    return {"status": "ok", "job_id": job.job_id}


LINE = re.compile(r"^\[(\d+):(\d\d)\] job (\d)/(\d) digits-cnn / (\S+) / ort: (\S+)(?:, \w+)? \(\d+:\d\d\)$")


@pytest.mark.slow
def test_a_piped_sweep_prints_one_line_per_job_and_phase(results_dir: Path) -> None:
    out = edgeq("bench", "--quick", "--limit", "60", "--methods", "fp32,ptq-static", "--runtimes", "ort", "--no-mlflow")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [m.groups() for m in map(LINE.match, out.stdout.splitlines()) if m]
    by_job: dict[str, list[str]] = {}
    for _m, _s, k, n, method, phase in lines:
        assert n == "2"
        by_job.setdefault(f"{k} {method}", []).append(phase)
    assert list(by_job) == ["1 fp32", "2 ptq-static"], out.stdout
    for phases in by_job.values():
        # the job process's phases, in order, between its start and its record (training and quantizing
        # only when they happen: a cached reference model or artifact skips them)
        assert phases[0] == "started" and phases[-1] == "ran", phases
        assert "accuracy" in phases and "timing" in phases, phases
        assert phases.index("accuracy") < phases.index("timing"), phases
        assert set(phases[1:-1]) <= {"preparing", "training", "quantizing", "accuracy", "timing"}, phases
    assert "\x1b[" not in out.stdout  # no cursor movement in a log


def test_a_terminal_redraws_one_line_in_place() -> None:
    from rich.console import Console

    from suite.sweep.progress import SweepProgress

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    job = SimpleNamespace(label="digits-cnn / qat / ort", task_name="digits-cnn")
    with SweepProgress(console, 3) as progress:
        assert progress.live
        progress.started(job)
        progress.phase(job, "training")
        progress._progress.refresh()
        shown = buffer.getvalue()
        assert "job 1/3 digits-cnn / qat / ort: training (0:00)" in shown
        assert "0/3" in shown  # the bar: none finished yet
        progress.finished(SimpleNamespace(job=job, record={"status": "ok"}, how="ran"))
        progress._progress.refresh()
        assert "1/3" in buffer.getvalue()
    assert "\x1b[" in buffer.getvalue()  # drawn with cursor control, not one line per event
    assert "[0:00] job 1/3" not in buffer.getvalue()  # the plain lines are the non-terminal form only


def test_the_job_process_reports_its_phases_on_its_pipe() -> None:
    """``JobProcess`` hears each phase the job enters, in order, without changing the record it returns."""
    from suite.job.isolate import JobProcess
    from suite.job.plan import plan
    from suite.job.request import SweepRequest
    from suite.machine.target import load_target

    heard: list[str] = []
    job = plan(load_target(str(REPO / "hardware" / "local-cpu.yaml")), SweepRequest()).jobs[0]
    with JobProcess(phased_runner, on_phase=lambda j, name: heard.append(f"{j.job_id}:{name}")) as process:
        record = process.run(job, 60)
    assert record["status"] == "ok", record
    assert heard == [f"{job.job_id}:{name}" for name in ("preparing", "quantizing", "accuracy", "timing")]
    assert record == {"status": "ok", "job_id": job.job_id}  # phases travel beside the record, never in it
