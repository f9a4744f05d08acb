"""The one way records reach MLflow: a sink that probes once, logs, and counts what waits for ``edgeq sync``.

Every command that logs uses it: ``edgeq bench`` (each job as its record is written), ``edgeq import``
and ``edgeq sync`` (what the store does not have yet), the fleet's workstation (parent runs made before
the messages go out, then whatever the boards did not log) and ``edgeq worker`` on a board (under the
workstation's parent runs). MLflow is a view of the records: the store is probed once, at most 2 s, and
when it is down, or goes down mid-way, the sink stops trying and counts the runs that ``edgeq sync``
will log later; it never raises into the sweep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from suite.errors import BadInput


def sweep_name(target: str, when: float | None = None) -> str:
    """The parent-run name of a sweep of ``target`` started ``when``: ``<target> <UTC time> UTC``."""
    return f"{target} {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(when))} UTC"


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


class MlflowSink:
    """Logs records under the parent runs of one sweep; never raises once constructed.

    Parent runs are named ``name``, or, when it is None, after each record's target and the sweep's
    start (``<target> <UTC time> UTC``), so one sink serves a sweep over several targets (the fleet).
    ``only_missing``: skip a record whose fingerprint already has a finished run (sync, import, the
    fleet, where a board may have logged it); otherwise every record given is logged (a re-measurement
    with ``--force`` gets a new run).
    """

    def __init__(
        self,
        name: str | None = None,
        uri: str | None = None,
        enabled: bool = True,
        only_missing: bool = False,
        say: Any = None,
        started: float | None = None,
    ) -> None:
        from suite.tracking import mlflow

        self.say = say  # told once, in plain text, when the probe finds the store down
        self.name = name
        self.started = time.time() if started is None else started
        self.uri = uri or mlflow.tracking_uri()
        self.enabled = enabled
        self.only_missing = only_missing
        self.down: str | None = None if enabled else "disabled with --no-mlflow"
        self.logged = self.present = self.waiting = 0
        self._probed = False
        self._tracker: Any = None
        self._opening: threading.Thread | None = None
        self._seen: dict[str, set[str]] = {}
        self.runs: list[tuple[str, str]] = []  # (experiment id, run id) of every child run this sink logged
        self.views: list[tuple[str, str]] = []  # (experiment id, parent run id) of each decision view (describe)
        self.described = 0  # records described under those parent runs (the fleet's: logged by the boards)

    # -- state ----------------------------------------------------------------------------------
    def probe(self) -> str | None:
        """One probe (at most 2 s, no retries), the first time only; None if the store answers."""
        if self.down is None and not self._probed:
            from suite.tracking import mlflow

            self._probed = True
            self.down = mlflow.probe(self.uri)
            if self.down:
                self.down = f"MLflow store {self.down}"
                if self.say is not None:
                    self.say(f"{self.down}: records only; `edgeq sync` logs them later")
        return self.down

    def start(self, busy: Any = None) -> None:
        """Open the store in the background now, so the first record does not wait for it: importing
        mlflow and creating a new sqlite store (its schema migrations) take 3-10 s on a 2-core machine,
        time the first job (training, quantizing) overlaps instead of adding to. ``busy``: a context
        manager held while opening (a local sweep's ``sweep_busy``: its job process times nothing then)."""
        if self._tracker is None and self._opening is None and self.probe() is None:
            from contextlib import nullcontext

            def open_store() -> None:
                with (busy or nullcontext)():
                    self.tracker()

            self._opening = threading.Thread(target=open_store, name="edgeq-mlflow-open", daemon=True)
            self._opening.start()

    def tracker(self) -> Any:
        """The MLflow client, made on first use; None when the store is down or disabled."""
        opening = self._opening
        if opening is not None and opening is not threading.current_thread():
            opening.join()  # the background open (``start``) finishes first; it set _tracker or down
            self._opening = None
        if self._tracker is None and self.probe() is None:
            from suite.tracking import mlflow

            try:
                self._tracker = mlflow.Tracker(self.uri, self.name, self.started)
            except Exception as exc:  # mlflow missing or its store broken: records only
                self.down = f"MLflow client failed: {_line(exc)}"
        return self._tracker

    def _fail(self, exc: BaseException) -> None:
        """The store went down mid-way: stop trying, keep counting (the records are safe)."""
        self.down = f"MLflow logging failed ({_line(exc)})"
        self._tracker = None

    # -- parents --------------------------------------------------------------------------------
    def parent_runs(self, pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Make the sweep's parent run of each (task, target) now; ``{"task/target": run_id}``."""
        tracker = self.tracker()
        if tracker is None:
            return {}
        try:
            return {f"{task}/{target}": tracker.parent_run(task, target) for task, target in sorted(set(pairs))}
        except Exception as exc:
            self._fail(exc)
            return {}

    def adopt_parents(self, parents: dict[str, str]) -> None:
        """Log under parent runs made by another process (``{"task/target": run_id}``)."""
        tracker = self.tracker()
        for key, run_id in parents.items():
            task, _, target = key.rpartition("/")
            if tracker is not None:
                tracker.adopt_parent(task, target, run_id)

    # -- logging --------------------------------------------------------------------------------
    def log(self, record: dict[str, Any], path: Path | None = None) -> str:
        """Log one record: ``logged``, ``present`` (only_missing and already there) or ``waiting``."""
        tracker = self.tracker()
        if tracker is None:
            self.waiting += 1
            return "waiting"
        try:
            if self.only_missing:
                task = record["task"]["name"]
                if task not in self._seen:
                    self._seen[task] = tracker.existing_fingerprints(task)
                fp = record.get("fingerprint") or record["job_id"]
                if fp in self._seen[task]:
                    self.present += 1
                    return "present"
                self._seen[task].add(fp)
            run_id, made = tracker.log_once(record, Path(path) if path is not None and Path(path).is_file() else None)
            self.runs.append((tracker.experiment_id(record["task"]["name"]), run_id))
        except Exception as exc:
            self._fail(exc)
            self.waiting += 1
            return "waiting"
        if not made:  # another process logged this very record (its run is kept: one run per record)
            self.present += 1
            return "present"
        self.logged += 1
        return "logged"

    def finish(self) -> None:
        """End the parent runs this sink made (after the background open, if one is still going)."""
        if self._opening is not None:
            self.tracker()  # joins it
        if self._tracker is not None:
            try:
                self._tracker.finish()
            except Exception:
                pass

    def describe(self, records: list[dict[str, Any]], written: Iterable[Path]) -> None:
        """Each parent run's description: its sweep's table, with the Pareto plots of its task from
        ``written`` (the leaderboard's files) as artifacts. Never raises (MLflow is a view)."""
        if self._tracker is None or not records:
            return
        pngs = [Path(p) for p in written if Path(p).suffix == ".png" and Path(p).name.startswith("pareto-")]
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for record in records:
            groups.setdefault((record["task"]["name"], record["target"]["name"]), []).append(record)
        try:
            for (task, target), group in sorted(groups.items()):
                plots = [p for p in pngs if p.name.startswith(f"pareto-{task}-") and p.parent.name == target]
                parent = self._tracker.describe_parent(task, target, group, plots)
                if parent:
                    self.views.append((self._tracker.experiment_id(task), parent))
                    self.described += len(group)
        except Exception as exc:
            self._fail(exc)

    def compare_link(self) -> str | None:
        """The link that compares this sweep's job runs in MLflow: the shared view of each described parent
        run (``describe``: the runs table with the decision metrics as columns), the same for a local sweep,
        the fleet (whose boards may have logged every run) and ``edgeq import``; else MLflow's compare view
        of the child runs this sink logged; None when there is neither."""
        if not self.runs and not self.views:
            return None
        from suite.tracking import mlflow

        base = mlflow.ui_base(self.uri)
        where = "" if self.uri.startswith(("http://", "https://")) else " (start the UI first: `edgeq ui`)"
        if self.views:  # the sweep's runs table with the decision metrics as columns, one per task experiment
            urls = [mlflow.decision_view_url(base, exp, parent) for exp, parent in self.views]
            count = len(self.runs) or self.described  # the fleet's boards may have logged every run
            return f"compare these {count} run(s) in MLflow{where}: " + "\n".join(urls)
        url = mlflow.compare_runs_url(base, [r for _, r in self.runs], [e for e, _ in self.runs])
        return f"compare these {len(self.runs)} run(s) in MLflow{where}: {url}"

    def lines(self) -> list[str]:
        """What to tell the person at the end (plain text)."""
        out = []
        if self.logged or self.present:
            there = f", {self.present} already there" if self.present else ""
            out.append(
                f"MLflow: {self.logged} run(s) logged in {self.uri}{there}; browse with `edgeq ui` (or `make ui`)"
            )
        if self.waiting:
            warn = "warning: " if self.enabled else ""
            out.append(f"{warn}MLflow: {self.waiting} run(s) wait for `edgeq sync` ({self.down})")
        return out


def sync(records: Iterable[tuple[dict[str, Any], Path]], uri: str) -> tuple[int, int]:
    """``edgeq sync``: log every record whose fingerprint is not yet in the store. (logged, already there)."""
    sink = MlflowSink(f"sync {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC", uri, only_missing=True)
    if sink.probe():
        raise BadInput(str(sink.down))
    for record, path in records:
        sink.log(record, path)
    sink.finish()
    if sink.waiting:
        raise BadInput(
            f"{sink.down}; {sink.logged} run(s) logged before it, {sink.waiting} wait; run `edgeq sync` again"
        )
    return sink.logged, sink.present
