"""The lab fleet with the real things: Debian's ``redis-server`` with a password on 127.0.0.1, a real
``mlflow server``, and two real ``edgeq worker`` processes serving two profile queues.

One sweep across both queues; worker A is SIGKILLed (by pid) while it measures a job, started again,
and the job must come back redelivered, measured once more, and arrive exactly once: one record per
job, one MLflow run per fingerprint, one merged leaderboard. Pickled messages are refused on the wire
and the broker does not answer without its password.

The two profiles are local-cpu under two names (each board in a lab has its own profile), with a job
timeout that fits a quick digits job and a visibility timeout just above it, so the redelivery comes
within a minute instead of Redis's hour.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, edgeq, free_port

pytestmark = [pytest.mark.slow, pytest.mark.server]

METHODS = ["fp32", "ptq-static", "dynamic"]
LIMIT = 130
JOB_TIMEOUT_S = 40
VISIBILITY_S = 45


def _wait_for(check, timeout_s: float, what: str, poll_s: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll ``check()`` until it returns something truthy; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(poll_s)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL, by pid / process group of a process this test started."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Debian's redis-server on 127.0.0.1 with a password (installed by `make setup`)."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: `make setup` installs it (apt-get install redis-server)"
    root = tmp_path_factory.mktemp("redis")
    port, password = free_port(), secrets.token_hex(12)
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            password,
            "--protected-mode",
            "yes",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(root),
        ],
        stdout=open(root / "redis.log", "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_connect_timeout=1)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.exceptions.ConnectionError:
            return False

    try:
        _wait_for(up, 30, "redis-server to answer")
        yield {"url": f"redis://127.0.0.1:{port}/0", "password": password, "port": port, "client": client}
    finally:
        _stop(proc)


def _profile(folder: Path, name: str) -> Path:
    """local-cpu under another name: ONNX Runtime only, a short job timeout, a visibility timeout above it."""
    data = yaml.safe_load((REPO / "hardware" / "local-cpu.yaml").read_text())
    data["name"] = name
    data["description"] = f"test board {name}: this machine's CPU"
    data["runtimes"] = [r for r in data["runtimes"] if r["name"] == "ort"]
    data["measurement"]["job_timeout_s"] = JOB_TIMEOUT_S
    data["measurement"]["quick"]["single_stream"]["min_duration_s"] = 0.5
    data["dispatch"] = {"visibility_timeout_s": VISIBILITY_S}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class Board:
    """One `edgeq worker` process for a profile, with its own results root and cache, its log in a file."""

    def __init__(self, base: Path, profile: Path, env: dict[str, str]) -> None:
        self.base, self.profile, self.env = base, profile, env
        self.proc: subprocess.Popen | None = None
        self.logs: list[Path] = []

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        log = self.base / f"worker-{len(self.logs)}.log"
        self.logs.append(log)
        env = {
            **os.environ,
            **self.env,
            "EDGEQ_RESULTS_DIR": str(self.base / "results"),
            "EDGEQ_CACHE_DIR": str(self.base / "cache"),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "suite", "worker", "--target", str(self.profile)],
            cwd=REPO,
            env=env,
            stdout=open(log, "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for(
            lambda: " ready." in self.log() or self.proc.poll() is not None, 120, f"{self.profile.stem} worker to start"
        )
        assert self.proc.poll() is None, self.log()[-3000:]

    def log(self, index: int = -1) -> str:
        return self.logs[index].read_text(errors="replace") if self.logs else ""

    def started_jobs(self, index: int = -1) -> list[tuple[str, str]]:
        return re.findall(r"job (\w+) started on queue \S+ \(redelivered: (\w+)\)", self.log(index))


@pytest.fixture(scope="module")
def fleet(redis_server, mlflow_server: str, shared_cache: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A sweep over two queues with worker A killed mid-job and restarted. Returns what the tests check."""
    import psutil

    base = tmp_path_factory.mktemp("fleet")
    env = {
        "EDGEQ_BROKER_URL": redis_server["url"],
        "EDGEQ_BROKER_PASSWORD": redis_server["password"],
        "MLFLOW_TRACKING_URI": mlflow_server,
    }
    profiles = {n: _profile(base, f"fleet-cpu-{n}") for n in ("a", "b")}
    boards = {n: Board(base / f"board-{n}", profiles[n], env) for n in ("a", "b")}
    bench = None
    try:
        for board in boards.values():
            board.start()
        ws = base / "workstation"
        bench_log = base / "bench.log"
        bench = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "suite",
                "bench",
                "--fleet",
                "--target",
                f"{profiles['a']},{profiles['b']}",
                "--tasks",
                "digits-cnn",
                "--methods",
                ",".join(METHODS),
                "--quick",
                "--limit",
                str(LIMIT),
            ],
            cwd=REPO,
            env={**os.environ, **env, "EDGEQ_RESULTS_DIR": str(ws), "EDGEQ_CACHE_DIR": str(shared_cache)},
            stdout=open(bench_log, "wb"),
            stderr=subprocess.STDOUT,
        )

        a = boards["a"]
        killed_job = _wait_for(lambda: a.started_jobs() and a.started_jobs()[0][0], 600, "worker A to start a job")
        worker = psutil.Process(a.proc.pid)

        def job_process():  # type: ignore[no-untyped-def]
            kids = [p for p in worker.children(recursive=True) if "spawn_main" in " ".join(p.cmdline())]
            return kids[0] if kids else None

        child = _wait_for(job_process, 120, "worker A's job process")  # the job is being measured now
        os.kill(a.proc.pid, signal.SIGKILL)
        a.proc.wait(30)
        gone, alive = psutil.wait_procs([child], timeout=20)
        orphan = bool(alive)
        finished_before_kill = f"job {killed_job} ran" in a.log()
        a.start()  # the same board again: same results root, same queue
        out, _ = bench.communicate(timeout=600)
        bench_out = bench_log.read_text(errors="replace")
        yield {
            "base": base,
            "ws": ws,
            "env": env,
            "boards": boards,
            "profiles": profiles,
            "killed_job": killed_job,
            "orphan": orphan,
            "finished_before_kill": finished_before_kill,
            "bench_rc": bench.returncode,
            "bench_out": bench_out,
            "redis": redis_server,
            "mlflow": mlflow_server,
        }
    finally:
        if bench is not None and bench.poll() is None:
            _stop(bench)
        for board in boards.values():
            if board.proc is not None:
                _stop(board.proc)


def _records(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "records").rglob("*.json"))]


def test_killed_job_is_redelivered_and_every_record_arrives_once(fleet) -> None:  # type: ignore[no-untyped-def]
    out = fleet["bench_out"]
    assert fleet["bench_rc"] == 0, out[-5000:]
    assert not fleet["finished_before_kill"], "the SIGKILL came after the job had finished; nothing was redelivered"
    assert not fleet["orphan"], "the killed worker's job process outlived it"
    killed = fleet["killed_job"]
    restarted = fleet["boards"]["a"]
    assert (killed, "True") in restarted.started_jobs(-1), restarted.log(-1)[-3000:]

    records = _records(fleet["ws"])
    assert len(records) == 2 * len(METHODS)
    assert len({r["job_id"] for r in records}) == len(records)
    for target in ("fleet-cpu-a", "fleet-cpu-b"):
        mine = [r for r in records if r["target"]["name"] == target]
        assert sorted(r["method"]["name"] for r in mine) == sorted(METHODS)
        for r in mine:
            assert r["status"] == "ok", (r["method"], r["error"], r.get("error_tail"))
            assert r["dispatch"]["via"] == "fleet" and r["dispatch"]["queue"] == target
            assert r["accuracy"]["n"] == LIMIT and r["latency"]["quick"] is True
            assert r["accuracy"]["delta_top1"] is not None
    again = next(r for r in records if r["job_id"] == killed)
    assert again["dispatch"]["redelivered"] is True and again["target"]["name"] == "fleet-cpu-a"

    # progress: one line per record as it came back, each job exactly once
    arrivals = re.findall(r"\[(\d+)/(\d+)\] (fleet-cpu-[ab]): digits-cnn / ([\w-]+) / ort: ok", " ".join(out.split()))
    assert len(arrivals) == len(records) and {a[1] for a in arrivals} == {str(len(records))}
    assert sorted((t, m) for _, _, t, m in arrivals) == sorted(
        (r["target"]["name"], r["method"]["name"]) for r in records
    )

    # each board kept its own records too, the killed job once
    board_a = _records(fleet["boards"]["a"].base / "results")
    assert sorted(r["job_id"] for r in board_a) == sorted(
        r["job_id"] for r in records if r["target"]["name"] == "fleet-cpu-a"
    )


def test_a_second_workstation_collects_the_results_without_measuring_again(fleet, shared_cache: Path) -> None:  # type: ignore[no-untyped-def]
    """Results wait in the backend under their job ids: a workstation that lost its records (or was
    interrupted) gets them back from there; nothing is enqueued and no board measures again."""
    boards = fleet["boards"]
    starts = {n: len(b.started_jobs(-1)) for n, b in boards.items()}
    ws2 = fleet["base"] / "workstation-2"
    profiles = fleet["profiles"]
    out = edgeq(
        "bench",
        "--fleet",
        "--target",
        f"{profiles['a']},{profiles['b']}",
        "--tasks",
        "digits-cnn",
        "--methods",
        ",".join(METHODS),
        "--quick",
        "--limit",
        str(LIMIT),
        env={**fleet["env"], "EDGEQ_RESULTS_DIR": str(ws2), "EDGEQ_CACHE_DIR": str(shared_cache)},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "enqueued" not in out.stdout and "preparing" not in out.stdout, out.stdout
    first = {(r["job_id"], r["created_at"], r["status"]) for r in _records(fleet["ws"])}
    assert {(r["job_id"], r["created_at"], r["status"]) for r in _records(ws2)} == first
    assert {n: len(b.started_jobs(-1)) for n, b in boards.items()} == starts


def test_one_mlflow_run_per_job_under_one_parent_per_target(fleet) -> None:  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=fleet["mlflow"])
    exp = client.get_experiment_by_name("edgeq/digits-cnn")
    parents = {}
    for r in _records(fleet["ws"]):
        runs = client.search_runs([exp.experiment_id], filter_string=f"tags.`edgeq.fingerprint` = '{r['fingerprint']}'")
        assert len(runs) == 1, f"{r['target']['name']} {r['method']['name']}: {len(runs)} runs"
        assert runs[0].info.status == "FINISHED" and runs[0].data.tags["edgeq.status"] == "ok"
        parents.setdefault(r["target"]["name"], set()).add(runs[0].data.tags["mlflow.parentRunId"])
    assert {t: len(p) for t, p in parents.items()} == {"fleet-cpu-a": 1, "fleet-cpu-b": 1}
    for target, (parent_id,) in parents.items():
        parent = client.get_run(parent_id)
        assert parent.data.tags["edgeq.target"] == target and parent.info.status == "FINISHED"


def test_one_merged_leaderboard(fleet) -> None:  # type: ignore[no-untyped-def]
    board = fleet["ws"] / "leaderboard"
    for target in ("fleet-cpu-a", "fleet-cpu-b"):
        assert (board / target / "README.md").is_file()
    cross = (board / "cross-target.md").read_text()
    header = next(line for line in cross.splitlines() if line.startswith("| method"))
    assert "fleet-cpu-a" in header and "fleet-cpu-b" in header
    for method in METHODS:
        row = next(line for line in cross.splitlines() if line.startswith(f"| {method} |"))
        assert row.count("%") == 2, row  # a deployed top-1 from each board


def test_no_pickle_on_the_wire(fleet) -> None:  # type: ignore[no-untyped-def]
    from kombu import Connection, Exchange, Queue

    from suite.fleet.app import make_app
    from suite.fleet.config import broker_url

    redis_info = fleet["redis"]
    client = redis_info["client"]
    url = broker_url({"EDGEQ_BROKER_URL": redis_info["url"], "EDGEQ_BROKER_PASSWORD": redis_info["password"]})
    app = make_app(url)
    assert app.conf.accept_content == ["json"] and app.conf.task_serializer == "json"
    # What a job message looks like in Redis: JSON envelope, JSON body.
    app.send_task(
        "edgeq.run_job",
        kwargs={"bundle": {}, "job_id": "wire-probe", "sweep": {}},
        queue="edgeq-wire-probe",
        task_id="wire-probe",
    )
    raw = client.lrange("edgeq-wire-probe", 0, -1)
    client.delete("edgeq-wire-probe")
    assert len(raw) == 1
    envelope = json.loads(raw[0])
    assert envelope["content-type"] == "application/json"
    args, kwargs, _ = json.loads(base64.b64decode(envelope["body"]))
    assert kwargs["job_id"] == "wire-probe"
    # A pickled message on a board's queue is refused before it is decoded, and nothing runs.
    board = fleet["boards"]["a"]
    exchange = Exchange("fleet-cpu-a", type="direct")
    with Connection(url) as conn:
        conn.Producer(serializer="pickle").publish(
            {"bundle": {}, "job_id": "pickle-probe", "sweep": {}},
            exchange=exchange,
            routing_key="fleet-cpu-a",
            headers={"task": "edgeq.run_job", "id": "pickle-probe", "lang": "py", "argsrepr": "", "kwargsrepr": ""},
            declare=[Queue("fleet-cpu-a", exchange, routing_key="fleet-cpu-a")],
        )
    _wait_for(lambda: "untrusted content of type pickle" in board.log(-1), 60, "worker A to refuse the pickled message")
    assert "pickle-probe" not in " ".join(j for j, _ in board.started_jobs(-1))
    assert client.llen("fleet-cpu-a") == 0


def test_the_broker_needs_its_password(redis_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import redis

    anonymous = redis.Redis(host="127.0.0.1", port=redis_server["port"], socket_connect_timeout=2)
    with pytest.raises((redis.exceptions.AuthenticationError, redis.exceptions.ResponseError), match="(?i)auth"):
        anonymous.ping()
    profile = _profile(tmp_path, "fleet-cpu-c")
    wrong = edgeq(
        "worker",
        "--target",
        str(profile),
        env={"EDGEQ_BROKER_URL": redis_server["url"], "EDGEQ_BROKER_PASSWORD": "not-the-password-7f3a"},
        timeout=120,
    )
    assert wrong.returncode == 2 and "refused the password" in wrong.stderr and "Traceback" not in wrong.stderr, (
        wrong.stderr
    )
    assert "not-the-password-7f3a" not in wrong.stderr, "the password is never printed"
    none = edgeq(
        "worker",
        "--target",
        str(profile),
        env={"EDGEQ_BROKER_URL": redis_server["url"], "EDGEQ_BROKER_PASSWORD": ""},
        timeout=120,
    )
    assert none.returncode == 2 and "needs a password" in none.stderr, none.stderr
    unset = subprocess.run(
        [sys.executable, "-m", "suite", "bench", "--fleet", "--target", str(profile)],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "EDGEQ_BROKER_URL"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unset.returncode == 2 and "EDGEQ_BROKER_URL is not set" in unset.stderr, unset.stderr


def test_visibility_timeout_fits_the_profile(tmp_path: Path) -> None:
    from suite.errors import BadInput
    from suite.fleet.app import transport_options
    from suite.fleet.config import FETCH_ALLOWANCE_S, WORKER_STARTUP_TIMEOUT_S, visibility_timeout_s
    from suite.machine.target import load_target

    local = load_target("local-cpu").config
    expected = local.measurement.job_timeout_s + WORKER_STARTUP_TIMEOUT_S + FETCH_ALLOWANCE_S
    assert visibility_timeout_s(local) == expected and expected != 3600
    assert visibility_timeout_s(load_target(str(_profile(tmp_path, "fleet-cpu-d"))).config) == VISIBILITY_S
    too_short = local.model_copy(update={"dispatch": local.dispatch.model_copy(update={"visibility_timeout_s": 60})})
    with pytest.raises(BadInput, match="more than measurement.job_timeout_s"):
        visibility_timeout_s(too_short)
    options = transport_options("fleet-cpu-a", VISIBILITY_S)
    assert options["visibility_timeout"] == VISIBILITY_S and options["unacked_key"].endswith("fleet-cpu-a")
