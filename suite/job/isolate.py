"""Run jobs in a spawned *job process* that is reused across jobs and replaced when it fails.

(The job process is this module's; ``edgeq worker`` is a fleet board serving a queue, ``suite.fleet``,
and it runs its jobs in a job process too.)

Why a separate process: a segfaulting execution provider, a model that hangs or an out-of-memory kill
must cost one job, not the sweep and not the records already measured. Why *spawn* and not fork:
TensorFlow, OpenMP and ONNX Runtime's thread pools are not fork-safe. Why reused: importing torch and
TensorFlow costs seconds per process, so one job process runs job after job until one goes wrong.

What the parent sees for each job is always a record (plain data): the job process's own record when it
answers, else a ``failed`` record made here that says why (signal, timeout, exit code, exception) with
the tail of the job process's stdout/stderr. Its file descriptors 1 and 2 go to a log file, so the
tail includes what native code printed and, for a crash, ``faulthandler``'s Python stack.

The job process dies with its parent (``PR_SET_PDEATHSIG`` on Linux, a parent-pid watchdog elsewhere): a
sweep killed with SIGKILL leaves no orphan still measuring and stealing the CPU from the rerun.

Hand-written on ``multiprocessing`` (stdlib): ``concurrent.futures.ProcessPoolExecutor`` marks the whole
pool broken when one worker dies and has no per-task timeout, and job libraries such as joblib/loky
restart workers but do not report which signal killed a task nor the output that led to it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from suite.job.quiet import adopt_quiet_event, quiet_event
from suite.job.spec import Job

Runner = Callable[[Job], dict[str, Any]]  # a module-level function: the spawned process imports it by name
STARTUP_TIMEOUT_S = 300.0  # importing numpy + ONNX Runtime on a slow board; not part of a job's budget
TAIL_LINES = 25
_KILL_GRACE_S = 2.0


# ------------------------------------------------------------------------------------------ job process
def _die_with_parent(parent_pid: int) -> None:
    """Make sure this process does not outlive the sweep that started it."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass

    def watch() -> None:  # also covers the parent dying before prctl took effect, and non-Linux
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, name="edgeq-parent-watch", daemon=True).start()


def _redirect_output(log_path: str) -> None:
    """fd 1 and 2 (Python and native code alike) to the log file, line-buffered."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)


def _process_main(
    conn: Any, log_path: str, parent_pid: int, env: dict[str, str], runner: Runner, quiet: Any = None
) -> None:
    """The job process's loop: receive a job dict, send back ``runner(job)``'s record, until told to stop."""
    adopt_quiet_event(quiet)
    _redirect_output(log_path)
    import faulthandler

    faulthandler.enable(file=sys.stderr, all_threads=True)
    # Ctrl-C, SIGTERM and SIGHUP reach the whole process group; they are the parent's to handle, and it
    # stops us (a job process killed by them first would be recorded as a failed job). They arrive
    # blocked (see ``_started_shielded``), so one sent while this process was starting is dropped here.
    for number in _PARENTS_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    if _PARENTS_SIGNALS and hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _PARENTS_SIGNALS)
    _die_with_parent(parent_pid)
    os.environ.update(env)

    import suite.job.run  # noqa: F401  (the warm-up: numpy, pydantic, the registry, the config)
    from suite.job.phase import set_reporter

    set_reporter(lambda name: conn.send(("progress", name)))  # the sweep's progress display hears each phase

    global _PHASE_CONN
    _PHASE_CONN = conn
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:  # done: skip the interpreter's teardown (TensorFlow's and torch's took 2+ s)
            _multiprocessing_exit()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        kind, payload = message
        if kind == "job":
            print(
                f"--- edgeq job process {os.getpid()}: job {payload['job_id']} ({payload['task_name']} / {payload['method']})",
                flush=True,
            )
            record = runner(Job.from_dict(payload))
            conn.send(("record", record))


_PARENTS_SIGNALS = {getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)}


def _multiprocessing_exit() -> None:
    """multiprocessing's own exit step, which ``os._exit`` skips.

    In a spawned process every ``multiprocessing`` lock is a named semaphore registered with the sweep's
    resource tracker (a library's lock, tqdm's write lock); its finalizer unlinks and unregisters it at
    exit. Skipped, the tracker reports it when the sweep exits ("There appear to be 1 leaked semaphore
    objects to clean up at shutdown"). ``multiprocessing.util._exit_function`` is what ``atexit`` would
    run: those finalizers, and the end of any pool or child process a library left; the rest of the
    interpreter's teardown stays skipped. Private, but it is the only entry to that step."""
    from multiprocessing import util

    try:
        util._exit_function()  # type: ignore[attr-defined]  # private: typeshed leaves it out
    except Exception as exc:  # a library's finalizer must not turn a finished job process into a crash
        print(f"edgeq job process {os.getpid()}: multiprocessing clean-up: {exc!r}", file=sys.stderr, flush=True)


def _started_shielded(proc: Any) -> None:
    """Start the job process with the parent's signals blocked: a blocked signal stays blocked across
    fork and exec, so a SIGTERM to the process group (systemd stopping ``edgeq worker``) that comes
    while the new process imports is held until it ignores such signals, instead of killing it before
    its job starts. The parent's own mask is restored at once (a signal it got meanwhile is delivered)."""
    if not hasattr(signal, "pthread_sigmask"):
        proc.start()
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _PARENTS_SIGNALS)
    try:
        proc.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_PHASE_CONN: Any = None  # in a job process: the pipe to the parent, for ``enter_measurement``


def enter_measurement() -> None:
    """In a job process: the build is done (the artifact is in the cache), the measurement starts; the
    parent switches from the build's bound to the measurement's. Outside a job process: nothing."""
    if _PHASE_CONN is not None:
        try:
            _PHASE_CONN.send(("phase", "measure"))
        except (OSError, ValueError):
            pass


# ------------------------------------------------------------------------------------------ parent
def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_exit(exitcode: int | None, peak_rss: int | None = None) -> tuple[str, str]:
    """(error kind, one line) for a job process that died with this exit code."""
    if exitcode is None:
        return "crash", "the job process vanished without an exit status"
    if exitcode < 0:
        name = _signal_name(-exitcode)
        line = f"the job process was killed by {name}"
        if -exitcode == signal.SIGKILL:
            rss = f"; last seen using {peak_rss / 2**20:.0f} MiB" if peak_rss else ""
            return "killed", f"{line} (the kernel's out-of-memory killer sends SIGKILL{rss}; see dmesg)"
        if -exitcode in (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT):
            return "crash", f"{line} (a crash in native code: runtime, execution provider or delegate)"
        return "crash", line
    return "crash", f"the job process exited with code {exitcode} in the middle of the job"


def read_tail(path: Path, offset: int = 0, lines: int = TAIL_LINES) -> list[str]:
    """The last ``lines`` lines written to ``path`` after byte ``offset``."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace")
    kept = [
        line.rstrip()[:300] for line in text.splitlines() if line.strip() and not line.startswith("Extension modules:")
    ]
    crash = next((i for i, line in enumerate(kept) if line.startswith("Fatal Python error")), None)
    if crash is not None:  # faulthandler prints the innermost frame first: keep the top of its dump
        before = kept[max(0, crash - 5) : crash]
        return before + kept[crash : crash + lines - len(before)]
    return kept[-lines:]


def failed_record(job: Job, kind: str, error: str, tail: list[str], elapsed_s: float) -> dict[str, Any]:
    """The record of a job whose job process could not answer."""
    from suite.job.run import job_record
    from suite.machine.envinfo import environment

    record = job_record(job)
    record.update(status="failed", error=error, error_kind=kind, error_tail=tail)
    record["timings_s"] = {"elapsed": round(elapsed_s, 3)}
    try:
        record["environment"] = environment()
    except Exception:  # the record of a failure must not fail
        pass
    return record


class JobProcess:
    """One spawned job process at a time; ``run(job)`` always returns a record.

    ``runner`` is what the process does with a job: ``suite.job.build.run_job`` (build, then measure) on
    a workstation, ``suite.job.run.run_carried`` (measure a carried artifact) on a board. The process is
    started on the first job, reused while jobs succeed, and replaced after a crash, a timeout, an
    out-of-memory kill or a failed job (its state may be half-built). ``env`` is applied in the process
    before anything is imported (``edgeq reproduce`` gives it a fresh cache this way).
    """

    def __init__(
        self,
        runner: Runner,
        env: dict[str, str] | None = None,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
        on_phase: Callable[[Job, str], None] | None = None,
    ) -> None:
        """``on_phase(job, phase)``: told as the running job enters each phase (``suite.job.phase``)."""
        self.runner = runner
        self.on_phase = on_phase
        self.env = dict(env or {})
        self.startup_timeout_s = startup_timeout_s
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._conn: Any = None
        _clean_stale_logdirs()
        self._logdir = Path(tempfile.mkdtemp(prefix=f"edgeq-jobs-{os.getpid()}-"))
        self._log: Path | None = None
        self.started = 0  # how many job processes this Worker has started (tests read it)

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> tuple[str, str] | None:
        """Start a job process and wait until it is ready; (kind, error) if it could not start."""
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        self._log = self._logdir / f"job-process-{self.started}.log"
        self._log.touch()
        proc = self._ctx.Process(
            target=_process_main,
            args=(child_conn, str(self._log), os.getpid(), self.env, self.runner, quiet_event()),
            name="edgeq-job-process",
            daemon=True,
        )
        _started_shielded(proc)
        child_conn.close()
        self._proc, self._conn = proc, parent_conn
        self.started += 1
        ready = wait([parent_conn, proc.sentinel], timeout=self.startup_timeout_s)
        if parent_conn in ready:
            try:
                kind, _ = parent_conn.recv()
                if kind == "ready":
                    return None
            except (EOFError, OSError):
                pass
        if not ready:
            self._stop(kill=True)
            return "timeout", f"the job process did not start within {self.startup_timeout_s:.0f} s"
        self._proc.join(5)
        kind, line = describe_exit(self._proc.exitcode)
        self._stop(kill=True)
        return kind, f"the job process failed to start: {line.removeprefix('the job process ')}"

    def _stop(self, kill: bool) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if proc is None:
            return
        if not kill and proc.is_alive():
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
            proc.join(_KILL_GRACE_S)
        if proc.is_alive():  # it ignores SIGTERM (see _process_main), so SIGKILL
            proc.kill()
            proc.join()
        if conn is not None:
            conn.close()

    def close(self) -> None:
        self._stop(kill=False)
        import shutil

        shutil.rmtree(self._logdir, ignore_errors=True)

    def __enter__(self) -> JobProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc and exc[0] is not None:  # interrupted: do not wait for the job in flight
            self._stop(kill=True)
        self.close()

    # -- jobs --------------------------------------------------------------------------------------
    def run(self, job: Job, timeout_s: float, build_timeout_s: float | None = None) -> dict[str, Any]:
        """Run one job in the job process; a record whatever happens to it.

        ``timeout_s`` bounds the measurement. With ``build_timeout_s`` the job starts in its build phase
        under that bound, and the measurement's bound starts when the job process says its build is done
        (``enter_measurement``): a slow quantizer does not eat the measurement's time, and the artifact
        it finished stays in the cache whatever happens next. A timeout's record says which phase ran out
        (``timeout_phase``)."""
        t0 = time.monotonic()
        if self._proc is None or not self._proc.is_alive():
            self._stop(kill=True)
            problem = self._start()
            if problem is not None:
                tail = read_tail(self._log) if self._log else []
                return failed_record(job, problem[0], problem[1], tail, time.monotonic() - t0)
        assert self._log is not None
        offset = self._log.stat().st_size
        t0 = time.monotonic()
        try:
            self._conn.send(("job", job.to_dict()))
        except (OSError, ValueError):
            pass  # it died between jobs; found out below
        peak_rss = 0
        phase, bound = ("build", build_timeout_s) if build_timeout_s is not None else ("measure", timeout_s)
        deadline = t0 + bound
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._stop(kill=True)
                record = failed_record(
                    job, "timeout", _timeout_line(phase, bound), read_tail(self._log, offset), time.monotonic() - t0
                )
                record["timeout_phase"] = phase
                return record
            ready = wait([self._conn, self._proc.sentinel], timeout=min(remaining, 1.0))
            if self._conn in ready:
                try:
                    kind, record = self._conn.recv()
                except (EOFError, OSError):
                    ready = [self._proc.sentinel]
                else:
                    if kind == "progress":  # the job's phase for the progress display, not the answer
                        if self.on_phase is not None:
                            self.on_phase(job, str(record))
                        continue
                    if kind == "phase":  # the build is done: the measurement's own bound starts now
                        phase, bound = "measure", timeout_s
                        deadline = time.monotonic() + bound
                        continue
                    if record.get("status") == "failed":  # its state may be half-built: start afresh
                        if not record.get("error_kind"):
                            record["error_kind"] = "exception"
                        self._stop(kill=False)
                    finished: dict[str, Any] = record
                    return finished
            if self._proc.sentinel in ready:
                self._proc.join(5)
                kind, error = describe_exit(self._proc.exitcode, peak_rss)
                self._stop(kill=True)
                return failed_record(job, kind, error, read_tail(self._log, offset), time.monotonic() - t0)
            peak_rss = max(peak_rss, _rss(self._proc.pid))


def _timeout_line(phase: str, bound: float) -> str:
    """The error of a job that ran out of time, naming the phase and the profile key that bounds it."""
    if phase == "build":
        return (
            f"timed out after {bound:g} s building (measurement.build_timeout_s of the profile: reference model "
            f"and artifact); the job process was killed"
        )
    return (
        f"timed out after {bound:g} s (measurement.job_timeout_s of the profile) measuring; the job process was "
        f"killed (an artifact it had built stays in the cache)"
    )


def _clean_stale_logdirs() -> None:
    """Log folders of sweeps that were killed (``edgeq-jobs-<pid>-*`` whose pid is gone)."""
    import shutil

    for folder in Path(tempfile.gettempdir()).glob("edgeq-jobs-*-*"):
        try:
            pid = int(folder.name.split("-")[2])
        except (IndexError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # PermissionError: someone else's live process
            continue


def _rss(pid: int) -> int:
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except Exception:  # gone, or psutil missing on a bare device: only used to explain a kill
        return 0
