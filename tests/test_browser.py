"""The dashboard in a real browser: served by the CLI and under Jupyter Server (Binder's path)."""

from __future__ import annotations

import shutil
import urllib.request

import pytest

from paramshare_viz import zoo
from paramshare_viz.app.explore import form_label
from paramshare_viz.models.conv import conv_param_counts
from tests.servers import REPO, free_port, jupyter_server_command, running

pytestmark = pytest.mark.browser

COUNT = ".psv-card[data-key='{}'] .psv-count"


def expected_counts(**overrides) -> dict[str, int]:
    counts = conv_param_counts(zoo.make_config("conv", **overrides))
    return {"shared": counts["conv"], "unshared": counts["locally_connected"], "dense": counts["dense"]}


def shown_counts(page) -> dict[str, int]:
    keys = ("shared", "unshared", "dense")
    return {k: int(page.inner_text(COUNT.format(k)).replace(",", "")) for k in keys}


def bar_labels(page) -> list[str]:
    return page.locator(".psv-bar-value").all_text_contents()


def set_field(page, name: str, value: int) -> None:
    box = page.locator(f".psv-input-{name} input")
    box.fill(str(value))
    box.press("Enter")


def wait_for_conv_count(page, value: int) -> None:
    page.wait_for_function(
        "([sel, want]) => document.querySelector(sel)?.innerText.replaceAll(',', '') === want",
        arg=[COUNT.format("shared"), str(value)],
        timeout=15_000,
    )


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1300, "height": 1000})
    yield pg
    pg.close()


def test_dashboard_counts_follow_the_widgets(page, dashboard_url, tmp_path):
    page.goto(dashboard_url, timeout=120_000)
    page.wait_for_selector(COUNT.format("shared"), timeout=120_000)

    # The library's defaults: 3 -> 8 channels, 3x3 kernel, padding 1 on 8x8: conv 8*3*3*3 + 8 = 224.
    assert shown_counts(page) == expected_counts() == {
        "shared": 224, "unshared": 224 * 8 * 8, "dense": 3 * 8 * 8 * 8 * 8 * 8 + 8 * 8 * 8,
    }
    # The bars show the same numbers as the cards.
    page.wait_for_selector(".psv-bar-value")
    assert bar_labels(page) == ["224", "14,336", "98,816"]

    # 5x5 kernel: 8*3*5*5 + 8 = 608 per position, 6x6 positions.
    set_field(page, "kernel_size", 5)
    wait_for_conv_count(page, 608)
    assert shown_counts(page) == expected_counts(kernel_size=5)
    assert shown_counts(page)["unshared"] == 608 * 6 * 6
    page.wait_for_function("document.querySelector('.psv-bar-value').textContent === '608'")
    assert bar_labels(page) == [f"{n:,}" for n in expected_counts(kernel_size=5).values()]
    page.screenshot(path=str(tmp_path / "dashboard-kernel5.png"), full_page=True)

    # A kernel larger than the padded input: a plain message, the last numbers stay.
    set_field(page, "kernel_size", 99)
    page.wait_for_function("document.querySelector('.psv-status').innerText.includes('kernel_size=99')")
    status = page.inner_text(".psv-status")
    assert "larger than the padded input" in status
    assert "Traceback" not in page.content()
    assert shown_counts(page)["shared"] == 608

    # Zero channels: named field and value.
    set_field(page, "kernel_size", 3)
    wait_for_conv_count(page, 224)
    set_field(page, "in_channels", 0)
    page.wait_for_function("document.querySelector('.psv-status').innerText.includes('in_channels=0')")
    page.screenshot(path=str(tmp_path / "dashboard-error.png"), full_page=True)

    # The app still works: a valid change updates everything again.
    set_field(page, "in_channels", 1)
    wait_for_conv_count(page, 8 * 1 * 3 * 3 + 8)  # 80
    assert shown_counts(page) == expected_counts(in_channels=1)
    assert "in_channels=0" not in page.inner_text(".psv-status")

    # Only devices that exist here are offered.
    assert page.locator(".psv-device select option").all_inner_texts() == zoo.available_devices()

    # Another form: ALBERT's one block against BERT-style blocks, counted by the package.
    page.select_option(".psv-form select", label=form_label("albert"))
    shared, unshared = zoo.pair("albert")
    want = sum(p.numel() for p in shared.parameters())  # 15,936 at the zoo's default widths
    wait_for_conv_count(page, want)
    assert int(page.inner_text(COUNT.format("unshared")).replace(",", "")) == sum(p.numel() for p in unshared.parameters())
    # The tables come with the numbers; wait for them rather than race the widget messages.
    page.wait_for_function("document.querySelector('.psv-groups')?.innerText.includes('same-tensor')", timeout=15_000)
    assert page.locator(".psv-groups").count() == 1
    page.screenshot(path=str(tmp_path / "dashboard-albert.png"), full_page=True)


@pytest.fixture(scope="module")
def binder_server(tmp_path_factory):
    """Jupyter Server as on mybinder.org, over a copy of notebooks/ (JupyterLab autosaves outputs)."""
    root = tmp_path_factory.mktemp("binder")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(jupyter_server_command(port, root), f"{base}/api/status", root / "server.log"):
        yield base


@pytest.fixture(scope="module")
def binder_url(binder_server):
    """The Binder badge's urlpath: the dashboard rendered by Voila inside Jupyter Server."""
    return f"{binder_server}/voila/render/notebooks/dashboard.ipynb"


def test_binder_path_serves_the_executed_dashboard(binder_url):
    with urllib.request.urlopen(binder_url, timeout=120) as response:
        assert response.status == 200
        body = response.read().decode()
    assert "application/vnd.jupyter.widget-view+json" in body  # the cell ran and made the app
    assert "Traceback" not in body


def test_binder_path_renders_in_the_browser(page, binder_url):
    page.goto(binder_url, timeout=120_000)
    page.wait_for_selector(COUNT.format("shared"), timeout=120_000)
    assert shown_counts(page) == expected_counts()


def test_dashboard_notebook_runs_in_jupyterlab(page, binder_server, tmp_path):
    """The JupyterLab badge: the widgets (ipywidgets, the graph's anywidget) render in Lab too."""
    page.goto(f"{binder_server}/lab/tree/notebooks/dashboard.ipynb", timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=120_000)
    page.wait_for_selector("text=| Idle", timeout=120_000)  # the kernel is up
    page.click(".jp-Cell .jp-InputArea-editor")
    page.keyboard.press("Shift+Enter")
    page.wait_for_selector(COUNT.format("shared"), timeout=120_000)
    assert shown_counts(page) == expected_counts()
    page.wait_for_selector(".psv-bar-value")
    assert bar_labels(page) == [f"{n:,}" for n in expected_counts().values()]  # 224, 14,336, 98,816
    page.wait_for_selector(".psv-graph [data-tensor='weight']", timeout=120_000)  # the graph's anywidget in Lab
    page.screenshot(path=str(tmp_path / "jupyterlab.png"))
