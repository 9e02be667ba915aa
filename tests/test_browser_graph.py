"""The sharing graph's front end in Chromium: in the served dashboard (Explore) and as a standalone page.

Contract (DESIGN.md): root ``.psv-graph[data-version]`` (+1 per redraw), ``[data-tensor]`` nodes,
``[data-module]`` rows; a clicked tensor puts ``psv-lit`` on every row that holds or borrows it.
"""

from __future__ import annotations

import pytest

from paramshare_viz import zoo
from paramshare_viz.app.explore import form_label

pytestmark = pytest.mark.browser

GRAPH = ".psv-graph"
VERSION = "() => Number(document.querySelector('.psv-graph')?.dataset.version || 0)"
GPT2 = "GPT-2\u00a0small"  # the menu's labels keep their words together with no-break spaces
LIT = "() => [...document.querySelectorAll('.psv-graph [data-module].psv-lit')].map(e => e.dataset.module).sort()"


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1300, "height": 1400})
    yield pg
    pg.close()


def test_first_view_draws_the_graph_with_no_plotly_figure_and_kernel_size_redraws_in_place(page, dashboard_url, tmp_path):
    page.goto(dashboard_url, timeout=180_000)
    page.wait_for_selector(f"{GRAPH} [data-tensor='weight']", timeout=180_000)
    # conv's default: 8 output channels, 3 input channels, a 3 x 3 kernel
    assert "weight 8×3×3×3" in page.inner_text(f"{GRAPH} [data-tensor='weight']")
    page.screenshot(path=str(tmp_path / "explore-conv.png"), full_page=True)
    assert page.locator(".js-plotly-plot").count() == 0  # the Explore tab's first view: no plotly figure

    page.evaluate("() => { document.querySelector('.psv-graph')._kept = true; }")
    before = page.evaluate(VERSION)
    box = page.locator(".psv-input-kernel_size input")
    box.fill("5")
    box.press("Enter")
    page.wait_for_function(
        "v => Number(document.querySelector('.psv-graph').dataset.version) > v && "
        "document.querySelector(\".psv-graph [data-tensor='weight']\")?.innerText.includes('8×3×5×5')",
        arg=before, timeout=60_000,
    )
    assert page.evaluate("() => document.querySelector('.psv-graph')._kept") is True  # the same root element


def test_first_view_requests_no_plotly_js(page, dashboard_url):
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(dashboard_url, timeout=180_000)
    page.wait_for_selector(f"{GRAPH} [data-tensor]", timeout=180_000)
    page.wait_for_load_state("networkidle")
    plotly = [u.rsplit("/", 1)[1] for u in requested if "plotly" in u.lower()]
    assert plotly == [], plotly


def open_preset(page, url: str, form: str, preset: str) -> None:
    """Explore with ``form`` chosen and its published ``preset`` picked from the menu."""
    page.goto(url, timeout=180_000)
    page.wait_for_selector(f"{GRAPH} [data-tensor]", timeout=180_000)
    page.select_option(".psv-form select", label=form_label(form))
    page.wait_for_function(
        "name => [...document.querySelectorAll('.psv-preset option')].some(o => o.text === name)",
        arg=preset, timeout=60_000,
    )
    page.select_option(".psv-preset select", label=preset)


def test_gpt2_preset_click_the_tied_embedding_lights_both_holders(page, dashboard_url, tmp_path):
    open_preset(page, dashboard_url, "tied_embeddings", GPT2)
    # The zoo's GPT-2-shaped model names its embedding wte (HF's GPT-2 says transformer.wte: see the page test).
    tensor = f"{GRAPH} [data-tensor='wte.weight']"
    page.wait_for_function(
        "sel => document.querySelector(sel)?.innerText.includes('50257×768')", arg=tensor, timeout=120_000
    )
    page.click(tensor)
    page.wait_for_function(f"() => ({LIT})().length > 0", timeout=10_000)
    assert page.evaluate(LIT) == ["lm_head", "wte"]
    line = page.inner_text(".psv-graph-clicked")
    assert "held by wte, lm_head" in line and "lm_head.weight" in line
    page.screenshot(path=str(tmp_path / "explore-gpt2.png"), full_page=True)
    # the twin: its head holds a weight of its own, so nothing is drawn under two names
    page.click(".psv-graph-side button:has-text('Unshared twin')")
    page.wait_for_function(
        "() => document.querySelector('.psv-graph-title')?.innerText.includes('unshared twin')", timeout=30_000
    )
    assert "no tensor under two names" in page.inner_text(".psv-graph-title")


def test_albert_base_unfolds_into_twelve_rows_joined_to_one_block(page, dashboard_url, tmp_path):
    open_preset(page, dashboard_url, "albert", "ALBERT-base")
    run = f"{GRAPH} [data-module='layers.[0-11]']"
    page.wait_for_selector(run, timeout=120_000)
    assert "1 module under 12 names" in page.inner_text(run)
    page.click(f"{run} .psv-fold")
    # Twelve member rows, each with its own q_proj row, all joined to the block's one q_proj weight:
    # click it, then scroll each member into view (rows are virtualised) and read its class.
    page.click(f"{GRAPH} [data-tensor='layers.0.attention.q_proj.weight']")
    seen = page.evaluate(
        """async () => {
        const root = document.querySelector('.psv-graph'), f = root._psv, out = [];
        const members = f.view.rows.filter((r) => r.member).map((r) => r.name);
        for (const m of members) {
          const row = f.view.rows.find((r) => r.name === m + '.attention.q_proj');
          f.viewport.scrollTop = row.index * 24;
          f.paint(false);
          await new Promise((r) => requestAnimationFrame(r));
          const e = root.querySelector(`[data-module="${row.name}"]`);
          out.push([m, e !== null && e.classList.contains('psv-lit')]);
        }
        return out;
        }"""
    )
    assert seen == [[f"layers.{i}", True] for i in range(12)]
    assert "held by layers.0.attention.q_proj, layers.1.attention.q_proj" in page.inner_text(".psv-graph-clicked")
    page.evaluate("() => { document.querySelector('.psv-graph-view').scrollTop = 0; }")
    page.screenshot(path=str(tmp_path / "explore-albert-unfolded.png"), full_page=True)
    # fold it again: one row
    page.click(f"{run} .psv-fold")
    page.wait_for_function(
        "() => !document.querySelector('.psv-graph [data-module=\"layers.0\"]')", timeout=10_000
    )


def test_standalone_page_of_hf_gpt2_lights_unfolds_and_exports_svg(page, tmp_path):
    import paramshare_viz as psv

    out = psv.sharing_graph(psv.load_model("hf:gpt2")).to_html(tmp_path / "gpt2.html")
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(out.as_uri())
    page.wait_for_selector(f"{GRAPH}[data-version='1']", timeout=30_000)
    assert all(u.startswith("file://") for u in requested)  # no kernel, no network
    # keyboard: focus the tied tensor and press Enter
    page.focus(f"{GRAPH} [data-tensor='transformer.wte.weight']")
    page.keyboard.press("Enter")
    assert page.evaluate(LIT) == ["lm_head", "transformer.wte"]
    assert page.evaluate(VERSION) == 2
    # unfold h.[0-11]: twelve blocks, each with its own attention weight (12 copies split into 12 nodes)
    page.click(f"{GRAPH} [data-module='transformer.h.[0-11]'] .psv-fold")
    page.wait_for_selector(f"{GRAPH} [data-tensor='transformer.h.0.attn.c_attn.weight']")
    members = page.evaluate("() => document.querySelector('.psv-graph')._psv.view.rows.filter(r => r.member).length")
    assert members == 12
    page.screenshot(path=str(tmp_path / "standalone-gpt2.png"), full_page=True)
    svg = page.evaluate("() => document.querySelector('.psv-graph')._psvSVG()")
    assert svg.startswith("<svg") and ">h.11 <" in svg and "GPT2LMHeadModel" in svg  # the rows as drawn


def test_standalone_page_says_the_sharing_names_cannot_show(page, tmp_path):
    import paramshare_viz as psv
    from paramshare_viz import zoo

    gqa = psv.sharing_graph(zoo.build("gqa", num_heads=8, groups=2, device="meta")).to_html(tmp_path / "gqa.html")
    page.goto(gqa.as_uri())
    page.wait_for_selector(f"{GRAPH} .psv-head-map", timeout=30_000)
    text = page.inner_text(f"{GRAPH} .psv-graph-unnamed")
    # 8 query heads over 2 K/V heads: heads 0-3 read K/V head 0, heads 4-7 K/V head 1
    assert "8 query heads read 2 K/V heads, 4 each" in text and "0, 1, 2, 3" in text and "4, 5, 6, 7" in text
    lora = psv.sharing_graph(zoo.build("lora", device="meta")).to_html(tmp_path / "lora.html")
    page.goto(lora.as_uri())
    page.wait_for_selector(f"{GRAPH} .psv-trainable", timeout=30_000)
    # base 32*32 + 32 = 1,056 frozen; adapters 3 * (4*32 + 32*4) = 768 trainable
    assert "Trainable 768 · frozen 1,056 (requires_grad=False) of 1,824" in page.inner_text(f"{GRAPH} .psv-trainable")


# --- the SVG: Python's graph_svg writes what the page's "Save SVG" writes --------------------------

# The page measures a row's text on a canvas in the font Chromium resolves (machine-dependent);
# graph_svg measures it in Helvetica's widths. Text widths set every x coordinate, so the page is
# first made to measure as graph_svg does (this script, before graph.js runs): then the two
# documents must be equal byte for byte. The page as shipped is compared too, numbers in the
# coordinate attributes aside (they differ by the fonts only; text, colours and order stay exact).
HELVETICA_CANVAS = (
    "(() => { const W = %s, D = %d; CanvasRenderingContext2D.prototype.measureText = function (s) {"
    " let u = 0; for (const c of s) u += W[c] ?? D; return { width: (u * 12) / 1000 }; }; })();"
)


def coords_blanked(svg: str) -> str:
    """``svg`` with every number in its x, d, width and viewBox attributes written N."""
    import re

    return re.sub(r'\b(x|d|width|viewBox)="([^"]*)"', lambda m: f'{m[1]}="{re.sub(r"[0-9.]+", "N", m[2])}"', svg)


def many_lanes_model():
    """30 tensors held by two modules: 30 lanes, 288 / 30 = 9.6 px apart (fractional coordinates), 26
    of them past the 4 slots of their row ("+26 more"); names that must be escaped in SVG."""
    import torch
    from torch import nn

    a, b = nn.Module(), nn.Module()
    for i in range(30):
        a.register_parameter(f"p{i}", nn.Parameter(torch.zeros(2, 2)))
        b.register_parameter(f"q{i}", getattr(a, f"p{i}"))  # tied by identity
    net = type("Net<&>'\"", (nn.Module,), {})()
    net.add_module("a'<&>", a)
    net.add_module("b", b)
    return net


@pytest.mark.parametrize("spec", [f"zoo:{f}" for f in zoo.forms()] + ["hf:gpt2", "many lanes"])
def test_python_svg_is_the_pages_save_svg(browser, page, tmp_path, spec):
    import json

    import torch

    import paramshare_viz as psv
    from paramshare_viz.graph_page import graph_payload
    from paramshare_viz.graph_svg import CHAR_WIDTHS, DEFAULT_WIDTH, graph_svg

    if spec.startswith("zoo:"):  # as the golden payloads: seeded, with an example input (calls counted)
        torch.manual_seed(0)
        graph = psv.sharing_graph(zoo.build(spec[4:]), zoo.example_input(spec[4:]))
    elif spec == "many lanes":
        graph = psv.sharing_graph(many_lanes_model())
    else:
        graph = psv.sharing_graph(psv.load_model(spec))
    out = graph.to_html(tmp_path / "g.html")
    helvetica = browser.new_page()
    helvetica.add_init_script(HELVETICA_CANVAS % (json.dumps(CHAR_WIDTHS), DEFAULT_WIDTH))
    try:
        page_svgs = []
        for pg in (helvetica, page):
            pg.goto(out.as_uri())
            pg.wait_for_selector(f"{GRAPH}[data-version='1']", timeout=30_000)
            page_svgs.append(pg.evaluate("() => document.querySelector('.psv-graph')._psvSVG()"))
    finally:
        helvetica.close()
    python = graph_svg(graph_payload(graph))
    assert python == page_svgs[0]
    assert coords_blanked(python) == coords_blanked(page_svgs[1])
