"""The Compare tab in a real browser: measured table and figure, a sweep to the end, one stopped."""

from __future__ import annotations

import base64
import re

import pytest

pytestmark = pytest.mark.browser

TAB = ".psv-tab-compare"


def button(page, name: str):
    return page.locator(f"{TAB} .psv-{name}")


def enabled(page) -> dict[str, bool]:
    return {name: button(page, name).is_enabled() for name in ("measure", "sweep", "stop")}


IDLE = {"measure": True, "sweep": True, "stop": False}


def set_values(page, text: str) -> None:
    box = page.locator(f"{TAB} .psv-sweep-values input")
    box.fill(text)
    box.press("Tab")  # ipywidgets Text syncs on change


def wait_idle(page, progress: str, timeout: int = 120_000) -> None:
    """Until the progress line matches ``progress`` (a regex) and the buttons are back to idle."""
    page.wait_for_function(
        f"""() => new RegExp({progress!r}).test(document.querySelector('{TAB} .psv-progress').innerText)
            && !document.querySelector('{TAB} .psv-sweep').disabled
            && document.querySelector('{TAB} .psv-stop').disabled""",
        timeout=timeout,
    )


def plot_x(page) -> list:
    # the sweep is the tab's first plotly figure (the bars are HTML): plotly.js arrives with it
    page.wait_for_function(f"() => document.querySelector('{TAB} .js-plotly-plot')?.data?.length > 0", timeout=120_000)
    return page.evaluate(f"() => Array.from(document.querySelector('{TAB} .js-plotly-plot').data[0].x)")


@pytest.mark.timeout(600)  # a page load, a measurement and two sweeps: minutes when the 2 cores are shared
def test_compare_measures_and_sweeps(browser, dashboard_url, tmp_path):
    # One page for everything: each page takes the server's one preheated kernel.
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    try:
        page.goto(dashboard_url, timeout=120_000)
        page.wait_for_selector(".psv-tab-explore .psv-cards-box", timeout=120_000)
        page.click(".lm-TabBar-tab:has-text('Compare')")

        # Opening the tab measures at Explore's setting, off the page's thread.
        page.wait_for_selector(f"{TAB} .psv-compare-table tr[data-key='params']", timeout=180_000)
        row = page.inner_text(f"{TAB} .psv-compare-table tr[data-key='params']")
        shared, twin = (int(n.replace(",", "")) for n in re.findall(r"[\d,]{2,}", row)[:2])
        assert twin > shared  # the locally connected twin holds a kernel per position
        assert "thread" in page.inner_text(f"{TAB} .psv-compare-table")
        page.wait_for_selector(f"{TAB} .psv-compare-bars .psv-cbar-row[data-key='parameters']")  # HTML bars
        assert "× the shared model" in page.inner_text(f"{TAB} .psv-compare-bars .psv-cbar-row[data-key='parameters']")
        assert "twin ÷ shared" in page.inner_text(f"{TAB} .psv-compare-table tr:first-child")
        # the Stop button, disabled while nothing runs, does not look pressable
        stop_style = page.evaluate(
            f"() => {{ const s = getComputedStyle(document.querySelector('{TAB} .psv-stop'));"
            " return [s.cursor, s.filter]; }"
        )
        assert stop_style == ["not-allowed", "grayscale(1)"]
        assert enabled(page) == IDLE

        # A small sweep to the end: both curves, a progress bar, CSV and HTML links.
        set_values(page, "2, 4")
        button(page, "sweep").click()
        wait_idle(page, "^2 of 2 values$")
        assert plot_x(page) == [2, 4]
        href = page.get_attribute(f"{TAB} .psv-downloads a[download$='.csv']", "href")
        lines = base64.b64decode(href.split(",", 1)[1]).decode().splitlines()
        assert len(lines) == 3 and lines[0].startswith("image_size,")  # header + 2 rows
        assert page.locator(f"{TAB} .psv-downloads a[download$='.html']").count() == 1
        assert enabled(page) == IDLE
        page.screenshot(path=str(tmp_path / "compare-sweep.png"), full_page=True)

        # A longer sweep stopped half way: rows kept, buttons back to idle.
        set_values(page, "2, 3, 4, 5, 6, 7, 8, 9")
        button(page, "sweep").click()
        page.wait_for_function(f"() => /^[1-9] of 8/.test(document.querySelector('{TAB} .psv-progress').innerText)")
        assert enabled(page) == {"measure": False, "sweep": False, "stop": True}
        button(page, "stop").click()
        wait_idle(page, "stopped")
        progress = page.inner_text(f"{TAB} .psv-progress")
        done = int(progress.split(" of ")[0])
        assert 1 <= done < 8 and "(stopped)" in progress
        assert plot_x(page) == [2, 3, 4, 5, 6, 7, 8, 9][:done]
        # The status is set before the buttons come back, but the browser renders widget updates as they
        # arrive: wait for it rather than read it in the same instant.
        page.wait_for_function(f"() => document.querySelector('.psv-status').innerText.includes('stopped after {done} of 8')",
                               timeout=10_000)
        assert enabled(page) == IDLE

        # Another form in Explore: the old sweep's chart, its "(stopped)" line and its downloads go.
        from paramshare_viz.app.explore import form_label

        page.click(".lm-TabBar-tab:has-text('Explore')")
        page.select_option(".psv-form select", label=form_label("rnn"))
        page.click(".lm-TabBar-tab:has-text('Compare')")
        page.wait_for_function(f"() => document.querySelector('{TAB} .psv-progress').innerText.trim() === ''",
                               timeout=30_000)
        assert page.locator(f"{TAB} .psv-downloads a").count() == 0
        assert "Run a sweep" in page.inner_text(f"{TAB} .psv-compare-plot")
        assert "Traceback" not in page.content()
    finally:
        page.close()
