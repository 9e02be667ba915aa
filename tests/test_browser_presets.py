"""Explore's preset menu in a real browser: ALBERT-base's published count, then "custom"."""

from __future__ import annotations

import pytest

from paramshare_viz.app.explore import form_label

pytestmark = pytest.mark.browser

SHARED = ".psv-card[data-key='shared'] .psv-count"
CHOSEN = "el => el.options[el.selectedIndex].text"


def test_albert_base_preset_then_custom(browser, dashboard_url, tmp_path):
    page = browser.new_page(viewport={"width": 1300, "height": 1100})
    try:
        page.goto(dashboard_url, timeout=120_000)
        page.wait_for_selector(SHARED, timeout=120_000)
        page.select_option(".psv-form select", label=form_label("albert"))
        page.wait_for_function(
            "() => [...document.querySelectorAll('.psv-preset option')].some(o => o.text === 'ALBERT-base')",
            timeout=15_000,
        )
        page.select_option(".psv-preset select", label="ALBERT-base")
        # HF AlbertModel(albert-base-v2) with its pooler: 11,683,584, counted on meta.
        page.wait_for_function(
            "sel => document.querySelector(sel)?.innerText === '11,683,584'", arg=SHARED, timeout=15_000
        )
        assert page.locator(".psv-input-hidden_size input").input_value() == "768"
        page.wait_for_selector(".psv-bars-box .psv-size-note", timeout=15_000)  # the bars arrive after the cards
        assert "counted without allocating" in page.inner_text(".psv-size-note")
        assert page.inner_text(".psv-bar-row[data-key='unshared'] .psv-bar-ratio") == "7.7×"  # 89,650,176 / 11,683,584
        page.screenshot(path=str(tmp_path / "albert-base.png"), full_page=True)

        box = page.locator(".psv-input-num_layers input")
        box.fill("6")
        box.press("Enter")
        page.wait_for_function(f"() => ({CHOSEN})(document.querySelector('.psv-preset select')) === 'custom'", timeout=15_000)
        # 6 layers: the shared model is unchanged, the twin holds 11,683,584 + 5 * 7,087,872.
        page.wait_for_function(
            "() => document.querySelector(\".psv-card[data-key='unshared'] .psv-count\")?.innerText === '47,122,944'",
            timeout=15_000,
        )
        assert page.inner_text(SHARED) == "11,683,584"
    finally:
        page.close()
