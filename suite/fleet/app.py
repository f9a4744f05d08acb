"""The Celery app of a fleet: one queue per hardware profile, JSON on the wire, late acknowledgement.

Settings, and why:

- JSON only (``task_serializer``, ``result_serializer``, ``accept_content``): a worker never unpickles
  what arrives from the network; a pickled message is refused before it is decoded.
- ``task_acks_late`` + ``worker_prefetch_multiplier=1`` + concurrency 1 (solo pool): a board measures
  one job at a time, holds exactly one unacknowledged job, and acknowledges it only once the record is
  stored and sent back. A board that dies mid-job leaves its job unacknowledged; Redis hands it out
  again after the visibility timeout, to the next worker on that queue or to the same board restarted.
- ``task_reject_on_worker_lost``: the same when only a pool process is lost.
- Per-queue ``unacked`` keys in Redis: each worker restores only its own queue's abandoned jobs, with
  its own target's visibility timeout (suite.fleet.config), so a short-job queue never steals a long
  job of another queue that is still running.
- Redis result backend on the same server: the record comes back as the task's (JSON) result, keyed
  by the job id, which is the Celery task id too; a redelivered job overwrites the same key.
- ``result_backend_always_retry`` on a board's app: a board that finishes its job while the broker
  restarts keeps trying to store the result (backing off to 10 s, ``RESULT_RETRIES`` times: minutes)
  instead of losing it. The broker connection itself is retried by Celery's defaults
  (``broker_connection_retry``), and a job that was running carries on meanwhile
  (``worker_cancel_long_running_tasks_on_connection_loss`` off). The workstation's app reads without
  retries: it waits for a broker that is down itself, with one line and no log noise
  (``suite.fleet.dispatch``).
"""

from __future__ import annotations

from typing import Any

TASK_NAME = "edgeq.run_job"
RESULT_EXPIRES_S = 7 * 24 * 3600  # the workstation may collect a week later (`edgeq bench --fleet` again)
RESULT_RETRIES = 40  # tries to store or read a result while the broker is down, at most 10 s apart


def transport_options(queue: str | None, visibility_s: float | None) -> dict[str, Any]:
    """Kombu Redis transport options; a worker passes its queue and visibility timeout."""
    options: dict[str, Any] = {"socket_connect_timeout": 5}
    if queue is not None and visibility_s is not None:
        options.update(
            visibility_timeout=int(visibility_s),
            # restore sweeps every few seconds for short timeouts, at most every 10 s (kombu's default is
            # a scan every 10 x 10 s), so a redelivery comes soon after the timeout, not minutes later
            unacked_restore_interval=max(1, min(10, int(visibility_s // 10))),
            unacked_restore_throttle=1,
            unacked_key=f"edgeq.unacked.{queue}",
            unacked_index_key=f"edgeq.unacked_index.{queue}",
            unacked_mutex_key=f"edgeq.unacked_mutex.{queue}",
        )
    return options


def make_app(url: str, queue: str | None = None, visibility_s: float | None = None) -> Any:
    """A Celery app on the broker ``url`` (password included; see suite.fleet.config.broker_url)."""
    from celery import Celery

    app = Celery("edgeq", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        event_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=1,
        task_track_started=True,  # the workstation shows which board runs which job
        result_expires=RESULT_EXPIRES_S,
        result_extended=False,
        broker_connection_retry_on_startup=True,  # a board may boot before the broker
        broker_transport_options=transport_options(queue, visibility_s),
        result_backend_transport_options={"socket_connect_timeout": 5},
        result_backend_always_retry=queue is not None,  # a board's app (see above)
        result_backend_max_retries=RESULT_RETRIES,
        result_backend_max_sleep_between_retries_ms=10_000,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=True,
        task_default_queue=queue or "edgeq-unrouted",
    )
    return app
