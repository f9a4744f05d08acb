"""The fleet's faults with the real servers: Debian's ``redis-server`` restarted in the middle of a sweep,
and a worker SIGKILLed while it sends its result back. Every planned job must still end with exactly one
record (status ok) at the workstation and exactly one finished MLflow run.

The broker here keeps nothing on disk (``--save ""``, no append-only file), so a restart loses every
queued message, every unacknowledged one and every stored result: the harshest restart (a crash, or a
lab Redis run without persistence). A restart that keeps its data only makes the workstation's re-sent
messages find their jobs already done. (The MLflow server restarted mid-sweep is
tests/concurrency/test_server_restart.py.)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port
from tests.fleet.test_fleet import LIMIT, Board, _profile, _stop, _wait_for

pytestmark = [pytest.mark.slow, pytest.mark.server]

METHODS = ["fp32", "ptq-static", "dynamic"]


class Redis:
    """One redis-server on a fixed port and password that can be killed and started again."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: `make setup` installs it (apt-get install redis-server)"
        self.binary, self.root = binary, root
        self.port, self.password = free_port(), secrets.token_hex(12)
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.starts += 1
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--requirepass", self.password]
            + ["--protected-mode", "yes", "--save", "", "--appendonly", "no", "--dir", str(self.root)],
            stdout=open(self.root / f"redis-{self.starts}.log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password, socket_connect_timeout=1)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.exceptions.ConnectionError:
                return False

        try:
            _wait_for(up, 30, "redis-server to answer")
        finally:
            client.close()

    def kill(self) -> None:
        if self.proc is not None:
            _stop_hard(self.proc)


def _stop_hard(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


@pytest.fixture()
def broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = Redis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _bench(profile: Path, env: dict[str, str], ws: Path, cache: Path, log: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", "suite", "bench", "--fleet", "--target", str(profile), "--tasks", "digits-cnn"]
    args += ["--methods", ",".join(METHODS), "--quick", "--limit", str(LIMIT)]
    return subprocess.Popen(
        args,
        cwd=REPO,
        env={**os.environ, **env, "EDGEQ_RESULTS_DIR": str(ws), "EDGEQ_CACHE_DIR": str(cache), "COLUMNS": "250"},
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
    )


def _check_one_record_and_one_run_each(ws: Path, uri: str, target: str, out: str) -> list[dict]:
    from mlflow.tracking import MlflowClient

    records = [json.loads(p.read_text()) for p in sorted((ws / "records").rglob("*.json"))]
    assert sorted(r["method"]["name"] for r in records) == sorted(METHODS), out[-4000:]
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("edgeq/digits-cnn")
    for record in records:
        assert record["status"] == "ok", (record["method"], record.get("error"), out[-4000:])
        assert record["target"]["name"] == target and record["dispatch"]["via"] == "fleet"
        runs = client.search_runs(
            [experiment.experiment_id], filter_string=f"tags.`edgeq.fingerprint` = '{record['fingerprint']}'"
        )
        assert [r.info.status for r in runs] == ["FINISHED"], (record["method"]["name"], out[-4000:])
    return records


@pytest.mark.timeout(900)
def test_broker_restarted_mid_sweep_every_job_once(
    tmp_path: Path, broker: Redis, mlflow_server: str, shared_cache: Path
) -> None:
    """redis-server killed while the board measures the first job and started again empty: the worker
    reconnects, the workstation sends again what the broker lost, and nothing is measured twice."""
    profile = _profile(tmp_path, "fault-cpu-r")
    env = {
        "EDGEQ_BROKER_URL": broker.url,
        "EDGEQ_BROKER_PASSWORD": broker.password,
        "MLFLOW_TRACKING_URI": mlflow_server,
    }
    board = Board(tmp_path / "board", profile, env)
    bench = None
    try:
        board.start()
        log = tmp_path / "bench.log"
        bench = _bench(profile, env, tmp_path / "workstation", shared_cache, log)
        _wait_for(lambda: board.started_jobs() or bench.poll() is not None, 600, "the board to start a job")
        assert bench.poll() is None, log.read_text(errors="replace")[-3000:]
        broker.kill()  # mid-job: queued messages, the unacknowledged one and stored results are gone
        time.sleep(2)
        broker.start()
        bench.wait(timeout=700)
        out = log.read_text(errors="replace")
        assert bench.returncode == 0, out[-5000:]
        assert "Traceback" not in out, out[-5000:]
    finally:
        if bench is not None and bench.poll() is None:
            _stop(bench)
        if board.proc is not None:
            _stop(board.proc)
    _check_one_record_and_one_run_each(tmp_path / "workstation", mlflow_server, "fault-cpu-r", out)
    # measured once each: a job the broker lost while it ran was answered from the board's own record
    assert board.log().count(" ran: ") == len(METHODS), board.log()[-4000:]


@pytest.mark.timeout(900)
def test_worker_killed_while_sending_its_result(
    tmp_path: Path, broker: Redis, mlflow_server: str, shared_cache: Path
) -> None:
    """The board is SIGKILLed once its first record is stored, while it logs the run and returns the
    result: restarted, it gets the job again and answers from that record, measuring nothing twice."""
    profile = _profile(tmp_path, "fault-cpu-k")
    env = {
        "EDGEQ_BROKER_URL": broker.url,
        "EDGEQ_BROKER_PASSWORD": broker.password,
        "MLFLOW_TRACKING_URI": mlflow_server,
    }
    board = Board(tmp_path / "board", profile, env)
    board_records = tmp_path / "board" / "results" / "records"
    bench = None
    try:
        board.start()
        log = tmp_path / "bench.log"
        bench = _bench(profile, env, tmp_path / "workstation", shared_cache, log)
        first = _wait_for(
            lambda: (
                [p for p in board_records.rglob("*.json") if not p.name.startswith(".")] or bench.poll() is not None
            ),
            600,
            "the board's first record",
            poll_s=0.01,
        )
        assert bench.poll() is None, log.read_text(errors="replace")[-3000:]
        os.kill(board.proc.pid, signal.SIGKILL)  # stored, not yet acknowledged: logging and returning it
        board.proc.wait(30)
        killed_job = first[0].stem
        sent_back = f"job {killed_job} ran" in board.log()
        board.start()  # the same board again: same results root, same queue
        bench.wait(timeout=700)
        out = log.read_text(errors="replace")
        assert bench.returncode == 0, out[-5000:]
    finally:
        if bench is not None and bench.poll() is None:
            _stop(bench)
        if board.proc is not None:
            _stop(board.proc)
    assert not sent_back, "the SIGKILL came after the worker had sent the result; nothing was cut off"
    records = _check_one_record_and_one_run_each(tmp_path / "workstation", mlflow_server, "fault-cpu-k", out)
    assert killed_job in {r["job_id"] for r in records}
    again = board.log(-1)
    assert f"job {killed_job} stored" in again, again[-4000:]  # answered from its record, not measured again
    assert board.started_jobs(0) == [(killed_job, "False")]  # killed before its "ran" line
    assert again.count(" ran: ") == len(METHODS) - 1 and again.count(" stored: ") == 1, again[-4000:]
