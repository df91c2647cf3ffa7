"""The two pages a user opens, in a real browser cut off from every network: DVC's plots and the report."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import RUN, run

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's chromium and chromium-driver) that resolves no host at all."""
    assert CHROMIUM and CHROMEDRIVER, "install Debian's chromium and chromium-driver (make test installs them)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def rendered(browser, page: Path, wait_for: str = "true") -> dict:
    """Open a page and report, once `wait_for` holds, its Vega plots and images."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page.resolve().as_uri())
    WebDriverWait(browser, 30).until(lambda driver: driver.execute_script(f"return {wait_for};"))
    return browser.execute_script(
        """
        const embeds = [...document.querySelectorAll('.vega-embed')];
        return {
            embeds: embeds.length,
            drawn: embeds.filter(e => e.querySelector('svg, canvas')).length,
            images: document.images.length,
            loaded: [...document.images].filter(i => i.complete && i.naturalWidth > 0).length,
            sections: [...document.querySelectorAll('section[id]')].map(s => s.id),
        };
        """
    )


def test_dvc_plots_show_draws_every_plot_offline(pipeline, browser):
    run(pipeline, "dvc", "plots", "show")
    page = pipeline / "dvc_plots/index.html"
    expected = len(re.findall(r"vegaEmbed\('#", page.read_text()))
    assert expected >= 2 * len(RUN)  # a loss curve each, confusion or scatter data each, ROC and PR for circles
    wait = f"document.querySelectorAll('.vega-embed svg, .vega-embed canvas').length >= {expected}"
    result = rendered(browser, page, wait)
    assert result["drawn"] == result["embeds"] == expected
    assert result["images"] > 0 and result["loaded"] == result["images"]


def test_the_report_page_shows_every_dataset_and_loads_every_image_offline(pipeline, browser):
    page = pipeline / "reports/index.html"
    assert not re.search(r"""(src|href)=["']https?:""", page.read_text())  # self-contained
    result = rendered(browser, page, "document.readyState === 'complete'")
    assert result["sections"] == RUN
    assert result["images"] >= 2 * len(RUN) and result["loaded"] == result["images"]
