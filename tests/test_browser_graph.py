"""The sharing graph in the served dashboard: switch to tied embeddings, click the tied tensor."""

from __future__ import annotations

import pytest

from paramshare_viz.app.explore import form_label

pytestmark = pytest.mark.browser

GRAPH = ".js-plotly-plot.psv-graph"  # the FigureWidget element carries both classes

# Page coordinates of a point of the figure's "tensors" trace, from plotly's own axes.
POINT_XY = """([sel, i]) => {
  const gd = document.querySelector(sel);
  const tr = gd._fullData.find(t => t.name === 'tensors');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return [box.left + xa._offset + xa.l2p(tr.x[i]), box.top + ya._offset + ya.l2p(tr.y[i])];
}"""


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1300, "height": 1400})
    yield pg
    pg.close()


def test_click_the_tied_tensor_lists_both_holders(page, dashboard_url):
    page.goto(dashboard_url, timeout=180_000)
    page.wait_for_selector(GRAPH, timeout=180_000)
    # One plotly figure on the page at load: the graph (the bars are HTML).
    assert page.locator(".js-plotly-plot").count() == 1

    page.select_option(".psv-form select", label=form_label("tied_embeddings"))
    page.wait_for_function(  # the kernel has counted the new form...
        "() => document.querySelector('.psv-status')?.innerText.startsWith('tied_embeddings')", timeout=120_000
    )
    page.wait_for_function(  # ...and the graph shows it
        "sel => document.querySelector(sel)?._fullData.find(t => t.name === 'tensors')?.customdata?.length > 0"
        " && document.querySelector(sel).layout.title.text.includes('TiedLM')",
        arg=GRAPH, timeout=120_000,
    )
    page.locator(GRAPH).scroll_into_view_if_needed()
    # Tensor 0 is the tied one: first held by wte, drawn on wte's row.
    x, y = page.evaluate(POINT_XY, [GRAPH, 0])
    page.mouse.click(x, y)
    page.wait_for_function(
        "() => document.querySelector('.psv-graph-clicked')?.innerText.includes('held by')", timeout=30_000
    )
    line = page.inner_text(".psv-graph-clicked")
    assert "held by wte, lm_head" in line
    assert "lm_head.weight" in line and "wte.weight" in line
