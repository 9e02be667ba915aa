"""A tutorial notebook in JupyterLab (the Binder Lab badge): Run All, and its widget renders."""

from __future__ import annotations

import pytest

from tests.test_browser import binder_server, page  # noqa: F401  (fixtures: Jupyter Server as on Binder, a page)

pytestmark = pytest.mark.browser


def test_tied_embeddings_tutorial_runs_all_in_jupyterlab(page, binder_server, tmp_path):  # noqa: F811
    page.goto(f"{binder_server}/lab/tree/notebooks/04_tied_embeddings.ipynb", timeout=120_000)
    # By its title: Lab restores other notebooks' tabs from its workspace, hidden behind this one.
    page.wait_for_selector(".jp-RenderedMarkdown h1:has-text('Tied embeddings')", timeout=120_000)
    page.wait_for_selector("text=| Idle", timeout=120_000)  # the kernel is up
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    # psv.show's cards: the small tied model (vocab 2,000 x width 64) holds its embedding once.
    page.wait_for_selector(".psv-show .psv-card", timeout=180_000)
    assert page.locator(".psv-show .psv-card").count() == 4
    shown = page.inner_text(".psv-show")
    assert "lm_head.weight, wte.weight" in shown and "128,000" in shown  # the tied group: 2,000 * 64 elements
    # psv.show's sharing graph: the package's anywidget front end, drawn in Lab; the tied tensor once
    page.wait_for_selector(".psv-show .psv-graph [data-tensor='wte.weight']", timeout=60_000)
    # The Markdown outputs before it ran too: GPT-2's saving, computed in the kernel.
    assert page.locator(".jp-OutputArea .jp-RenderedMarkdown:has-text('exactly one embedding matrix')").count() == 1
    # Run All stops at an error: the last cell's references show only when every cell ran.
    page.wait_for_selector("text=Using the output embedding to improve language models", timeout=60_000)
    page.screenshot(path=str(tmp_path / "tutorial-04.png"))
