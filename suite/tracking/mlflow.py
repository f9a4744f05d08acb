"""MLflow: experiment per task, parent run per sweep, child run per job (docs/design.md, "MLflow layout").

The only module that creates MLflow runs; everything else logs through ``suite.tracking.sink``.

MLflow is a view of the records, never the source of truth. The store is probed once per sweep (at most
2 s, retries off: MLflow's HTTP client otherwise retries for minutes); when it is down the sweep goes on
with records only and ``edgeq sync`` logs them later. Child runs carry the job fingerprint as a tag, so
sync never duplicates a run that is already there.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from suite.paths import results_root
from suite.records.fields import MLFLOW_DECISION, mlflow_metrics, mlflow_params
from suite.tracking.sqlite_lock import retry_locked, store_lock

FINGERPRINT_TAG = "edgeq.fingerprint"
RECORD_TAG = "edgeq.record_id"  # one measurement (fingerprint + when it was made): one run per record
LOGGER_TAG = "edgeq.logger"  # the process that made the run (host, boot id, pid): tells an abandoned run
LOCK_WAIT_S = 120.0  # longest wait for another process logging the same record
ABANDONED_AFTER_S = (
    120.0  # a run of a record still RUNNING this long after its start was left by a crash (logging takes seconds)
)


def record_id(record: dict[str, Any]) -> str:
    """What names one record (not one job: a ``--force`` re-measurement is another record, another run)."""
    import hashlib

    key = f"{record.get('fingerprint') or record['job_id']}|{record.get('created_at')}|{record.get('status')}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{results_root() / 'mlflow.db'}"


def artifact_location() -> str | None:
    """Artifacts of the embedded store live under ``<results>/mlartifacts`` (a server decides its own)."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return None
    return (results_root() / "mlartifacts").as_uri()


def probe(uri: str, timeout_s: float = 2.0) -> str | None:
    """None if the store answers, else why not (one line). One try, at most ``timeout_s``."""
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        return _bounded(
            lambda: _health(uri, timeout_s), timeout_s, f"{uri} did not answer /health within {timeout_s:g} s"
        )
    if parsed.scheme == "sqlite":
        path = Path(uri[len("sqlite:///") :])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"cannot create {path.parent}: {exc}"
        return None
    if parsed.scheme in ("", "file"):
        return None
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), timeout=timeout_s).close()
    except OSError as exc:
        return f"{uri} is not reachable ({exc})"
    return None


def _health(uri: str, timeout_s: float) -> str | None:
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s) as resp:
            if resp.status == 200:
                return None
            return f"{uri} answered HTTP {resp.status} on /health"
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{uri} is not reachable ({reason})"


def _bounded(call: Any, timeout_s: float, late: str) -> str | None:
    """``call()`` with a wall-clock bound. urllib's ``timeout`` is per socket operation, so a server that
    accepts and then sends a byte now and then would hold it far longer; the call runs in a daemon
    thread that is abandoned (it ends with its own socket timeout) when the bound passes."""
    import threading

    result: list[str | None] = []
    worker = threading.Thread(target=lambda: result.append(call()), name="edgeq-mlflow-probe", daemon=True)
    worker.start()
    worker.join(timeout_s)
    return result[0] if result else late


UI_DEFAULT = "http://127.0.0.1:5000"  # where `edgeq ui` (mlflow ui) serves the embedded store
JOB_RUNS_FILTER = "tags.`edgeq.kind` = 'job'"


def ui_base(uri: str, ui_url: str = UI_DEFAULT) -> str:
    """The address of the MLflow UI for a tracking URI: the server itself, else where `edgeq ui` serves."""
    return uri.rstrip("/") if uri.startswith(("http://", "https://")) else ui_url.rstrip("/")


def runs_table_url(base: str, experiment_id: str) -> str:
    """The runs table of one experiment: its job runs only, flat, best top-1 first.

    MLflow 3's UI (its JS bundle: ``routes.ts`` and the runs table's URL state): the route is
    ``#/experiments/<id>/runs``; ``searchFilter`` keeps the job runs, and ordering by anything but the
    start time (here ``orderByKey`` = top-1, descending) makes the table list them flat instead of
    folding them under their sweep's parent run; ``workflowType=machine_learning`` opens the UI's
    model-training layout rather than its GenAI one.
    """
    from urllib.parse import quote

    order = quote("metrics.`acc/top1`", safe="")
    state = f"searchFilter={quote(JOB_RUNS_FILTER, safe='')}&orderByKey={order}&orderByAsc=false"
    return f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning&{state}"


def compare_runs_url(base: str, run_ids: list[str], experiment_ids: list[str]) -> str:
    """MLflow's compare view of ``run_ids``: ``#/compare-runs?runs=[...]&experiments=[...]`` (JSON
    arrays, as the UI's ``getCompareRunPageRoute`` writes them; percent-encoded so a terminal keeps
    the link whole)."""
    import json
    from urllib.parse import quote

    def arr(values: list[str]) -> str:
        return quote(json.dumps(list(values), separators=(",", ":")), safe="")

    return f"{base}/#/compare-runs?runs={arr(run_ids)}&experiments={arr(sorted(set(experiment_ids), key=str))}"


SHARED_VIEW_TAG = "mlflow.sharedViewState."  # + key: a saved runs-table view the UI opens from a link
#: The runs table's columns of a decision view, in order: what decides first (the first screen at 1440 px
#: wide shows four of them beside the run's name), then the job's own figures and what it is.
DECISION_COLUMNS = tuple(f"metrics.`{name}`" for name in MLFLOW_DECISION) + (
    "params.`method`",
    "params.`runtime`",
    "params.`w_bits`",
)


def decision_view(parent_run_id: str) -> dict[str, Any]:
    """The runs-table view of one sweep's job runs with the decision metrics as columns, as MLflow 3's UI
    reads a shared view (its JS bundle: the experiment tag ``mlflow.sharedViewState.<key>`` holds the
    search facets and the UI state, plain JSON accepted; ``?viewStateShareKey=<key>`` applies it).
    Only the job runs match the filter, so they are listed flat, not folded under the parent run."""
    return {
        "searchFilter": f"tags.mlflow.parentRunId = '{parent_run_id}'",
        "orderByKey": "metrics.`speedup/p50`",
        "orderByAsc": False,
        "startTime": "ALL",
        "lifecycleFilter": "Active",
        "modelVersionFilter": "All Runs",
        "datasetsFilter": [],
        "selectedColumns": list(DECISION_COLUMNS),
        "columnOrder": list(DECISION_COLUMNS),
        "runsHiddenMode": "SHOW_ALL",
        "runListHidden": False,
        "viewMaximized": True,
    }


def decision_view_url(base: str, experiment_id: str, key: str) -> str:
    """The runs tab of ``experiment_id`` in the shared view ``key``; ``workflowType=machine_learning``
    because MLflow 3's UI, when its GenAI/model-training switch is shown, takes the experiment's kind
    from that switch (default GenAI: the traces overview), not from ``mlflow.experimentKind``."""
    return f"{base}/#/experiments/{experiment_id}/runs?viewStateShareKey={key}&workflowType=machine_learning"


def task_experiments(uri: str) -> list[tuple[str, str]]:
    """``(name, experiment_id)`` of every ``edgeq/<task>`` experiment in the store, by name."""
    _quiet_client_env()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = retry_locked(client.search_experiments, filter_string="name LIKE 'edgeq/%'", max_results=1000)
    return sorted((exp.name, exp.experiment_id) for exp in found)


def _quiet_client_env() -> None:
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


def store_bundle(tracking_uri: str, experiment: str, path: Path, run_name: str, sha256: str) -> str:
    """Log a carry-on bundle as the artifact of a finished run of ``experiment`` (the fleet's transfer:
    workers download it from the server); returns its ``runs:/`` address. Kept here so that this module
    is the only one that creates MLflow runs."""
    from mlflow.tracking import MlflowClient

    _quiet_client_env()
    client = MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    exp_id = exp.experiment_id if exp is not None else client.create_experiment(experiment)
    run = client.create_run(exp_id, run_name=run_name, tags={"edgeq.kind": "bundle", "edgeq.bundle_sha256": sha256})
    client.log_artifact(run.info.run_id, str(path), artifact_path="bundles")
    client.set_terminated(run.info.run_id, "FINISHED")
    return f"runs:/{run.info.run_id}/bundles/{path.name}"


def params_of(record: dict[str, Any]) -> dict[str, str]:
    """The MLflow params of a record, as declared in ``suite.records.fields``."""
    return mlflow_params(record)


def metrics_of(record: dict[str, Any]) -> dict[str, float]:
    """The MLflow metrics of a record, as declared in ``suite.records.fields`` (no timing when emulated)."""
    return mlflow_metrics(record)


def tags_of(record: dict[str, Any]) -> dict[str, str]:
    env = record.get("environment") or {}
    git = env.get("git") or {}
    pw = record.get("power") or {}
    return {
        FINGERPRINT_TAG: record.get("fingerprint") or record["job_id"],
        "edgeq.job_id": record["job_id"],
        "edgeq.status": record["status"],
        "edgeq.simulated": str(bool((record.get("artifact") or {}).get("simulated"))).lower(),
        "edgeq.quick": str(bool((record.get("latency") or {}).get("quick"))).lower(),
        "power.status": str(pw.get("status")),
        "power.boundary": str(pw.get("boundary")),
        "git.commit": str(git.get("commit")),
        "git.dirty": str(git.get("dirty")),
        "mlflow.runName": f"{record['method']['name']} · {(record.get('runtime') or {}).get('name')}",
    }


def experiment_tags(task: str) -> dict[str, str]:
    """Tags of a new ``edgeq/<task>`` experiment: its kind, and a note on how to compare its runs.

    ``mlflow.experimentKind: custom_model_development`` says what the experiment is, and MLflow 3 UIs that
    hide their GenAI / Model training switch route such an experiment to its runs tab. MLflow 3.17.2's UI
    shows the switch and takes the kind from it instead (its JS bundle: the kind hook returns the
    ``workflowType`` URL parameter's kind, else the browser's stored ``mlflow.workflowType``, default GenAI,
    whenever the switch is on, which that build hard-codes; the tag is read only otherwise). So there a bare
    ``#/experiments/<id>`` opens the GenAI overview in a fresh browser (seen in headless Chromium against
    ``mlflow server`` 3.17.2), and every link EdgeQ prints carries ``workflowType=machine_learning``
    (``runs_table_url``, ``decision_view_url``); no server setting changes the default."""
    return {
        "mlflow.experimentKind": "custom_model_development",
        "mlflow.note.content": (
            f"EdgeQ runs of task {task}: one parent run per sweep (its description: the sweep's table and Pareto "
            "plot), one run per job. The decision metrics of every job run: "
            + ", ".join(MLFLOW_DECISION)
            + " (speed-up against the fp32 job on the same runtime; delta_significant: 1 when McNemar p < 0.05). "
            "The records under results/records are the source of truth; `edgeq sync` rebuilds these runs."
        ),
    }


def sweep_note(records: list[dict[str, Any]]) -> str:
    """The sweep's table as Markdown, for its parent run's description (``mlflow.note.content``, which the
    run page renders): one row per job, the decision metrics (``MLFLOW_DECISION``) its records carry, as
    the job runs carry them."""
    metrics = [mlflow_metrics(record) for record in records]
    names = [name for name in MLFLOW_DECISION if any(name in m for m in metrics)]
    rows = [
        "| method | runtime | status | " + " | ".join(names) + " |",
        "|---|---|---|" + "---:|" * len(names),
    ]
    for record, values in zip(records, metrics):
        what = [str((record.get("method") or {}).get("name")), str((record.get("runtime") or {}).get("name"))]
        cells = [format(values[n], ".4g") if n in values else "–" for n in names]
        rows.append("| " + " | ".join([*what, str(record.get("status")), *cells]) + " |")
    return "\n".join(rows) + (
        "\n\nspeedup: fp32 p50 / p50 (and items/s over fp32 items/s) on the same runtime; delta_significant: 1 when "
        "McNemar p < 0.05 against fp32 on the same items. The Pareto plot is this run's artifact (pareto/).\n"
    )


class Tracker:
    """Logs records as MLflow child runs under one parent run per (sweep, task experiment)."""

    def __init__(self, uri: str, name: str | None = None, started: float | None = None) -> None:
        """``name``: the parent runs' name; None names each after its target and ``started`` (UTC), as a
        sweep's are (``local-cpu 2026-11-26 10:00:00 UTC``)."""
        _quiet_client_env()
        import logging

        import mlflow
        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)

        self.mlflow = mlflow
        self.uri = uri
        with store_lock(uri):  # a new sqlite store is created (migrated) by one sweep at a time
            self.client = MlflowClient(tracking_uri=uri)
            retry_locked(self.client.search_experiments, max_results=1)
        self.name = name
        self.started = time.time() if started is None else started
        self._parents: dict[str, str] = {}
        self._experiments: dict[str, str] = {}

    def experiment_id(self, task: str) -> str:
        name = f"edgeq/{task}"
        if name not in self._experiments:
            with store_lock(self.uri):  # sweeps sharing a sqlite store create each experiment once
                exp = retry_locked(self.client.get_experiment_by_name, name)
                if exp is None:
                    try:
                        self._experiments[name] = retry_locked(
                            self.client.create_experiment,
                            name,
                            artifact_location=artifact_location(),
                            tags=experiment_tags(task),
                        )
                    except Exception:  # created meanwhile by a concurrent sweep (server): use theirs
                        exp = self.client.get_experiment_by_name(name)
                        if exp is None:
                            raise
                        self._experiments[name] = exp.experiment_id
                else:
                    self._experiments[name] = exp.experiment_id
        return self._experiments[name]

    def parent_run(self, task: str, target: str) -> str:
        key = f"{task}\0{target}"
        if key not in self._parents:
            run = retry_locked(
                self.client.create_run,
                self.experiment_id(task),
                run_name=self.name or f"{target} {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(self.started))} UTC",
                tags={"edgeq.kind": "sweep", "edgeq.target": target},
            )
            self._parents[key] = run.info.run_id
        return self._parents[key]

    def adopt_parent(self, task: str, target: str, run_id: str) -> None:
        """Log ``task``/``target`` children under a parent run made elsewhere (the fleet's workstation)."""
        self._parents[f"{task}\0{target}"] = run_id

    def has_run(self, task: str, fingerprint: str) -> bool:
        """Is a finished run with this fingerprint in the task's experiment? (a redelivery never logs twice)"""
        runs = retry_locked(
            self.client.search_runs,
            [self.experiment_id(task)],
            filter_string=f"tags.`{FINGERPRINT_TAG}` = '{fingerprint}'",
            max_results=5,
        )
        return any(run.info.status != "RUNNING" for run in runs)

    def existing_fingerprints(self, task: str) -> set[str]:
        exp_id = self.experiment_id(task)
        found: set[str] = set()
        token = None
        while True:
            page = retry_locked(
                self.client.search_runs,
                [exp_id],
                filter_string="tags.`edgeq.kind` = 'job'",
                max_results=1000,
                page_token=token,
            )
            # A run still RUNNING was cut off mid-logging (server went down): it does not count as logged.
            found.update(r.data.tags.get(FINGERPRINT_TAG, "") for r in page if r.info.status != "RUNNING")
            token = page.token
            if not token:
                return found

    def log(self, record: dict[str, Any], record_path: Path | None = None) -> str:
        """Log one record as a child run (or find the one already there); its run id."""
        return self.log_once(record, record_path)[0]

    def log_once(self, record: dict[str, Any], record_path: Path | None = None) -> tuple[str, bool]:
        """(run id, made now): exactly one run per record, however many processes log it at once.

        Processes sharing the record's results root take turns through a lease beside the record
        (``<job_id>.mlflow.lease``, ``suite.records.lease``): each looks for a finished run tagged with
        the record's id before it makes one. Processes that share only the server (a board logging
        while the workstation syncs) may both make one; after logging, each looks again and, if there
        are several (finished, or still being logged by a live process), keeps the oldest (start time,
        then run id: the same choice in every process) and deletes its own when it is not that one.
        """
        from contextlib import nullcontext

        rid = record_id(record)
        lease: Any = nullcontext()
        if record_path is not None and record_path.is_file():
            lease = _record_lease(record_path.with_suffix(".mlflow.lease"))
        with lease:
            existing = self._runs_of(record, rid)
            finished = [r for r in existing if r.info.status != "RUNNING"]
            if finished:
                return _oldest(finished).info.run_id, False
            for stale in existing:  # RUNNING: a crashed logger's (or a server restarted mid-log) is removed
                if _abandoned(stale):
                    retry_locked(self.client.delete_run, stale.info.run_id)
            run_id = self._create(record, rid, record_path)
            # Another logger's run still RUNNING counts too: left out, two loggers that each finish while the
            # other's run is unfinished would each keep their own (seen with five syncs at once).
            kept = _oldest([r for r in self._runs_of(record, rid) if r.info.status != "RUNNING" or not _abandoned(r)])
            if kept is not None and kept.info.run_id != run_id:  # another process logged it meanwhile
                retry_locked(self.client.delete_run, run_id)
                return kept.info.run_id, False
            return run_id, True

    def _runs_of(self, record: dict[str, Any], rid: str) -> list[Any]:
        return list(
            retry_locked(
                self.client.search_runs,
                [self.experiment_id(record["task"]["name"])],
                filter_string=f"tags.`{RECORD_TAG}` = '{rid}'",
                max_results=50,
            )
        )

    def _create(self, record: dict[str, Any], rid: str, record_path: Path | None) -> str:
        from mlflow.entities import Metric, Param, RunTag

        from suite.records.lease import owner_facts

        task = record["task"]["name"]
        parent = self.parent_run(task, record["target"]["name"])
        tags = {**tags_of(record), "mlflow.parentRunId": parent, "edgeq.kind": "job", RECORD_TAG: rid}
        tags[LOGGER_TAG] = json.dumps({k: v for k, v in owner_facts().items() if k != "token"})
        run = retry_locked(self.client.create_run, self.experiment_id(task), tags=tags, run_name=tags["mlflow.runName"])
        now = int(time.time() * 1000)
        retry_locked(
            self.client.log_batch,
            run.info.run_id,
            metrics=[Metric(k, v, now, 0) for k, v in metrics_of(record).items()],
            params=[Param(k, v[:500]) for k, v in params_of(record).items()],
            tags=[RunTag(k, v) for k, v in tags.items() if k != "mlflow.runName"],
        )
        if record_path is not None and record_path.is_file():
            retry_locked(self.client.log_artifact, run.info.run_id, str(record_path))
        retry_locked(
            self.client.set_terminated, run.info.run_id, "FINISHED" if record["status"] != "failed" else "FAILED"
        )
        return run.info.run_id

    def describe_parent(self, task: str, target: str, records: list[dict[str, Any]], plots: list[Path]) -> str | None:
        """Put the sweep's table (Markdown) in its parent run's description, log its Pareto plots there and
        save its decision view (``decision_view``) on the experiment; the parent run's id (None: none made)."""
        key = f"{task}\0{target}"
        if key not in self._parents:
            return None
        run_id = self._parents[key]
        retry_locked(self.client.set_tag, run_id, "mlflow.note.content", sweep_note(records))
        view = json.dumps(decision_view(run_id), separators=(",", ":"))
        retry_locked(self.client.set_experiment_tag, self.experiment_id(task), SHARED_VIEW_TAG + run_id, view)
        for plot in plots:
            retry_locked(self.client.log_artifact, run_id, str(plot), artifact_path="pareto")
        return run_id

    def finish(self) -> None:
        for run_id in self._parents.values():
            retry_locked(self.client.set_terminated, run_id, "FINISHED")


def _abandoned(run: Any) -> bool:
    """A RUNNING run whose logger is gone: on this host, its process ended (or the host rebooted); on
    another host, it started ``ABANDONED_AFTER_S`` ago (logging a run takes seconds)."""
    from suite.records.lease import process_alive

    try:
        logger = json.loads(run.data.tags.get(LOGGER_TAG) or "{}")
    except ValueError:
        logger = {}
    alive = process_alive(logger) if isinstance(logger, dict) and logger else None
    if alive is not None:
        return not alive
    return (run.info.start_time or 0) < (time.time() - ABANDONED_AFTER_S) * 1000


def _oldest(runs: list[Any]) -> Any:
    """The run every process keeps among duplicates: the earliest start, then the smallest run id."""
    return min(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id), default=None)


def _record_lease(path: Path) -> Any:
    """The lease of logging one record (held while looking for its run and making it); None-like when
    another process would not let go within ``LOCK_WAIT_S`` (the check after logging still dedups)."""
    from contextlib import nullcontext

    from suite.records.lease import Lease, wait_free

    deadline = time.monotonic() + LOCK_WAIT_S
    while time.monotonic() < deadline:
        lease = Lease.acquire(path)
        if lease is not None:
            return lease
        wait_free(path, timeout_s=max(0.0, deadline - time.monotonic()))
    return nullcontext()
