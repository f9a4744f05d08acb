"""Test-only methods that fail the way real ones do on edge boards: a segfault, a hang, an OOM kill.

Loaded only by tests, through ``EDGEQ_PLUGINS=tests.support.faulty_plugins`` (the sweep and its spawned worker
both import it); they are never part of the built-in catalogue. Each is the fp32 baseline with a fault
injected while the artifact is prepared, so what precedes and follows it in a sweep is a real job.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from pathlib import Path

from suite.methods.base import Params, PrepareContext
from suite.methods.fp32 import Fp32
from suite.registry import methods


@methods.register("test-segfault", family="baseline", summary="test only: reads address 0 (SIGSEGV)")
class Segfault(Fp32):
    name = "test-segfault"

    def apply(self, ctx: PrepareContext, params: Params):  # type: ignore[no-untyped-def]
        print("test-segfault: about to read address 0", file=sys.stderr, flush=True)
        ctypes.string_at(0)  # a real invalid read in native code, like a crashing execution provider
        raise AssertionError("unreachable")


@methods.register("test-hang", family="baseline", summary="test only: never returns")
class Hang(Fp32):
    name = "test-hang"

    def apply(self, ctx: PrepareContext, params: Params):  # type: ignore[no-untyped-def]
        print("test-hang: sleeping forever", flush=True)
        while True:
            time.sleep(3600)


@methods.register("test-oom", family="baseline", summary="test only: killed by SIGKILL like the OOM killer does")
class OomKilled(Fp32):
    name = "test-oom"

    def apply(self, ctx: PrepareContext, params: Params):  # type: ignore[no-untyped-def]
        print("test-oom: the kernel's OOM killer sends SIGKILL", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


@methods.register("test-raise", family="baseline", summary="test only: raises RuntimeError")
class Raises(Fp32):
    name = "test-raise"

    def apply(self, ctx: PrepareContext, params: Params):  # type: ignore[no-untyped-def]
        raise RuntimeError("test-raise: a bug in a method")


class SlowParams(Params):
    marker: str
    sleep_s: float = 120.0


@methods.register("test-slow", family="baseline", summary="test only: the first time, touches marker and sleeps")
class Slow(Fp32):
    """Sleeps (after creating ``marker``) only when ``marker`` does not exist yet: a test kills the sweep
    while it sleeps, and the rerun then completes at once."""

    name = "test-slow"
    Params = SlowParams

    def apply(self, ctx: PrepareContext, params: SlowParams):  # type: ignore[override, no-untyped-def]
        marker = Path(params.marker)
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(params.sleep_s)
        return super().apply(ctx, params)
