"""Telling a restarted broker from one that is down or slow: Redis's ``run_id``.

Redis draws a new random ``run_id`` (``INFO server``) every time it starts. The workstation reads it once
before it sends a sweep's messages and once per collection round after: the same id means the messages it
sent are still there (or were taken by a board); another id means the broker restarted in between, and
may have come back without them (no persistence, or a crash between two snapshots), so the jobs it has
no result for are sent again (``suite.fleet.dispatch``). No answer means it is down: wait.
"""

from __future__ import annotations

from typing import Any, Literal

from suite.fleet.config import redact

Change = Literal["up", "down", "restarted"]


class BrokerWatch:
    """The broker's ``run_id`` as last seen, and whether the outage in progress has been reported."""

    def __init__(self, url: str, timeout_s: float = 2.0) -> None:
        import redis

        self.url = url
        self._client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
        self.run_id: str | None = None
        self.problem = ""
        self._reported = False

    def check(self) -> Change:
        """Ask the broker once: ``up`` (same run as before, or the first answer), ``restarted`` or ``down``."""
        try:
            info: Any = self._client.info("server")
            run_id = str(info["run_id"])
        except self._errors as exc:
            self.went_down(f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
            return "down"
        self._reported = False  # up again: a later outage gets its own line
        previous, self.run_id = self.run_id, run_id
        if previous is None or previous == run_id:
            return "up"
        return "restarted"

    def went_down(self, problem: str) -> None:
        """Seen down (here or by a caller's request to it)."""
        self.problem = f"{redact(self.url)}: {problem}"

    def says_down(self) -> bool:
        """True once per outage: the caller prints one line, not one per round."""
        first, self._reported = not self._reported, True
        return first

    def forget(self, problem: str) -> None:
        """What was to follow a restart failed (the broker went down again): the next answer counts as a
        restart once more, whatever its ``run_id``."""
        self.went_down(problem)
        self.run_id = ""

    def close(self) -> None:
        self._client.close()
