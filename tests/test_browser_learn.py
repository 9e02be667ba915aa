"""The Learn tab in a real browser: a training run starts, reports progress, and Stop keeps its result."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

TAB = ".psv-tab-learn"


def test_learn_run_starts_and_stops(browser, dashboard_url, tmp_path):
    page = browser.new_page(viewport={"width": 1300, "height": 1100})
    try:
        page.goto(dashboard_url, timeout=120_000)
        page.wait_for_selector(".psv-tab-explore .psv-cards-box", timeout=120_000)
        page.click(".lm-TabBar-tab:has-text('Learn')")
        page.wait_for_selector(f"{TAB} .psv-learn-run", timeout=120_000)
        assert "λ·‖w_A − w_B‖²" in page.inner_text(TAB)  # the experiment says what it trains

        # A long sweep: the page says it is busy, the progress moves, Stop ends it and keeps what ran.
        steps = page.locator(f"{TAB} .widget-inline-hbox:has-text('Steps') input")
        steps.fill("3000")
        steps.press("Tab")
        page.click(f"{TAB} .psv-learn-sweep")
        page.wait_for_function(
            "() => /[1-9][\\d,]* \\/ [\\d,]+ steps/.test(document.querySelector('.psv-tab-learn .psv-learn-progress').innerText)",
            timeout=120_000,
        )
        assert "training soft tying over 6 values" in page.inner_text(".psv-status")
        assert page.locator(f"{TAB} .psv-learn-stop").is_enabled()
        assert page.locator(f"{TAB} .psv-learn-run").is_disabled()
        page.click(f"{TAB} .psv-learn-stop")
        page.wait_for_function(
            "() => document.querySelector('.psv-status').innerText.includes('stopped; kept what was trained')",
            timeout=120_000,
        )
        # The buttons come back after the status is set.
        page.wait_for_function(f"() => !document.querySelector('{TAB} .psv-learn-run').disabled", timeout=10_000)
        summary = page.inner_text(f"{TAB} .psv-learn-result")
        assert "stopped" in summary or "value of λ trained" in summary
        page.screenshot(path=str(tmp_path / "learn-stopped.png"), full_page=True)
        assert "Traceback" not in page.content()
    finally:
        page.close()
