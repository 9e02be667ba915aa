"""plotly.js in a real page: never fetched by URL, sent by the kernel once, only when a figure shows.

Voila would load jupyterlab-plotly's 4.8 MB chunk into every page; the dashboard's Voila
configuration denies that extension, and PlotOutput's front end asks its kernel for plotly.js
when the page's first figure shows (paramshare_viz/app/static/plotly_view.js). Explore's graph,
Slide's charts and Compare's twin ÷ shared bars are the package's own HTML/SVG: no plotly.js;
Unroll's figure and Compare's roofline and sweep are plotly figures.
"""

from __future__ import annotations

import re

import pytest

from paramshare_viz.app.plot_output import PLOTLY_JS

pytestmark = pytest.mark.browser

#: A websocket frame this large carries plotly.js (plotly.min.js is 4,815,814 bytes); the figures
#: and every other message of these pages are far smaller.
PLOTLY_JS_FRAME = 4_000_000


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1300, "height": 1100})
    yield pg
    pg.close()


def record(page) -> tuple[list[str], list[int]]:
    """The URLs the page requests and the sizes of the websocket frames it receives."""
    urls: list[str] = []
    frames: list[int] = []
    page.on("request", lambda r: urls.append(r.url))
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(len(p))))
    return urls, frames


def first_view(page, url: str) -> None:
    page.goto(url, timeout=180_000)
    page.wait_for_selector(".psv-tab-explore .psv-cards-box", timeout=180_000)
    page.wait_for_selector(".psv-graph [data-tensor]", timeout=180_000)  # the sharing graph drawn
    page.wait_for_load_state("networkidle")


@pytest.mark.timeout(600)
def test_plotly_js_comes_with_the_first_figure_once_per_page(page, dashboard_url, tmp_path):
    urls, frames = record(page)
    first_view(page, dashboard_url)
    # Explore's first view has no plotly figure (the sharing graph is the package's own front end):
    # no plotly.js bytes on the websocket, and no plotly.js in the page
    assert [n for n in frames if n > PLOTLY_JS_FRAME] == []
    assert page.evaluate("() => '__psvPlotly' in window || 'Plotly' in window") is False
    # Slide's first view: its charts are inline SVG, drawn with no plotly.js either
    page.click(".lm-TabBar-tab:has-text('Slide')")
    page.wait_for_selector(".psv-slide-gradient svg.psv-hm rect", timeout=120_000)
    page.wait_for_selector(".psv-slide-equivariance svg.psv-hm rect", timeout=120_000)
    page.wait_for_load_state("networkidle")
    assert [n for n in frames if n > PLOTLY_JS_FRAME] == []
    assert page.evaluate("() => '__psvPlotly' in window || 'Plotly' in window") is False
    page.click(".lm-TabBar-tab:has-text('Unroll')")  # draws its plotly figure at once
    page.wait_for_selector(".psv-unroll-figure .js-plotly-plot .bartext", timeout=120_000)
    page.click(".lm-TabBar-tab:has-text('Compare')")  # measures Explore's setting, then draws its HTML bars
    page.wait_for_selector(".psv-compare-bars .psv-cbar-row", timeout=240_000)
    page.click(".psv-compare-view button:has-text('Roofline')")  # a plotly figure: the page's second
    page.wait_for_selector(".psv-compare-plot .js-plotly-plot .main-svg", timeout=240_000)
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    # the page's own server only: no plotly URL (jupyterlab-plotly's chunk is denied) ...
    assert [u for u in urls if "plotly" in u.lower()] == []
    # ... and plotly.js came over the kernel's websocket once, for both figures of the page
    assert len([n for n in frames if n > PLOTLY_JS_FRAME]) == 1
    # the plotly.js of the installed plotly package, which made the figures ("plotly.js v4.1.1" in its header)
    installed = re.search(r"plotly\.js v(\S+)", PLOTLY_JS.read_text()[:200]).group(1)
    assert page.evaluate("() => window.Plotly.version") == installed
