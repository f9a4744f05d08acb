"""Screenshots for the README, taken from a real results root: the MLflow UI and the leaderboard page.

    .venv/bin/python tools/docs_screenshots.py RESULTS_DIR [--out docs]

Starts ``mlflow ui`` on 127.0.0.1 (a free port) over ``RESULTS_DIR/mlflow.db``, opens it in headless
Debian chromium (tests/support/browser.py). First the two-click path a sweep prints, in a fresh browser with
nothing set up: the compare link of the sweep's job runs (``mlflow-compare.png``) and its scatter tab
after one click (``mlflow-compare-scatter.png``), and the runs-table link `edgeq ui` prints
(``mlflow-runs-link.png``). Then the runs table showing the columns the README recommends,
``mlflow-runs.png`` and ``mlflow-chart.png``; then ``leaderboard-phone.png`` and
``leaderboard-desktop.png`` of ``RESULTS_DIR/leaderboard/index.html``. The UI's own view state (chosen
columns, expanded rows) is set the way the UI stores it, in the page's localStorage, before loading:
the same thing a user's clicks would leave there. The server is stopped by its process group id.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.browser import chromium, missing_reason  # noqa: E402

COLUMNS = [
    "params.`method`",
    "params.`w_bits`",
    "params.`a_bits`",
    "params.`runtime`",
    "metrics.`acc/top1`",
    "metrics.`acc/delta_top1`",
    "metrics.`latency/p50_ms`",
    "metrics.`throughput/items_per_s`",
    "metrics.`model/size_mb`",
]
JOB_FILTER = "tags.`edgeq.kind` = 'job'"
# The chart view the README recommends: accuracy against latency as a scatter, then bars per method.
SECTION = {
    "uuid": "edgeq-section",
    "name": "EdgeQ: compare methods",
    "display": True,
    "isReordered": False,
    "deleted": False,
    "isGenerated": False,
}
_CHART = {"runsCountToCompare": 100, "metricSectionId": "edgeq-section", "deleted": False, "isGenerated": False}
CHARTS = [
    {
        **_CHART,
        "uuid": "edgeq-scatter",
        "type": "SCATTER",
        "xaxis": {"key": "latency/p50_ms", "type": "METRIC"},
        "yaxis": {"key": "acc/top1", "type": "METRIC"},
    },
    {
        **_CHART,
        "uuid": "edgeq-bar-delta",
        "type": "BAR",
        "metricKey": "acc/delta_top1",
        "displayName": "acc/delta_top1",
    },
    {**_CHART, "uuid": "edgeq-bar-p50", "type": "BAR", "metricKey": "latency/p50_ms", "displayName": "latency/p50_ms"},
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_ui(results: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        f"sqlite:///{results / 'mlflow.db'}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(uri + "/health", timeout=2):
                return proc, uri
        except OSError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit(f"mlflow ui did not answer on {uri}")


def experiment_and_parents(uri: str) -> tuple[str, list[str]]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = next(e for e in client.search_experiments() if e.name.startswith("edgeq/"))
    parents = client.search_runs([exp.experiment_id], filter_string="tags.`edgeq.kind` = 'sweep'")
    return exp.experiment_id, [r.info.run_id for r in parents]


def shoot_mlflow(uri: str, out: Path) -> None:
    exp_id, parents = experiment_and_parents(uri)
    state = {
        "searchFilter": JOB_FILTER,
        "orderByKey": "metrics.`acc/top1`",
        "orderByAsc": False,
        "startTime": "ALL",
        "lifecycleFilter": "Active",
        "datasetsFilter": [],
        "modelVersionFilter": "All Runs",
        "selectedColumns": COLUMNS,
        "columnOrder": [],
        "columnWidths": {},
        "runsExpanded": {p: True for p in parents},
        "runsPinned": [],
        "runsHidden": [],
        "runsVisibilityMap": {},
        "runsHiddenMode": "SHOW_ALL",
        "viewMaximized": False,
        "runListHidden": False,
        "useGroupedValuesInCharts": True,
        "hideEmptyCharts": True,
        "groupBy": None,
        "groupsExpanded": {},
        "autoRefreshEnabled": False,
        "compareRunCharts": CHARTS,
        "compareRunSections": [SECTION],
        "isAccordionReordered": True,
    }
    storage = {
        f'MLflowLocalStorage-1.1-ExperimentPage-["{exp_id}"]-ReactComponentState': json.dumps(state),
        f"MLflowLocalStorage-1.1-ExperimentView-{exp_id}-expandRows": "true",
        "mlflow.assistant.panelOpen_v1": "false",
        "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": "true",
        "mlflow.workflowType": json.dumps("machine_learning"),
    }
    with chromium(width=1700, height=950) as driver:
        driver.get(uri + "/")
        for key, value in storage.items():
            driver.execute_script("localStorage.setItem(arguments[0], arguments[1])", key, value)
        driver.get(f"{uri}/#/experiments/{exp_id}/runs?workflowType=machine_learning")
        time.sleep(8)
        driver.save_screenshot(str(out / "mlflow-runs.png"))
        driver.get(f"{uri}/#/experiments/{exp_id}/runs?workflowType=machine_learning&compareRunsMode=CHART")
        time.sleep(8)
        driver.save_screenshot(str(out / "mlflow-chart.png"))


def shoot_links(uri: str, out: Path) -> None:
    """What a person sees following the links EdgeQ prints, in a fresh browser profile (no view state)."""
    from mlflow.tracking import MlflowClient
    from selenium.webdriver.common.by import By

    from suite.tracking.mlflow import JOB_RUNS_FILTER, compare_runs_url, runs_table_url

    client = MlflowClient(tracking_uri=uri)
    exp_id, parents = experiment_and_parents(uri)
    newest = max(parents, key=lambda run_id: client.get_run(run_id).info.start_time)  # the last sweep
    runs = client.search_runs([exp_id], filter_string=f"{JOB_RUNS_FILTER} and tags.`mlflow.parentRunId` = '{newest}'")
    with chromium(width=1600, height=1500) as driver:
        driver.get(uri + "/")  # the UI's assistant side panel closed, as one click on its x leaves it
        for key in ("mlflow.assistant.panelOpen_v1", "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1"):
            driver.execute_script(
                "localStorage.setItem(arguments[0], arguments[1])", key, "false" if "panel" in key else "true"
            )
        driver.get(compare_runs_url(uri, [r.info.run_id for r in runs], [exp_id]))
        time.sleep(8)
        driver.save_screenshot(str(out / "mlflow-compare.png"))
        tabs = [t for t in driver.find_elements(By.CSS_SELECTOR, "[role=tab]") if "Scatter" in t.text]
        if tabs:
            tabs[0].click()
            time.sleep(3)
            _pick_axes(driver, ["latency/p50_ms", "acc/top1"])
            driver.save_screenshot(str(out / "mlflow-compare-scatter.png"))
    with chromium(width=1600, height=900) as driver:
        driver.get(uri + "/")
        for key in ("mlflow.assistant.panelOpen_v1", "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1"):
            driver.execute_script(
                "localStorage.setItem(arguments[0], arguments[1])", key, "false" if "panel" in key else "true"
            )
        driver.get(runs_table_url(uri, exp_id))
        time.sleep(8)
        driver.save_screenshot(str(out / "mlflow-runs-link.png"))


def _pick_axes(driver, keys: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Choose the scatter plot's X and Y metrics the way a person does: open each axis's select
    (``#x-axis-selector``, ``#y-axis-selector``), click the option."""
    from selenium.webdriver.common.by import By

    for axis, key in zip(("x", "y"), keys):
        driver.find_element(By.ID, f"{axis}-axis-selector").click()
        time.sleep(1)
        options = [o for o in driver.find_elements(By.CSS_SELECTOR, "[role=option]") if o.text.strip() == key]
        if options:
            options[0].click()
        time.sleep(2)


def shoot_page(page: Path, out: Path) -> None:
    with chromium(width=412, height=915, phone=True) as driver:
        driver.get(page.as_uri())
        time.sleep(1)
        driver.save_screenshot(str(out / "leaderboard-phone.png"))
    with chromium(width=1400, height=900) as driver:
        driver.get(page.as_uri())
        time.sleep(1)
        driver.save_screenshot(str(out / "leaderboard-desktop.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a results root with mlflow.db and leaderboard/")
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args()
    reason = missing_reason()
    if reason:
        raise SystemExit(reason)
    args.out.mkdir(parents=True, exist_ok=True)
    proc, uri = start_ui(args.results.resolve())
    try:
        shoot_links(uri, args.out)
        shoot_mlflow(uri, args.out)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    page = args.results / "leaderboard" / "index.html"
    if page.is_file():
        shoot_page(page, args.out)
    for name in (
        "mlflow-compare.png",
        "mlflow-compare-scatter.png",
        "mlflow-runs-link.png",
        "mlflow-runs.png",
        "mlflow-chart.png",
        "leaderboard-phone.png",
        "leaderboard-desktop.png",
    ):
        if (args.out / name).is_file():
            print(args.out / name)


if __name__ == "__main__":
    main()
