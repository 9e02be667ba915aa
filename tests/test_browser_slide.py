"""The Slide tab in a real browser: the animation plays, and a clicked output cell shows the conv's value."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paramshare_viz.app.slide import SlideSettings
from paramshare_viz.slide_inputs import preset_weight, sample_image

pytestmark = pytest.mark.browser

SUM = ".psv-slide-sum"


def expected_output() -> torch.Tensor:
    """The tab's first setting computed by torch itself: digit 0 at 16x16, two edge kernels, padding 1."""
    s = SlideSettings()
    assert (s.image, s.size, s.channels, s.kernel, s.kernel_size, s.padding) == ("digit", 16, 1, "edge", 3, 1)
    conv = nn.Conv2d(1, s.out_channels, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(preset_weight("edge", 3, s.out_channels, 1))
        conv.bias.zero_()
        return conv(sample_image("digit", size=16)[None])[0]  # (2, 16, 16)


def shown(page) -> tuple[str, float]:
    return page.get_attribute(SUM, "data-cell"), float(page.get_attribute(SUM, "data-value"))


def test_slide_plays_and_a_clicked_cell_shows_the_conv_output(browser, dashboard_url, tmp_path):
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    try:
        page.goto(dashboard_url, timeout=120_000)
        page.click("text=Slide", timeout=120_000)
        page.wait_for_selector(f"{SUM}[data-cell]", timeout=120_000)
        assert shown(page)[0] == "0,0,0"  # the first position of output channel 0
        assert "Traceback" not in page.content()

        # Play: the position moves on by itself, with no kernel round trip per frame.
        page.click(".psv-slide-play")
        page.wait_for_function(
            "document.querySelector('.psv-slide-sum').dataset.cell !== '0,0,0'", timeout=30_000
        )
        assert page.get_attribute(".psv-slide", "data-playing") == "true"

        # Click output cell (5, 7): it pauses there and shows Σ products + bias for that window.
        canvas = page.locator(".psv-slide-output")
        box = canvas.bounding_box()
        scale = box["width"] / 16  # 16x16 output (16 + 2*1 - 3 + 1)
        canvas.click(position={"x": (7 + 0.5) * scale, "y": (5 + 0.5) * scale})
        page.wait_for_function("document.querySelector('.psv-slide-sum').dataset.cell === '0,5,7'")
        assert page.get_attribute(".psv-slide", "data-playing") == "false"
        want = expected_output()
        cell, value = shown(page)
        assert value == pytest.approx(float(want[0, 5, 7]), abs=1e-4)
        assert abs(float(want[0, 5, 7])) > 0.1  # an edge of the digit, not an empty patch
        assert "cell (5, 7) · 88 / 256" in page.inner_text(".psv-slide-pos")  # 5 * 16 + 7 + 1

        # Step on: the next cell, still the conv's value.
        page.click(".psv-slide-step")
        page.wait_for_function("document.querySelector('.psv-slide-sum').dataset.cell === '0,5,8'")
        assert shown(page)[1] == pytest.approx(float(want[0, 5, 8]), abs=1e-4)
        # The twin's counter: 20 parameters per position (2 * 9 + 2) times 89 positions so far.
        assert page.inner_text(".psv-slide-count") == f"{20 * 89:,}"
        page.screenshot(path=str(tmp_path / "slide.png"), full_page=True)
    finally:
        page.close()


def set_int(page, name: str, value: int) -> None:
    box = page.locator(f".psv-slide-{name} input")
    box.fill(str(value))
    box.press("Enter")


def drawn(page, label: str) -> None:
    """Wait until the canvas draws ``label``'s payload (Conv2d, ConvTranspose2d, Conv1d, "Conv1d, causal")."""
    page.wait_for_function(f"document.querySelector('.psv-slide').dataset.label === {label!r}", timeout=120_000)


def test_slide_modes_each_show_their_view(browser, dashboard_url, tmp_path):
    x = sample_image("digit", size=16)
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    try:
        page.goto(dashboard_url, timeout=120_000)
        page.click("text=Slide", timeout=120_000)
        page.wait_for_selector(f"{SUM}[data-cell]", timeout=120_000)

        # Transposed, stride 2: the animation walks input cells; a click on the last one has scattered all
        # 256 copies, whose sum the page measures against the layer's output.
        page.select_option(".psv-slide-mode select", label="transposed 2-D conv")
        set_int(page, "stride", 2)
        set_int(page, "padding", 0)
        drawn(page, "ConvTranspose2d")
        # The settings land one by one; click only once the last one (stride 2, padding 0: 33x33) is drawn.
        page.wait_for_function("document.querySelector('.psv-slide').dataset.output === '33x33'", timeout=120_000)
        assert "/ 256" in page.inner_text(".psv-slide-pos")
        page.wait_for_selector(".psv-slide-sections .psv-chart >> nth=1", timeout=120_000)  # overlap, dilated (SVG)
        # a cell's hover text is its SVG <title>: stride 2, kernel 3 gives 1, 2 and 4 copies per cell
        tip = page.text_content(".psv-slide-overlap svg.psv-hm rect:nth-of-type(35) > title")  # row 1, col 1 of 33
        assert tip == "output (1, 1)\n1 kernel copies"
        canvas = page.locator(".psv-slide-input")
        cell = canvas.bounding_box()["width"] / 16
        canvas.click(position={"x": 15.5 * cell, "y": 15.5 * cell})
        page.wait_for_function("document.querySelector('.psv-slide-sum').dataset.cell === '15,15'")
        assert page.get_attribute(SUM, "data-landed") == "9"  # rows and cols 30..32 of the 33x33 output
        assert float(page.get_attribute(SUM, "data-error")) < 1e-4  # Σ copies == ConvTranspose2d's output
        assert "1, 2, 4 — uneven" in page.inner_text(".psv-slide-sections")
        page.screenshot(path=str(tmp_path / "transposed.png"), full_page=True)

        # 1-D: a click on output step t = 5 shows F.conv1d's value there (edge row [-1, 0, 1], padding 1).
        page.select_option(".psv-slide-mode select", label="1-D conv")
        set_int(page, "stride", 1)
        set_int(page, "padding", 1)
        drawn(page, "Conv1d")
        page.wait_for_function("document.querySelector('.psv-slide').dataset.output === '1x16'", timeout=120_000)
        weight = torch.tensor([[[-1.0, 0.0, 1.0]]])
        want = torch.nn.functional.conv1d(x[:, 8, :], weight, padding=1)[0]  # row 8 of the digit
        out = page.locator(".psv-slide-output")
        step = out.bounding_box()["width"] / 16
        out.click(position={"x": 5.5 * step, "y": 5})
        page.wait_for_function("document.querySelector('.psv-slide-sum').dataset.cell === '0,0,5'")
        assert shown(page)[1] == pytest.approx(float(want[5]), abs=1e-5)
        assert abs(float(want[5])) > 0.1  # an edge of the stroke, not an empty stretch
        page.screenshot(path=str(tmp_path / "conv1d.png"), full_page=True)

        # Causal: output t = 7 reads inputs 5..7 only, x[7] - x[5] (the centred conv reads 6..8);
        # the TCN panel appears.
        page.select_option(".psv-slide-mode select", label="causal 1-D conv")
        drawn(page, "Conv1d, causal")
        out.click(position={"x": 7.5 * step, "y": 5})
        page.wait_for_function("document.querySelector('.psv-slide-sum').dataset.cell === '0,0,7'")
        row = x[0, 8]
        assert shown(page)[1] == pytest.approx(float(row[7] - row[5]), abs=1e-5)
        assert abs(float(row[7] - row[5]) - float(want[7])) > 0.1  # not what the centred conv gives
        page.wait_for_selector(".psv-slide-sections .psv-tcn", timeout=120_000)
        assert "receptive field 2, 4, 8, 16 steps" in page.inner_text(".psv-slide-sections")
        assert page.locator(".psv-slide-sections .psv-tcn line").count() == 30  # 2 + 4 + 8 + 16 edges
        page.screenshot(path=str(tmp_path / "causal.png"), full_page=True)

        page.select_option(".psv-slide-mode select", label="2-D conv")
        drawn(page, "Conv2d")
        assert "Traceback" not in page.content()
    finally:
        page.close()
