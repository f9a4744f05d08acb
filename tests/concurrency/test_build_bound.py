"""The build and the measurement of a job have their own bounds (``measurement.build_timeout_s`` and
``job_timeout_s``): a build that runs out names the build, a measurement that runs out names the
measurement, and the measurement's bound starts only when the build says it is done."""

from __future__ import annotations

import os
import time
from typing import Any

from suite.job.isolate import JobProcess, enter_measurement
from suite.job.plan import plan
from suite.job.request import SweepRequest
from suite.job.spec import Job
from suite.machine.target import load_target
from tests.conftest import REPO


def phased_runner(job: Job) -> dict[str, Any]:
    """Builds for EDGEQ_TEST_BUILD_S, then measures for EDGEQ_TEST_MEASURE_S (sleeps: the bounds are what is tested)."""
    time.sleep(float(os.environ["EDGEQ_TEST_BUILD_S"]))
    enter_measurement()
    time.sleep(float(os.environ["EDGEQ_TEST_MEASURE_S"]))
    return {"status": "ok"}


def _job() -> Job:
    return plan(load_target(str(REPO / "hardware" / "local-cpu.yaml")), SweepRequest()).jobs[0]


def _run(build_s: float, measure_s: float, timeout_s: float, build_timeout_s: float) -> dict[str, Any]:
    env = {"EDGEQ_TEST_BUILD_S": str(build_s), "EDGEQ_TEST_MEASURE_S": str(measure_s)}
    with JobProcess(phased_runner, env=env) as process:
        return process.run(_job(), timeout_s, build_timeout_s)


def test_a_long_build_does_not_eat_the_measurements_bound() -> None:
    # 4 s of build then 2 s of measurement: over the 3 s measurement bound in all, within each bound
    assert _run(4, 2, timeout_s=3, build_timeout_s=20)["status"] == "ok"


def test_a_build_that_runs_out_names_the_build() -> None:
    record = _run(60, 0, timeout_s=60, build_timeout_s=2)
    assert record["status"] == "failed" and record["error_kind"] == "timeout"
    assert record["timeout_phase"] == "build"
    assert "measurement.build_timeout_s" in record["error"]


def test_a_measurement_that_runs_out_names_the_measurement() -> None:
    record = _run(0, 60, timeout_s=2, build_timeout_s=60)
    assert record["timeout_phase"] == "measure"
    assert record["error"].startswith("timed out after 2 s (measurement.job_timeout_s")
