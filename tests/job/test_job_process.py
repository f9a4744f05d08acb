"""The job process holds its timing while the sweep works beside it (``suite.job.isolate``): the sweep's
background MLflow open takes a core for seconds, and a timing next to it would read that as the model."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any

from suite.job.isolate import JobProcess
from suite.job.plan import plan
from suite.job.quiet import sweep_busy, wait_for_quiet_sweep
from suite.job.request import SweepRequest
from suite.job.spec import Job
from suite.machine.target import load_target
from tests.conftest import REPO


def waiting_runner(job: Job) -> dict[str, Any]:
    """A runner that only does what measure() does before timing: wait for a quiet sweep."""
    t0 = time.monotonic()
    waited = wait_for_quiet_sweep()
    return {"status": "ok", "waited": waited, "elapsed": time.monotonic() - t0}


def test_timing_waits_while_the_sweep_is_busy() -> None:
    job = plan(load_target(str(REPO / "hardware" / "local-cpu.yaml")), SweepRequest()).jobs[0]
    with JobProcess(waiting_runner) as process:
        assert process.run(job, 60)["waited"] == 0.0  # quiet: nothing to wait for
        entered = threading.Event()

        def busy_for_a_while() -> None:
            with sweep_busy():
                entered.set()
                time.sleep(0.8)

        worker = threading.Thread(target=busy_for_a_while)
        worker.start()
        entered.wait(10)  # the sweep is busy before the job is handed over
        record = process.run(job, 60)
        worker.join()
        assert 0.5 <= record["waited"] <= 5.0 and record["elapsed"] >= 0.5
        assert process.started == 1  # the same job process, handed the same Event


_KEPT_LOCKS: list[Any] = []


def lock_making_runner(job: Job) -> dict[str, Any]:
    """Makes a multiprocessing lock and keeps it, as tqdm's write lock in a quantizer's progress bar does."""
    import multiprocessing

    _KEPT_LOCKS.append(multiprocessing.RLock())
    return {"status": "ok"}


SWEEP_WITH_A_LOCK = """
from suite.job.isolate import JobProcess
from suite.job.plan import plan
from suite.job.request import SweepRequest
from suite.machine.target import load_target
from tests.job.test_job_process import lock_making_runner

job = plan(load_target("local-cpu"), SweepRequest()).jobs[0]
with JobProcess(lock_making_runner) as process:
    assert process.run(job, 120)["status"] == "ok"
print("sweep done")
"""


def test_a_job_processs_semaphores_are_released_when_it_ends() -> None:
    """No "leaked semaphore objects" warning when the sweep exits after its job process made a lock.
    The resource tracker prints it on the sweep's stderr as it shuts down, after the sweep itself."""
    done = subprocess.run(
        [sys.executable, "-c", SWEEP_WITH_A_LOCK], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and "sweep done" in done.stdout, done.stdout + done.stderr
    assert "leaked semaphore" not in done.stderr, done.stderr
