"""The sharing graph in the served dashboard: switch to tied embeddings, light up the tied tensor."""

from __future__ import annotations

import pytest

from paramshare_viz.app.explore import form_label

pytestmark = pytest.mark.browser

GRAPH = ".psv-graph .js-plotly-plot"  # plotly's mime renderer inside the graph's Output


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1300, "height": 1400})
    yield pg
    pg.close()


def test_light_up_the_tied_tensor_lists_both_holders(page, dashboard_url):
    page.goto(dashboard_url, timeout=180_000)
    page.wait_for_selector(GRAPH, timeout=180_000)
    # No plotly widget on the page: the graph is a plain figure (the bars are HTML).
    assert page.locator(".js-plotly-plot").count() == 1
    assert page.locator(GRAPH).count() == 1

    page.select_option(".psv-form select", label=form_label("tied_embeddings"))
    page.wait_for_function(  # the kernel has counted the new form...
        "() => document.querySelector('.psv-status')?.innerText.startsWith('tied_embeddings')", timeout=120_000
    )
    page.wait_for_function(  # ...and the graph shows it
        "sel => document.querySelector(sel)?.layout?.title?.text?.includes('TiedLM')", arg=GRAPH, timeout=120_000
    )
    page.select_option(".psv-graph-pick select", label="tensor wte.weight (2 names)")
    page.wait_for_function(
        "() => document.querySelector('.psv-graph-clicked')?.innerText.includes('held by')", timeout=30_000
    )
    line = page.inner_text(".psv-graph-clicked")
    assert "held by wte, lm_head" in line
    assert "lm_head.weight" in line and "wte.weight" in line
