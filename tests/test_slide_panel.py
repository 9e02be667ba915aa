"""The Slide panel without a browser: controls to views, plain errors, the payload the canvas draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paramshare_viz.app.slide import SlidePanel, SlideSettings, render, slide_panel
from paramshare_viz.app.slide_widget import slide_payload
from paramshare_viz.app.state import AppState
from paramshare_viz.sliding import locally_connected_twin, trace_conv2d
from tests.test_slide_figures import trimmed


@pytest.fixture
def panel():
    p = SlidePanel(AppState())
    p.worker.wait(60)
    return p


def settle(p: SlidePanel) -> None:
    assert p.worker.wait(60)


def test_first_view(panel):
    s = panel.state
    assert s.status_level == "info"
    # 16x16 digit, 3x3 kernel, padding 1: 256 positions; 2 kernels of 9 + 2 biases = 20 parameters.
    assert "used at 256 positions: Conv2d 20 parameters, locally connected 5,120" in s.status
    assert panel.animation.meta["Ho"] == 16 and panel.animation.meta["shared_params"] == 20
    assert panel.pattern.value == "-1 0 1\n-2 0 2\n-1 0 1"  # the edge preset, editable
    assert len(panel.tap.options) == 9 and panel.tap.value == (0, 0, 0)
    assert trimmed(panel.gradient_out.value)["panels"][1]["title"] == "Σ over 256 positions"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("stride", 0, "stride=0 must be a positive integer"),
        ("groups", 2, "groups=2 does not divide in_channels=1"),
        ("kernel_size", 40, "kernel_size=40 must be from 1 to 9"),
        ("dilation", 9, "kernel_size=3 (dilation=9, spanning 19 pixels) is larger than the padded input height of 18"),
        ("out_channels", 9, "out_channels=9 must be from 1 to 8"),
        ("size", 65, "size=65"),
        ("oc", 2, "output channel=2"),
        ("padding", -1, "padding=-1"),
        # Typed into the page by the browser fuzz: torch's TypeError (C++ frames and all) or a
        # storage overflow reached the status line before these were refused by name.
        ("stride", 10**40, f"stride={10**40} must be at most 64"),
        ("padding", 99999999999, "padding=99999999999 must be at most 64"),
        ("dilation", 2**63, f"dilation={2**63} must be at most 64"),
        # Typed as is into text boxes (an IntText made 2.5 into 2 and "x" into the last number).
        ("stride", "2.5", "stride: '2.5' is not a whole number; the nearest whole numbers are 2 and 3"),
        ("oc", "x", "show channel (oc): 'x' is not a whole number; type it in digits"),
        ("size", "", "size is empty; type a whole number"),
    ],
)
def test_bad_setting_names_field_and_keeps_the_last_view(panel, field, value, message):
    before = panel.animation.data
    getattr(panel, field).value = str(value)
    settle(panel)
    assert panel.state.status_level == "error" and message in panel.state.status
    assert "last valid setting" in panel.state.status
    assert panel.animation.data == before
    getattr(panel, field).value = str(getattr(SlideSettings(), field))  # back to valid: the views follow again
    settle(panel)
    assert panel.state.status_level == "info"


def test_controls_change_the_view(panel):
    panel.image.value = "shapes"
    panel.channels.value = 3
    panel.out_channels.value = "3"
    panel.groups.value = "3"  # depthwise
    panel.stride.value = "2"
    settle(panel)
    meta = panel.animation.meta
    assert (meta["C"], meta["cg"], meta["Ho"]) == (3, 1, 8)  # (16 + 2 - 3) // 2 + 1 = 8
    assert panel.dx.step == 1 and panel.dx.value == 2  # any shift can be chosen; 2 is a multiple of stride 2
    assert panel.equivariance_result.conv_norm < 1e-5 * panel.equivariance_result.output_norm
    panel.dx.value = 1  # not a multiple of the stride: the conv's output does not move by whole cells
    settle(panel)
    result = panel.equivariance_result
    assert result.shift == (0, 1) and not result.exact and result.conv_relative > 0.01
    title = trimmed(panel.equivariance_out.value)["title"]
    assert "Shift (0, 1) is not a multiple of the stride (2)" in title
    panel.dx.value = 0  # no shift at all: neither output changes
    settle(panel)
    title = trimmed(panel.equivariance_out.value)["title"]
    assert title.startswith("Shift (0, 0): the input does not move, so neither output changes")
    # Editing the kernel switches to "custom" and uses the numbers typed.
    panel.pattern.value = "0 0 0\n0 2 0\n0 0 0"
    settle(panel)
    assert panel.kernel.value == "custom"
    torch.testing.assert_close(panel.view.trace.weight[0, 0], torch.tensor([[0.0, 0, 0], [0, 2, 0], [0, 0, 0]]))
    panel.pattern.value = "1 2\n3"
    settle(panel)
    assert "rows of equal length" in panel.state.status


def test_payload_is_what_the_canvas_draws():
    x = torch.rand(2, 7, 7)
    t = trace_conv2d(x, torch.randn(4, 1, 3, 3), torch.randn(4), padding=2, dilation=2, groups=2,
                     padding_mode="reflect")
    twin = locally_connected_twin(t)
    meta, data = slide_payload(t, twin, oc=3)
    floats = np.frombuffer(data, dtype="<f4")
    arr = {k: floats[o : o + n] for k, (o, n) in meta["arrays"].items()}
    assert meta["first"] == 1 and meta["cg"] == 1  # output channel 3 is in group 1: it reads channel 1
    assert (meta["Hp"], meta["Ho"]) == (11, 7)  # 7 + 2*2; (11 - 5) + 1
    np.testing.assert_allclose(arr["output"], t.output[3].flatten().numpy(), rtol=1e-6)
    # The browser's sum at cell (i, j): padded taps times the kernel plus bias, as slide.js computes it.
    padded = arr["padded"].reshape(2, 11, 11)[1]
    i, j = 4, 2
    window = padded[i : i + 5 : 2, j : j + 5 : 2]
    assert float((window * arr["kernel"].reshape(3, 3)).sum() + meta["bias"]) == pytest.approx(float(t.output[3, i, j]), abs=1e-5)
    assert arr["real"].reshape(11, 11)[:2].sum() == 0 and arr["real"].sum() == 49  # padding ring, 7x7 image
    assert arr["twin_kernels"].size == 49 * 9
    # Its parameters: 4 kernels of 1x3x3 plus 4 biases per position.
    assert meta["shared_params"] == meta["twin_params_per_position"] == 4 * 9 + 4


def test_notebook_passes_its_own_tensor():
    p = slide_panel(torch.rand(3, 20, 20), kernel_size=5, padding=0)
    settle(p)
    assert p.image.value == "your image" and p.size.disabled
    assert "3×20×20 input, 5×5 kernel used at 256 positions" in p.state.status  # (20 - 5 + 1)^2
    with pytest.raises(ValueError, match=r"image has shape \(2, 2, 80\)"):
        SlidePanel(AppState(), image=torch.rand(2, 2, 80))


def test_front_end_ships_as_package_data():
    import tomllib

    from paramshare_viz.app.slide_widget import STATIC

    assert {p.name for p in STATIC.iterdir()} >= {"slide.js", "slide.css"}
    assert "export default { render }" in (STATIC / "slide.js").read_text()  # anywidget's module contract
    assert "https://" not in (STATIC / "slide.js").read_text()  # nothing from a CDN
    data = tomllib.loads((STATIC.parents[2] / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert {"static/*.js", "static/*.css"} <= set(data["paramshare_viz.app"])


def test_render_is_computed_from_settings_alone():
    r = render(SlideSettings(), None, None, (0, 2))  # digit 0 at 16x16, two 3x3 edge kernels, padding 1
    # 2 * 1 * 3 * 3 weights + 2 biases = 20 parameters; 16 * 16 = 256 positions; 20 * 256 = 5,120
    assert r.status == ("Slide: 1×16×16 input, 3×3 kernel used at 256 positions: Conv2d 20 parameters, "
                        "locally connected 5,120.")
    assert r.pattern == "-1 0 1\n-2 0 2\n-1 0 1"  # the edge preset, as the editor shows it
    assert r.tap == (0, 0, 0) and len(r.taps) == 9 and r.sections == ()
    assert (r.meta, r.data) == slide_payload(r.view.trace, r.view.twin, 0)
    transposed = render(SlideSettings(mode="transposed 2-D conv", stride=2), None, None, (0, 0))
    assert transposed.view is None and transposed.equivariance_chart is None
    assert transposed.status == transposed.mode_view.status and transposed.meta == transposed.mode_view.meta
