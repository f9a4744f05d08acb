"""Leases (suite.records.lease): one owner among racing processes, a dead owner's lease taken over (pid
gone, recycled pid, rebooted host, silent other host), a live one respected, released at exit."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from suite.records.lease import Lease, boot_id, owner_alive, process_start, read_owner, wait_free


def _write_owner(path: Path, **facts: object) -> None:
    base = {"pid": 0, "host": socket.gethostname(), "boot_id": boot_id(), "process_start": "", "token": "x"}
    path.write_text(json.dumps({**base, **facts}))


def test_a_live_owner_keeps_its_lease_and_release_frees_it(tmp_path: Path) -> None:
    path = tmp_path / "job.lease"
    first = Lease.acquire(path)
    assert first is not None and first.held()
    assert Lease.acquire(path) is None  # this process is alive: the lease stands
    first.release()
    assert not path.exists()
    second = Lease.acquire(path)
    assert second is not None
    second.release()


def test_the_lease_of_a_dead_pid_is_taken_over(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = tmp_path / "job.lease"
    _write_owner(path, pid=int(gone.stdout))
    lease = Lease.acquire(path)
    assert lease is not None and read_owner(path)["pid"] == os.getpid()
    lease.release()
    assert not [p for p in tmp_path.iterdir()], "the dead owner's lease was moved aside and removed"


def test_a_recycled_pid_or_a_reboot_ends_a_lease_on_this_host(tmp_path: Path) -> None:
    path = tmp_path / "job.lease"
    _write_owner(path, pid=os.getppid(), process_start="1")  # a live pid, but not the process that wrote it
    assert process_start(os.getppid()) != "1"
    assert not owner_alive(path, read_owner(path))
    _write_owner(path, pid=os.getpid(), boot_id="another-boot")
    assert not owner_alive(path, read_owner(path)) or not boot_id()


def test_another_hosts_lease_lives_while_its_heartbeat_does(tmp_path: Path) -> None:
    path = tmp_path / "job.lease"
    _write_owner(path, host="board-7", pid=1, boot_id="b")
    assert owner_alive(path, read_owner(path), heartbeat_s=1.0)  # touched just now
    old = time.time() - 60
    os.utime(path, (old, old))
    assert not owner_alive(path, read_owner(path), heartbeat_s=1.0)  # six heartbeats missed
    lease = Lease.acquire(path, heartbeat_s=1.0)
    assert lease is not None
    before = path.stat().st_mtime
    time.sleep(2.5)
    assert path.stat().st_mtime > before  # the owner's heartbeat keeps it fresh
    lease.release()


def _race(path: str, start: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    while time.time() < start:
        time.sleep(0.001)
    lease = Lease.acquire(Path(path))
    queue.put(os.getpid() if lease is not None else 0)
    time.sleep(1.0)  # hold it while the others try


def test_one_winner_among_racing_processes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start = time.time() + 3.0
    procs = [ctx.Process(target=_race, args=(str(tmp_path / "job.lease"), start, queue)) for _ in range(6)]
    for proc in procs:
        proc.start()
    winners = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert len([w for w in winners if w]) == 1, winners
    assert not (tmp_path / "job.lease").exists()  # released at the winner's exit


def test_a_killed_owner_is_waited_for_no_longer_than_its_death(tmp_path: Path) -> None:
    path = tmp_path / "job.lease"
    code = "import sys,time; from pathlib import Path; from suite.records.lease import Lease; l=Lease.acquire(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)"
    owner = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "held"
        assert Lease.acquire(path) is None
        assert not wait_free(path, timeout_s=1.0)
        owner.kill()  # SIGKILL: no release, the file stays
        owner.wait()
        assert path.exists()
        assert wait_free(path, timeout_s=10.0)
        lease = Lease.acquire(path)
        assert lease is not None
        lease.release()
    finally:
        owner.kill()
        owner.wait()
