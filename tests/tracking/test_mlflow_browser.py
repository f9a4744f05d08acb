"""What a person sees in MLflow's UI after a sweep, in headless Debian chromium against a real ``mlflow
server`` on 127.0.0.1: the link a sweep prints opens its job runs with speed-up and delta on the first
screen (no click), the experiment opens on its runs (not MLflow 3's GenAI overview), and the parent run
carries the sweep's table and Pareto plot.

"On screen" is what the browser paints at 1440x900: the element at a cell's centre
(``document.elementFromPoint``) is that cell, so a column scrolled off or hidden under a panel fails.
Screenshots go to ``$EDGEQ_SCREENSHOTS`` when set (to look at), else into the test's tmp folder.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import edgeq
from tests.support.browser import chromium, require_browser

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.browser]

METHODS = "fp32,ptq-static,dynamic"
LIMIT = "143"  # part of the fingerprint: these runs are this module's on a shared server
FIRST_SCREEN = ("speedup/p50", "acc/delta_top1", "acc/delta_significant")


def _shots(tmp: Path) -> Path:
    folder = Path(os.environ.get("EDGEQ_SCREENSHOTS") or tmp)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def sweep(mlflow_server: str, shared_cache: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    results = tmp_path_factory.mktemp("browser-sweep")
    env = {
        "EDGEQ_RESULTS_DIR": str(results),
        "EDGEQ_CACHE_DIR": str(shared_cache),
        "MLFLOW_TRACKING_URI": mlflow_server,
    }
    out = edgeq("bench", "--quick", "--limit", LIMIT, "--methods", METHODS, "--runtimes", "ort", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    records = [json.loads(p.read_text()) for p in sorted((results / "records").rglob("*.json"))]
    assert sorted(r["method"]["name"] for r in records) == sorted(METHODS.split(","))
    link = out.stdout.rstrip().splitlines()[-1].rsplit(": ", 1)[1]
    return mlflow_server, records, link, results


def _wait(driver: Any, condition: Any, timeout_s: float = 60.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout_s, poll_frequency=0.5).until(condition)


def _on_screen(driver: Any, cell: Any) -> bool:
    """Is ``cell`` painted where it is, inside the window (not scrolled off, not under another element)?"""
    script = """
        const el = arguments[0], r = el.getBoundingClientRect();
        const x = r.left + Math.min(r.width / 2, 20), y = r.top + r.height / 2;
        if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) return false;
        const hit = document.elementFromPoint(x, y);
        return hit !== null && (hit === el || el.contains(hit));
    """
    return bool(driver.execute_script(script, cell))


def _grid(driver: Any) -> dict[str, dict[str, Any]]:
    """The runs table: {run name: {column id: cell element}} (ag-grid splits a row over containers)."""
    from selenium.webdriver.common.by import By

    rows: dict[str, dict[str, Any]] = {}
    for cell in driver.find_elements(By.CSS_SELECTOR, '[role="gridcell"][col-id]'):
        index = cell.find_element(By.XPATH, "./ancestor::*[@row-index][1]").get_attribute("row-index")
        rows.setdefault(index, {})[cell.get_attribute("col-id")] = cell
    named = {}
    for cells in rows.values():
        name = cells.get("attributes.`Run Name`")
        if name is not None:
            named[name.text.splitlines()[-1]] = cells
    return named


def test_printed_link_shows_speedup_and_delta_for_every_run_without_a_click(sweep, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    require_browser()
    from suite.tracking.mlflow import metrics_of

    uri, records, link, _ = sweep
    assert link.startswith(f"{uri}/#/experiments/") and "viewStateShareKey=" in link
    names = {f"{r['method']['name']} · ort": r for r in records}
    with chromium(1440, 900) as driver:
        driver.get(link)
        _wait(
            driver,
            lambda d: set(names) <= set(_grid(d)) and all("metrics.`speedup/p50`" in c for c in _grid(d).values()),
        )
        time.sleep(1.0)  # the grid's last layout pass (column widths)
        driver.save_screenshot(str(_shots(tmp_path) / "mlflow-sweep-link-1440.png"))
        assert "/runs" in driver.current_url and "overview" not in driver.current_url
        grid = _grid(driver)
        assert set(grid) == set(names), "the sweep's job runs, flat, and nothing else (no parent row)"
        for name, record in names.items():
            metrics = metrics_of(record)
            for metric in FIRST_SCREEN:
                cell = grid[name][f"metrics.`{metric}`"]
                assert _on_screen(driver, cell), f"{name}: {metric} is not on the first screen"
                shown = cell.text.strip()
                if metric in metrics:
                    assert float(shown) == pytest.approx(metrics[metric], rel=1e-6), (name, metric, shown)
                else:  # fp32 has no significance against itself
                    assert record["method"]["name"] == "fp32" and shown == "-", (name, metric, shown)
            assert float(grid[name]["metrics.`speedup/p50`"].text) > 0


def test_experiment_opens_on_its_runs(sweep, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``edgeq ui``'s link to an experiment lands on its runs table in the model-training layout (0
    clicks); from the home page it takes 2 (the UI's mode switch, then the experiment)."""
    require_browser()
    from selenium.webdriver.common.by import By

    uri, _, _, results = sweep
    out = edgeq("ui", env={"MLFLOW_TRACKING_URI": uri, "EDGEQ_RESULTS_DIR": str(results)})
    assert out.returncode == 0, out.stderr
    link = next(line for line in out.stdout.splitlines() if line.startswith("edgeq/digits-cnn: ")).split(": ", 1)[1]
    with chromium(1440, 900) as driver:
        driver.get(link)
        _wait(driver, lambda d: "/runs" in d.current_url and _grid(d))
        driver.save_screenshot(str(_shots(tmp_path) / "mlflow-experiment-1440.png"))
        assert "workflowType=machine_learning" in driver.current_url
        # From the home page: MLflow 3.17's UI takes an experiment's kind from its GenAI / Model training
        # switch (default GenAI), not from the experiment's tag: one click on the switch (the browser keeps
        # it), one on the experiment, and it opens on its runs.
        driver.get(f"{uri}/")
        switch = _wait(driver, lambda d: d.find_elements(By.XPATH, "//*[normalize-space(text())='Model training']"))
        switch[0].click()
        experiment = _wait(driver, lambda d: d.find_elements(By.PARTIAL_LINK_TEXT, "edgeq/digits-cnn"))[0]
        experiment.click()
        _wait(driver, lambda d: "/runs" in d.current_url or "/overview" in d.current_url)
        assert "/runs" in driver.current_url, f"home page, 2 clicks: {driver.current_url}"


def test_parent_run_carries_the_sweeps_table_and_pareto_plot(sweep) -> None:  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    uri, records, _, _ = sweep
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("edgeq/digits-cnn")
    run = client.search_runs(
        [exp.experiment_id], filter_string=f"tags.`edgeq.fingerprint` = '{records[0]['fingerprint']}'"
    )[0]
    parent = client.get_run(run.data.tags["mlflow.parentRunId"])
    note = parent.data.tags["mlflow.note.content"]
    for record in records:
        assert f"| {record['method']['name']} | ort |" in note
    assert [a.path for a in client.list_artifacts(parent.info.run_id, "pareto")] == [
        "pareto/pareto-digits-cnn-latency.png"
    ]
