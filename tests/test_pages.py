"""The two pages a user opens, in a real browser cut off from every network: DVC's plots and the report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import RUN, run
from test_pipeline import LEARNING_FIGURES

from tinynets.html_report import FIGURES

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]  # one worker, one browser


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


def test_the_report_animates_how_circles_learns_and_shows_every_learning_figure(pipeline, browser):
    rendered(browser, pipeline / "reports/index.html", "document.readyState === 'complete'")
    frames = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const gif = [...document.images].find(image => image.alt === 'circles: ' + arguments[0]);
        if (!gif || !gif.complete || !gif.naturalWidth) { done('not loaded'); return; }
        fetch(gif.src).then(response => response.arrayBuffer()).then(async data => {
            const decoder = new ImageDecoder({data, type: 'image/gif'});  // the browser's own GIF decoder
            await decoder.tracks.ready;
            done(decoder.tracks.selectedTrack.frameCount);
        }).catch(error => done(String(error)));
        """,
        FIGURES["training.gif"].lower(),
    )
    assert isinstance(frames, int) and frames >= 20, frames
    loaded = browser.execute_script(
        "return [...document.images].filter(image => image.complete && image.naturalWidth > 0).map(image => image.alt)"
    )
    for name, figures in LEARNING_FIGURES.items():
        for figure in figures:
            assert f"{name}: {FIGURES[figure].lower()}" in loaded
