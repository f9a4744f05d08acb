"""Fleet settings: where the broker is (environment), and how long a job may stay unacknowledged (profile).

The broker URL and its password come from the environment, never from a file in the repository:
``EDGEQ_BROKER_URL`` (``redis://host:6379/0`` or ``rediss://...``) and ``EDGEQ_BROKER_PASSWORD``. The
password is put into the URL here, so it need not appear in a shell history or a process listing, and
every message that names the broker shows it redacted. A broker without a password is refused: the
lab's Redis is reachable from every board on the network.

The visibility timeout is how long Redis keeps a delivered, unacknowledged job before it hands it to the
next worker (Celery on Redis has no other way to notice a dead worker). Too short and a job still
running is measured twice; Redis's one hour default is both too short for a long ImageNet sweep job and
far too long for a small one. So it comes from the profile: ``dispatch.visibility_timeout_s`` when set,
else the longest a job can take on that target: ``measurement.job_timeout_s`` (the worker kills a job
there) + the worker process's start-up bound + an allowance for fetching the bundle.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from suite.errors import BadInput

BROKER_ENV = "EDGEQ_BROKER_URL"
PASSWORD_ENV = "EDGEQ_BROKER_PASSWORD"
WORKER_STARTUP_TIMEOUT_S = 120.0  # the fleet worker's bound on starting its job process (suite.job.isolate)
FETCH_ALLOWANCE_S = 180.0  # downloading and checking a bundle once per sweep


def broker_url(env: dict[str, str] | None = None) -> str:
    """The broker URL with its password, from the environment (BadInput, one line, if unusable)."""
    env = dict(os.environ if env is None else env)
    raw = env.get(BROKER_ENV, "").strip()
    if not raw:
        raise BadInput(
            f"{BROKER_ENV} is not set: the lab's Redis broker, e.g. redis://broker.lab:6379/0 (README: Lab setup)"
        )
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss"):
        raise BadInput(f"{BROKER_ENV}: got scheme {parts.scheme or '(none)'!r}, expected redis:// or rediss://")
    if not parts.hostname:
        raise BadInput(f"{BROKER_ENV}: no host in {redact(raw)!r}")
    password = env.get(PASSWORD_ENV) or parts.password
    if not password:
        raise BadInput(
            f"the broker needs a password: set {PASSWORD_ENV} (Redis requirepass; README: Lab setup); "
            "an open broker would let anyone on the network run jobs on the boards"
        )
    user = quote(parts.username, safe="") if parts.username else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{user}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path or "/0", parts.query, ""))


def redact(url: str) -> str:
    """The URL as it may be printed: the password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def ping(url: str, timeout_s: float = 2.0) -> str | None:
    """None if the broker answers PING with this password, else why not (one line). One try."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        client.ping()
        return None
    except redis.exceptions.AuthenticationError as exc:
        return f"the broker at {redact(url)} refused the password ({exc})"
    except redis.exceptions.ResponseError as exc:  # NOAUTH and friends
        return f"the broker at {redact(url)} refused the connection ({exc})"
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
        return f"the broker at {redact(url)} is not reachable ({' '.join(str(exc).split())[:200]})"
    finally:
        client.close()


def visibility_timeout_s(profile: Any) -> float:
    """Seconds a job of this target may stay unacknowledged (see the module docstring)."""
    job_timeout = float(profile.measurement.job_timeout_s)
    chosen = profile.dispatch.visibility_timeout_s
    if chosen is None:
        return job_timeout + WORKER_STARTUP_TIMEOUT_S + FETCH_ALLOWANCE_S
    if chosen <= job_timeout:
        raise BadInput(
            f"profile {profile.name!r}: dispatch.visibility_timeout_s: got {chosen:g}, expected more than "
            f"measurement.job_timeout_s ({job_timeout:g}): a job still running would be handed to a second worker"
        )
    return float(chosen)
