"""index.html in headless chromium: sorting and filtering work, nothing is fetched, a phone can read it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from suite.compute.efficiency import efficiency_block
from suite.publish import leaderboard
from tests.support.browser import chromium, require_browser
from tests.support.publish_records import make_record, write_records

PEAK = {"int8_ops_per_s": {"value": 4.0e12, "source": "datasheet: X"}, "fp32_flops": {"value": 1e11, "source": "X"}}


def counted(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with the compute block a job carries and the efficiency block it works out."""
    record = {**record, "compute": {"macs_per_item": 337_536, "ops_per_item": 675_072}}
    record["efficiency"] = efficiency_block(record, PEAK)
    return record


RECORDS = [
    make_record("fp32", 0.980, 2.0),
    make_record("ptq-static", 0.975, 1.0),
    make_record("ptq-percentile", 0.977, 1.1, params={"calibration": "percentile"}),
    make_record("dynamic", 0.979, 3.0, family="dynamic"),
    make_record("binary", 0.900, 1.9, simulated=True, simulated_top1=0.92, family="binary"),
    make_record("broken", None, None, status="failed", error="RuntimeError: no kernel"),
    counted(make_record("fp32", 0.980, 0.5, target="bench-b", provider="CUDAExecutionProvider")),
    counted(
        make_record(
            "ptq-static", 0.970, 0.2, target="bench-b", provider="CUDAExecutionProvider", mj_per_item=0.4, avg_w=8.0
        )
    ),
]

VISIBLE = """return Array.from(document.querySelectorAll('#board tbody tr')).filter(r => !r.hidden)
  .map(r => [r.dataset.label, r.dataset.target, r.cells[3].dataset.v]);"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One publication for the whole module (its charts take seconds to draw); the tests only read it."""
    root = tmp_path_factory.mktemp("html-results")
    store = write_records(root, RECORDS)
    leaderboard.publish(store, None, root / "leaderboard")
    return root / "leaderboard" / "index.html"


def test_page_is_self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert '<meta name="viewport"' in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "the page must load nothing from a network"
    assert "<script src" not in text and "@import" not in text
    for image in re.findall(r'<img src="([^"]+)"', text):
        assert (page.parent / image).is_file(), image
    assert text.count("<tr class=") + text.count("<tr data-") >= len(RECORDS)


def test_landscape_and_efficiency_columns_are_on_the_page_and_in_the_readmes(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    chart = re.search(r'<figure id="landscape"><a href="([^"]+)"><img src="([^"]+)"', text)
    assert chart and chart.groups() == ("landscape.svg", "landscape.png")
    assert (page.parent / "landscape.svg").is_file() and (page.parent / "landscape.png").is_file()
    assert "Placed: bench-b (measured)." in text  # the one record with a MAC count and a measured power
    heads = re.findall(r"<th [^>]*><button type=\"button\">([^<]+)</button>", text)
    assert "GOPS" in heads and "% of peak" in heads
    gops = 2 * 337_536 * 1000.0 / 1e9  # make_record's items_per_s: 1000
    assert f'data-v="{gops!r}"' in text
    for readme in (page.parent / "README.md", page.parent / "bench-b" / "README.md"):
        body = readme.read_text(encoding="utf-8")
        assert "## Landscape" in body and "(landscape.png)](landscape.svg)" in body, readme
        assert "bench-b (measured)" in body
    assert (page.parent / "bench-a" / "landscape.png").is_file()
    assert "Placed here: none of these records" in (page.parent / "bench-a" / "README.md").read_text(encoding="utf-8")


@pytest.mark.browser
def test_sort_and_filter_in_chromium(page: Path) -> None:
    require_browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with chromium() as driver:
        driver.get(page.as_uri())
        rows = driver.execute_script(VISIBLE)
        assert len(rows) == len(RECORDS)
        assert driver.find_element(By.ID, "count").text == f"{len(RECORDS)} of {len(RECORDS)} rows"

        header = next(
            h for h in driver.find_elements(By.CSS_SELECTOR, "#board thead th") if h.text.startswith("p50 ms")
        )
        header.find_element(By.TAG_NAME, "button").click()
        assert header.get_attribute("aria-sort") == "ascending"
        p50s = [r[2] for r in driver.execute_script(VISIBLE)]
        timed = [float(v) for v in p50s if v]
        assert timed == sorted(timed) and timed[0] == 0.2
        assert p50s[-1] == ""  # the failed row has no p50 and sorts last
        header.find_element(By.TAG_NAME, "button").click()
        assert header.get_attribute("aria-sort") == "descending"
        p50s = [r[2] for r in driver.execute_script(VISIBLE)]
        assert [float(v) for v in p50s if v] == sorted(timed, reverse=True) and p50s[-1] == ""

        method = next(
            h for h in driver.find_elements(By.CSS_SELECTOR, "#board thead th") if h.text.startswith("method")
        )
        method.find_element(By.TAG_NAME, "button").click()
        labels = [r[0] for r in driver.execute_script(VISIBLE)]
        assert labels == sorted(labels)

        box = driver.find_element(By.ID, "f-method")
        box.send_keys("ptq")
        shown = driver.execute_script(VISIBLE)
        assert sorted(r[0] for r in shown) == ["ptq-percentile", "ptq-static", "ptq-static"]
        assert driver.find_element(By.ID, "count").text == f"3 of {len(RECORDS)} rows"
        Select(driver.find_element(By.ID, "f-target")).select_by_value("bench-b")
        assert [(r[0], r[1]) for r in driver.execute_script(VISIBLE)] == [("ptq-static", "bench-b")]
        box.clear()
        box.send_keys("x")  # 'clear' fires no input event: type and delete to refilter
        box.send_keys("\b")
        assert {r[1] for r in driver.execute_script(VISIBLE)} == {"bench-b"} and len(
            driver.execute_script(VISIBLE)
        ) == 2
        Select(driver.find_element(By.ID, "f-target")).select_by_value("")
        driver.find_element(By.ID, "f-pareto").click()
        front = sorted((r[0], r[1]) for r in driver.execute_script(VISIBLE))
        # bench-a: fp32 (most accurate) and ptq-static (fastest); ptq-percentile 97.7 % at 1.1 ms is not beaten
        # on both axes by either; dynamic is (by fp32). bench-b: ptq-static is faster, fp32 more accurate.
        assert front == [
            ("fp32", "bench-a"),
            ("fp32", "bench-b"),
            ("ptq-percentile", "bench-a"),
            ("ptq-static", "bench-a"),
            ("ptq-static", "bench-b"),
        ]

        chart = driver.find_element(By.CSS_SELECTOR, "#landscape img")
        driver.execute_script("arguments[0].scrollIntoView()", chart)
        width = driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", chart)
        assert width > 0, "the landscape chart does not render"
        assert chart.find_element(By.XPATH, "..").get_attribute("href").endswith("/landscape.svg")

        loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert all(url.startswith("file:") for url in loaded), loaded


@pytest.mark.browser
def test_readable_on_a_phone(page: Path, tmp_path: Path) -> None:
    require_browser()
    from matplotlib.image import imread
    from selenium.webdriver.common.by import By

    with chromium(width=412, height=915, phone=True) as driver:
        driver.get(page.as_uri())
        inner, scroll = driver.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
        assert inner == 412 and scroll <= inner, "only the table may scroll sideways, never the page"
        table = driver.find_element(By.ID, "board")
        size = float(driver.execute_script("return parseFloat(getComputedStyle(arguments[0]).fontSize)", table))
        assert size >= 11, f"table text is {size}px"
        first = driver.find_element(By.CSS_SELECTOR, "#board tbody tr td")
        rect = driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", first)
        assert 0 <= rect["left"] and rect["right"] <= inner and rect["top"] < 915, "the first row is on screen"
        # The method column stays put while the table scrolls sideways.
        driver.execute_script("document.querySelector('.scroll').scrollLeft = 400")
        after = driver.execute_script("return arguments[0].getBoundingClientRect().left", first)
        assert abs(after - rect["left"]) < 1
        shot = tmp_path / "phone.png"
        assert driver.save_screenshot(str(shot))
    pixels = imread(shot)
    assert pixels.shape[1] == 824  # 412 css px at 2x
    assert pixels[..., :3].std() > 0.05
