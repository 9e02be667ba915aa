"""In a real browser: a large value then an immediate form switch, and 2.5 typed into an integer field."""

from __future__ import annotations

import pytest

from paramshare_viz.app.explore import form_label

pytestmark = pytest.mark.browser

SHARED = ".psv-card[data-key='shared'] .psv-count"
STATUS = ".psv-status"


def type_into(page, name: str, text: str) -> None:
    box = page.locator(f".psv-input-{name} input")
    box.fill(text)
    box.press("Enter")


def wait_status(page, text: str, timeout: int = 30_000) -> None:
    page.wait_for_function(
        "([sel, want]) => document.querySelector(sel)?.innerText.includes(want)", arg=[STATUS, text], timeout=timeout
    )


@pytest.fixture
def page(browser, dashboard_url):
    pg = browser.new_page(viewport={"width": 1300, "height": 1000})
    pg.goto(dashboard_url, timeout=120_000)
    pg.wait_for_selector(SHARED, timeout=120_000)
    yield pg
    pg.close()


def test_large_value_shows_busy_then_a_form_switch_takes_effect(page, tmp_path):
    # image_size=160: the locally connected twin holds 224 * 160*160 = 5,734,400 parameters (counted in the worker).
    type_into(page, "image_size", "160")
    wait_status(page, "counting on cpu")
    assert "psv-stale" in page.get_attribute(".psv-cards-box", "class")
    page.screenshot(path=str(tmp_path / "busy.png"), full_page=True)
    page.select_option(".psv-form select", label=form_label("gqa"))  # at once, while conv is counted
    # gqa's default: 32*32 (q) + 2 * 32*8 (k, v for 2 of 8 heads) + 32*32 (out) = 2,560
    page.wait_for_function("sel => document.querySelector(sel)?.innerText === '2,560'", arg=SHARED, timeout=30_000)
    wait_status(page, "gqa on cpu")
    page.wait_for_timeout(3_000)  # the superseded conv result, had it landed, would show by now
    assert page.inner_text(SHARED) == "2,560" and page.inner_text(STATUS).startswith("gqa on cpu")
    assert page.locator(".psv-input-hidden_size input").count() == 1  # gqa's fields, not conv's


def test_a_fraction_text_or_nothing_in_an_integer_field_is_named(page, tmp_path):
    for typed, said in (
        ("2.5", "'2.5' is not a whole number"),
        ("abc", "'abc' is not a whole number"),
        ("", "is empty"),
    ):
        type_into(page, "in_channels", typed)
        wait_status(page, said)
        assert "In channels (in_channels)" in page.inner_text(STATUS)
        assert page.locator(".psv-input-in_channels input").input_value() == typed  # never rewritten to 25
        assert page.inner_text(SHARED) == "224"  # the last valid numbers stay
    page.screenshot(path=str(tmp_path / "fraction.png"), full_page=True)
    type_into(page, "in_channels", "4")
    page.wait_for_function("sel => document.querySelector(sel)?.innerText === '296'", arg=SHARED)  # 8*4*9 + 8
