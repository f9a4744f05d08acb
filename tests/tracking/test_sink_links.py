"""The fleet and ``edgeq import`` end with the same link as a local sweep: the shared runs-table view of
the sweep's parent run (its job runs with the decision metrics as columns), not MLflow's bare compare page;
and the fleet's link is printed even when the boards logged every run themselves."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from suite.tracking.sink import MlflowSink
from tests.support.publish_records import make_record

RECORDS = [make_record("fp32", 0.98, 2.0), make_record("ptq-static", 0.97, 1.0)]


def _view(uri: str, link: str) -> tuple[str, dict]:  # type: ignore[type-arg]
    """(the parent run the link's shared view shows, the view as saved on the experiment)."""
    from mlflow.tracking import MlflowClient

    url = link.rsplit(": ", 1)[1]
    path, query = urlparse(url.split("#", 1)[1]).path, parse_qs(urlparse(url.split("#", 1)[1]).query)
    assert query["workflowType"] == ["machine_learning"], url
    key = query["viewStateShareKey"][0]
    experiment = path.split("/")[2]
    tags = MlflowClient(tracking_uri=uri).get_experiment(experiment).tags
    return key, json.loads(tags[f"mlflow.sharedViewState.{key}"])


def test_the_fleets_link_is_the_shared_view_of_the_runs_its_boards_logged(results_dir: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{results_dir / 'mlflow.db'}"
    workstation = MlflowSink(uri=uri, only_missing=True)
    parents = workstation.parent_runs([("digits-cnn", "bench-a")])
    board = MlflowSink("fleet", uri, only_missing=True)  # a board logs under the workstation's parent run
    board.adopt_parents(parents)
    assert [board.log(r) for r in RECORDS] == ["logged", "logged"]
    assert [workstation.log(r) for r in RECORDS] == ["present", "present"]  # nothing left to log here
    workstation.finish()
    workstation.describe(RECORDS, [])
    link = workstation.compare_link()
    assert link is not None and link.startswith("compare these 2 run(s) in MLflow")
    key, view = _view(uri, link)
    assert key == parents["digits-cnn/bench-a"]
    found = MlflowClient(tracking_uri=uri).search_runs(
        [MlflowClient(tracking_uri=uri).get_experiment_by_name("edgeq/digits-cnn").experiment_id],
        filter_string=view["searchFilter"],
    )
    assert sorted(r.data.params["method"] for r in found) == ["fp32", "ptq-static"]


def test_import_ends_with_the_shared_view_link(results_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from suite.bundle import results

    monkeypatch.setattr(results, "read_results", lambda path: ({"target": "bench-a"}, RECORDS))
    out = io.StringIO()
    code = results.import_results(Path("board.tar"), True, Console(file=out, width=80))
    lines = out.getvalue().rstrip().splitlines()
    assert code == 0 and lines[-1].startswith("compare these 2 run(s) in MLflow"), lines
    key, view = _view(f"sqlite:///{results_dir / 'mlflow.db'}", lines[-1])
    assert view["searchFilter"] == f"tags.mlflow.parentRunId = '{key}'"
    assert view["selectedColumns"][0] == "metrics.`speedup/p50`"
