"""The Slide tab's other modes without a browser: transposed 2-D, 1-D and causal 1-D conv, against torch."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from paramshare_viz.app.slide import SlidePanel, SlideSettings
from paramshare_viz.app.state import AppState
from paramshare_viz.slide_inputs import preset_weight, sample_image
from tests.test_slide_figures import trimmed


@pytest.fixture
def panel():
    p = SlidePanel(AppState())
    assert p.worker.wait(60)
    return p


def settle(p: SlidePanel) -> None:
    assert p.worker.wait(60)


def chart_titles(p: SlidePanel) -> list[str]:
    """The titles of the charts (inline SVG) among the mode's sections."""
    return [trimmed(w.value)["title"] for w in p.sections_out.children if "psv-chart" in w.value]


def html(p: SlidePanel) -> str:
    return " ".join(w.value for w in p.sections_out.children if isinstance(w, widgets.HTML))


def digit_row() -> torch.Tensor:
    """The 1-D modes' sequence: row 8 (16 // 2) of digit 0 at 16x16, shape (1, 16)."""
    return sample_image("digit", size=16)[:, 8, :]


EDGE_1D = torch.tensor([[[-1.0, 0.0, 1.0]], [[1.0, 0.0, -1.0]]])  # the edge row; output channel 1 reversed


def test_transposed_mode_matches_torch_and_shows_the_checkerboard(panel):
    panel.mode.value = "transposed 2-D conv"
    panel.stride.value = "2"
    panel.padding.value = "0"
    settle(panel)
    v = panel.mode_view
    assert panel.state.status_level == "info"
    # ConvTranspose2d's weight is (C_in, C_out, k, k): the 2-D mode's two edge kernels, channel axes swapped.
    weight = preset_weight("edge", 3, 2, 1).transpose(0, 1)
    want = F.conv_transpose2d(sample_image("digit", size=16)[None], weight, torch.zeros(2), stride=2)[0]
    torch.testing.assert_close(v.trace.output, want)
    assert tuple(want.shape) == (2, 33, 33)  # (16 - 1) * 2 + 3 = 33
    # Copies per output row: 1 on rows 0, 32 and the 16 odd rows, 2 on the 15 even rows between;
    # a cell's count is its row's times its column's: 15² cells get 4, 2·15·18 get 2, 18² get 1.
    counts = torch.bincount(v.trace.overlap.flatten()).tolist()
    assert counts == [0, 18 * 18, 2 * 15 * 18, 0, 15 * 15]
    # The equivalent conv on the stride-dilated input, and the gradient parts, measured (float32 sums).
    assert v.equivalence is not None and v.equivalence.max_abs_diff < 1e-5
    assert tuple(v.equivalence.dilated.shape) == (1, 35, 35)  # 16 cells + 15 zeros between + 2 padding each side
    assert v.gradient.contributions.shape[:2] == (16, 16)  # one part per input position
    assert v.gradient.max_abs_diff < 1e-4
    # 2 kernels of 3x3 + 2 biases = 20 parameters; a kernel and bias per input position: 20 * 256.
    assert ("scattered from 256 input positions into a 33×33 output: ConvTranspose2d 20 parameters, "
            "locally connected (a kernel and bias per input position) 5,120.") in panel.state.status
    overlap, dilated = chart_titles(panel)
    assert "stride 2, kernel 3), away from the border: 1, 2, 4 — uneven" in overlap
    assert "checkerboard artifacts" in overlap
    assert "max |conv − transposed| = " in dilated
    assert trimmed(panel.gradient_out.value)["panels"][1]["title"] == "Σ over 256 input positions"
    assert panel.equivariance_box.layout.display == "none"  # shift-equivariance is the 2-D mode's view


def test_scatter_payload_is_what_the_canvas_draws(panel):
    """The browser adds value × kernel at rows i*s + u*d - p, cols j*s + v*d - p: that sum is the output."""
    panel.mode.value = "transposed 2-D conv"
    panel.stride.value = "2"
    panel.oc.value = "1"
    settle(panel)
    meta, floats = panel.animation.meta, np.frombuffer(panel.animation.data, dtype="<f4")
    arr = {k: floats[o : o + n] for k, (o, n) in meta["arrays"].items()}
    assert (meta["mode"], meta["L"], meta["Ho"], meta["Wo"]) == ("scatter", 256, 31, 31)  # 15 * 2 - 2 + 3
    x, kernel = arr["padded"].reshape(16, 16), arr["kernel"].reshape(3, 3)
    out = np.full((31, 31), meta["bias"], dtype=np.float64)
    for i in range(16):
        for j in range(16):
            for u in range(3):
                for v in range(3):
                    r, c = i * 2 + u - 1, j * 2 + v - 1
                    if 0 <= r < 31 and 0 <= c < 31:
                        out[r, c] += x[i, j] * kernel[u, v]
    np.testing.assert_allclose(out, arr["output"].reshape(31, 31), atol=1e-5)
    np.testing.assert_allclose(out, panel.mode_view.trace.output[1].numpy(), atol=1e-5)


def test_one_d_mode_matches_torch(panel):
    panel.mode.value = "1-D conv"
    settle(panel)
    v = panel.mode_view
    want = F.conv1d(digit_row(), EDGE_1D, torch.zeros(2), padding=1)
    torch.testing.assert_close(v.trace.output, want)
    assert v.gradient.max_abs_diff < 1e-5
    # 2 kernels of 3 + 2 biases = 8 parameters; 16 positions of 8 each = 128 for the twin.
    assert "1×16 sequence (row 8 of the image), kernel 3 used at 16 positions: Conv1d 8 parameters, " \
           "locally connected 128." in panel.state.status
    meta = panel.animation.meta
    assert (meta["Hp"], meta["Wp"], meta["W"], meta["Ho"], meta["Wo"], meta["label"]) == (1, 18, 16, 1, 16, "Conv1d")
    o, n = meta["arrays"]["real"]
    real = np.frombuffer(panel.animation.data, dtype="<f4")[o : o + n]
    assert real.tolist() == [0] + [1] * 16 + [0]  # one zero of padding on each side
    assert panel.pattern.value == "-1 0 1"  # the 1-D kernel, editable as one row
    assert chart_titles(panel) == []  # no TCN panel outside the causal mode


def test_causal_mode_reads_only_the_past_and_shows_the_tcn(panel):
    panel.mode.value = "causal 1-D conv"
    settle(panel)
    v = panel.mode_view
    assert panel.padding.disabled  # a causal conv pads (k - 1) * dilation on the left itself
    want = F.conv1d(F.pad(digit_row(), (2, 0)), EDGE_1D, torch.zeros(2))  # (3 - 1) * 1 zeros, left only
    torch.testing.assert_close(v.trace.output, want)
    assert all(max(v.trace.reads(t)) == t for t in range(16))  # output t reads inputs t-2..t
    assert "Causal: 2 zeros of left padding, none on the right, so output t reads inputs t−2…t only." in panel.state.status
    o, n = panel.animation.meta["arrays"]["real"]
    assert np.frombuffer(panel.animation.data, dtype="<f4")[o : o + n].tolist() == [0, 0] + [1] * 16
    # Kernel 2, dilations 1, 2, 4, 8: field 1 + (2-1)(1+2+4+8) = 16 after four layers, doubling;
    # parameters 2·2·2 + 2 = 10 per layer with 2 channels: linear.
    assert [layer.receptive_field for layer in v.tcn] == [2, 4, 8, 16]
    assert [layer.params for layer in v.tcn] == [10, 20, 30, 40]
    (tcn_title,) = chart_titles(panel)
    assert "receptive field 2, 4, 8, 16 steps (grows exponentially with depth)" in tcn_title
    assert "parameters (weights + biases) are 10, 20, 30, 40 (grow linearly" in tcn_title
    assert "<td>4</td><td>8</td><td>16</td><td>40</td>" in html(panel)
    panel.dilation.value = "2"  # the causal padding grows with the dilation: (3 - 1) * 2 = 4 zeros
    settle(panel)
    assert "4 zeros of left padding" in panel.state.status


@pytest.mark.parametrize(
    "mode, field, value, message",
    [
        ("transposed 2-D conv", "output_padding", 1, "output_padding=1 must be smaller than stride=1 or dilation=1"),
        ("transposed 2-D conv", "groups", 2, "groups=2 does not divide in_channels=1"),
        ("transposed 2-D conv", "padding", 9, "padding=9 leaves an output height of 0"),  # 15·1 − 2·9 + 2 + 1
        ("transposed 2-D conv", "output_padding", 65, "output_padding=65 must be at most 64"),
        # (16 - 1) * 64 - 2 * 1 + (3 - 1) + 1 = 961 per side: refused before anything is allocated.
        ("transposed 2-D conv", "stride", 64, "stride=64, dilation=1 and output_padding=0 make a 961×961 output"),
        ("1-D conv", "dilation", 9, "kernel_size=3 (dilation=9, spanning 19 steps) is longer than the padded input of 18"),
        ("1-D conv", "stride", 0, "stride=0 must be a positive integer"),
        ("causal 1-D conv", "kernel_size", 0, "kernel_size=0 must be from 1 to 9"),
        ("causal 1-D conv", "oc", 5, "output channel=5 must be from 0 to out_channels-1=1"),
    ],
)
def test_bad_setting_names_the_field_and_keeps_the_typed_value(panel, mode, field, value, message):
    panel.mode.value = mode
    settle(panel)
    before = panel.animation.data
    getattr(panel, field).value = str(value)
    settle(panel)
    assert panel.state.status_level == "error" and message in panel.state.status
    assert getattr(panel, field).value == str(value)  # what was typed stays typed
    assert panel.animation.data == before
    getattr(panel, field).value = str(getattr(SlideSettings(), field))
    settle(panel)
    assert panel.state.status_level == "info"


def test_transposed_padding_beyond_the_kernel_explains_the_missing_equivalence(panel):
    panel.mode.value = "transposed 2-D conv"
    panel.padding.value = "3"  # > dilation * (k - 1) = 2: the conv would need padding -1
    settle(panel)
    assert panel.state.status_level == "info" and panel.mode_view.equivalence is None
    assert "Not shown: padding=(3, 3) exceeds dilation * (kernel_size - 1) = (2, 2)" in html(panel)


def test_one_d_custom_kernel_is_one_row(panel):
    panel.mode.value = "1-D conv"
    settle(panel)
    panel.pattern.value = "1 2 1"
    settle(panel)
    assert panel.kernel.value == "custom"
    torch.testing.assert_close(panel.mode_view.trace.weight[0, 0], torch.tensor([1.0, 2.0, 1.0]))
    panel.pattern.value = "1 2 1\n0 0 0\n1 2 1"
    settle(panel)
    assert "the edited kernel is 3x3 but a 1-D kernel is one row of kernel_size=3 numbers" in panel.state.status


def test_back_to_2d_is_the_2d_view(panel):
    first = panel.state.status
    for mode in ("transposed 2-D conv", "causal 1-D conv", "2-D conv"):
        panel.mode.value = mode
        settle(panel)
    assert panel.state.status == first and panel.animation.meta["label"] == "Conv2d"
    assert panel.sections_out.children == () and panel.equivariance_box.layout.display == ""
