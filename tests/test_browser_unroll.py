"""The Unroll tab in a real browser: open it, move the T slider, the counts and the plot follow."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

COUNT = ".psv-unroll-cards .psv-card[data-key='{}'] .psv-count"


def shown(page, key: str) -> int:
    return int(page.inner_text(COUNT.format(key)).replace(",", ""))


def wait_for_count(page, key: str, value: int) -> None:
    page.wait_for_function(
        "([sel, want]) => document.querySelector(sel)?.innerText.replaceAll(',', '') === want",
        arg=[COUNT.format(key), str(value)],
        timeout=60_000,
    )


def set_slider(page, value: int) -> None:
    """Type into the slider's editable readout, as a visitor can."""
    readout = page.locator(".psv-unroll-steps .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1300, "height": 1100})
    yield pg
    pg.close()


def test_unroll_slider_updates_the_counts(page, dashboard_url, tmp_path):
    page.goto(dashboard_url, timeout=120_000)
    page.wait_for_selector(".psv-status", timeout=120_000)
    page.click("text=Unroll")
    page.wait_for_selector(COUNT.format("shared"), timeout=120_000)
    # RNN cell, I=4, H=8: one cell 8*4 + 8*8 + 2*8 = 112 plus h0 (8); T=5 twin: 5*112 + 8 = 568.
    assert (shown(page, "shared"), shown(page, "unshared")) == (120, 568)
    page.wait_for_selector(".psv-unroll-figure .bartext", timeout=60_000)  # the gradient bars drew

    set_slider(page, 9)
    wait_for_count(page, "unshared", 9 * 112 + 8)  # 1,016: a cell per step
    assert shown(page, "shared") == 120  # flat: still the one cell
    # the chain redraws with 9 steps, and the gradient splits into 9 parts that add up to .grad
    page.wait_for_function("document.querySelector('.psv-unroll-figure').textContent.includes('t=8')",
                           timeout=60_000)
    page.wait_for_function("document.querySelector('.psv-status').innerText.includes('9 per-step parts')",
                           timeout=60_000)
    assert "max |Σ − .grad|" in page.inner_text(".psv-unroll-grad")
    assert "Traceback" not in page.content()
    page.screenshot(path=str(tmp_path / "unroll-T9.png"), full_page=True)
