"""Leases: one owner at a time for a job or an artifact build, across processes and machines that share
a results root or a cache (a local disk or a lab's network folder).

A lease is a small JSON file next to what it guards (``<job_id>.lease`` beside the record, ``<artifact
folder>.lease`` beside the cache entry). What it relies on, and why these three: they are what NFS v3+
and SMB give every client, where ``flock``/``fcntl`` locks are not (NFS v3 needs a lock daemon that many
lab mounts lack, SMB's byte-range locks are advisory differently per client, and a lock of a client that
died may be held by the server for minutes or forever):

- ``open(O_CREAT | O_EXCL)`` creates the file only if no one else has: one process wins a race;
- ``rename`` is atomic: a stale lease is moved aside by exactly one taker;
- a file's mtime, set by the file server when the owner touches it (its heartbeat), tells how long ago
  its owner was last alive, on the server's clock (compared with the mtime of a file touched just now,
  so the machines' clocks never need to agree).

An owner is dead when, on this host (same host name and boot id), its pid is gone or is another process
(its start time differs), or the machine rebooted (another boot id); on another host, when its
heartbeat is older than ``STALE_AFTER`` intervals. A dead owner's lease is taken over; a live one is
waited for. Hand-written (stdlib only, run side): the lock libraries on PyPI (filelock, fasteners,
portalocker) use ``flock``/``fcntl`` or leave a dead owner's lock for a human to remove.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HEARTBEAT_S = float(os.environ.get("EDGEQ_LEASE_HEARTBEAT_S") or 5.0)
STALE_AFTER = 6  # heartbeats missed before an owner on another host counts as dead
WRITE_GRACE_S = 30.0  # an empty or half-written lease younger than this is being written: live
_HELD: set[Lease] = set()
_HELD_LOCK = threading.Lock()


def boot_id() -> str:
    """This machine's boot id (Linux), or '' where there is none: a reboot ends every lease of the host."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str:
    """A process's start time in clock ticks since boot (Linux), or '': tells a recycled pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def owner_facts() -> dict[str, Any]:
    """Who this process is, as a lease records it."""
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "boot_id": boot_id(),
        "process_start": process_start(pid),
        "started": time.time(),
        "token": secrets.token_hex(8),
    }


def read_owner(path: Path) -> dict[str, Any] | None:
    """The owner a lease file names; None when it is gone; {} when it cannot be read (being written)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def server_now(folder: Path) -> float:
    """The file server's clock, read as the mtime of a file touched just now in ``folder``."""
    probe = folder / f".clock-{socket.gethostname()}-{os.getpid()}"
    try:
        with open(probe, "a"):
            pass
        os.utime(probe, None)
        now = probe.stat().st_mtime
        probe.unlink()
        return now
    except OSError:
        return time.time()


def owner_alive(path: Path, owner: dict[str, Any] | None, heartbeat_s: float = HEARTBEAT_S) -> bool:
    """Whether the lease at ``path`` (naming ``owner``) still has a live owner."""
    if owner is None:
        return False
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return False
    age = server_now(path.parent) - mtime
    if not owner:  # empty or half-written: its writer is at it now, unless it is old
        return age < WRITE_GRACE_S
    local = process_alive(owner)
    return local if local is not None else age < STALE_AFTER * heartbeat_s


def process_alive(owner: dict[str, Any]) -> bool | None:
    """Whether the process ``owner`` names (``owner_facts``) still runs: known on its own host (pid,
    start time, boot id), None for a process on another host (only a heartbeat can tell)."""
    same_host = owner.get("host") == socket.gethostname()
    if same_host and owner.get("boot_id", "") == boot_id():
        pid = int(owner.get("pid") or 0)
        if pid <= 0 or not _pid_alive(pid):
            return False
        started = owner.get("process_start") or ""
        return not started or started == process_start(pid) or not process_start(pid)
    if same_host and boot_id():  # this host rebooted since: its owner is gone
        return False
    return None


class Lease:
    """A held lease: refreshed by a heartbeat thread until released (also at exit, and by ``with``)."""

    def __init__(self, path: Path, facts: dict[str, Any], heartbeat_s: float, on_disk: bool = True) -> None:
        self.path = path
        self.facts = facts
        self.heartbeat_s = heartbeat_s
        self._stop = threading.Event()
        if not on_disk:  # could not be written: nothing to refresh or remove
            self._stop.set()
            return
        self._thread = threading.Thread(target=self._beat, name=f"edgeq-lease-{path.name}", daemon=True)
        self._thread.start()
        with _HELD_LOCK:
            _HELD.add(self)

    @classmethod
    def acquire(cls, path: Path, heartbeat_s: float = HEARTBEAT_S) -> Lease | None:
        """Take the lease at ``path``: this process's now, or None while a live owner holds it. A dead
        owner's lease is taken over."""
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):  # create; else take over a dead owner's and create again
            facts = owner_facts()
            try:
                made = _create(path, facts)
            except OSError:  # full or read-only disk: run unowned; the record's own write then says why
                return cls(path, {**facts, "token": ""}, heartbeat_s, on_disk=False)
            if made:
                return cls(path, facts, heartbeat_s)
            try:
                judged = path.stat().st_ino
            except FileNotFoundError:
                continue  # released meanwhile: create again
            if owner_alive(path, read_owner(path), heartbeat_s):
                return None
            _move_aside(path, judged)
        return None

    def held(self) -> bool:
        """Whether the file still names this owner (a taker that judged it dead would have replaced it)."""
        owner = read_owner(self.path)
        return owner is not None and owner.get("token") == self.facts["token"]

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                os.utime(self.path, None)
            except OSError:
                pass

    def release(self) -> None:
        """Stop the heartbeat and remove the file if it is still this owner's."""
        if self._stop.is_set():
            return
        self._stop.set()
        with _HELD_LOCK:
            _HELD.discard(self)
        if self.held():
            try:
                self.path.unlink()
            except OSError:
                pass

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _create(path: Path, facts: dict[str, Any]) -> bool:
    """O_CREAT|O_EXCL: True if this call made the file (and wrote the owner into it)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    try:  # no fsync: after a power loss the boot id has changed, and the lease is stale anyway
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(facts))
    except OSError:  # a full disk: no lease left behind half-written; the caller goes on without one
        try:
            path.unlink()
        except OSError:
            pass
        raise
    return True


def _move_aside(path: Path, judged_inode: int) -> None:
    """Move a dead owner's lease aside by rename (one taker wins); if what was moved is not the file
    that was judged dead (another taker replaced it by a live owner's meanwhile), it is put back."""
    aside = path.with_name(f".{path.name}.{secrets.token_hex(6)}.dead")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    try:
        moved_inode = aside.stat().st_ino
    except OSError:
        return
    if moved_inode != judged_inode:
        try:
            os.link(aside, path)  # back, unless yet another owner made one meanwhile
        except OSError:
            pass
    try:
        aside.unlink()
    except OSError:
        pass


def wait_free(
    path: Path, heartbeat_s: float = HEARTBEAT_S, poll_s: float = 0.5, timeout_s: float | None = None
) -> bool:
    """Wait until the lease at ``path`` is gone or its owner is dead; False if ``timeout_s`` ran out."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        owner = read_owner(path)
        if owner is None or not owner_alive(path, owner, heartbeat_s):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


@atexit.register
def _release_all() -> None:
    """Leases still held at exit (an interrupted sweep) are released, not left for others to time out."""
    with _HELD_LOCK:
        held = list(_HELD)
    for lease in held:
        lease.release()


@contextmanager
def holding(path: Path, heartbeat_s: float = HEARTBEAT_S) -> Iterator[Lease]:
    """Wait for the lease at ``path`` (as long as its owner lives), hold it for the block, release it."""
    while True:
        lease = Lease.acquire(path, heartbeat_s)
        if lease is not None:
            break
        wait_free(path, heartbeat_s)
    with lease:
        yield lease
