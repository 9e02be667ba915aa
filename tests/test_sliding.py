"""trace_conv2d against torch.nn.Conv2d, gradients against autograd, equivariance both ways, sample inputs."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import paramshare_viz as psv
from paramshare_viz.slide_inputs import digit_label, kernel_pattern, preset_weight, sample_image
from paramshare_viz.sliding import autograd_weight_grad, equivariance, trace_conv2d

# (input shape, C_out, kernel, stride, padding, dilation, groups, padding_mode)
CASES = [
    ((1, 5, 5), 1, 3, 1, 0, 1, 1, "zeros"),  # the textbook picture
    ((3, 8, 8), 4, 3, 1, 1, 1, 1, "zeros"),  # RGB, "same" padding
    ((1, 9, 9), 2, 3, 1, 2, 2, 1, "zeros"),  # dilation 2
    ((1, 12, 12), 2, 3, 1, 3, 3, 1, "reflect"),  # dilation 3, reflect
    ((3, 10, 10), 3, 3, 2, 1, 1, 1, "replicate"),  # stride 2, replicate
    ((1, 11, 11), 1, 2, 3, 1, 1, 1, "circular"),  # stride 3, circular, even kernel
    ((4, 7, 7), 6, 3, 1, 1, 1, 2, "zeros"),  # groups 2
    ((3, 8, 8), 3, 3, 1, 1, 1, 3, "reflect"),  # depthwise
    ((3, 8, 8), 6, 3, 2, 1, 2, 3, "circular"),  # depthwise with multiplier 2, stride, dilation
    ((1, 6, 10), 2, (2, 3), (1, 2), (1, 0), (2, 1), 1, "zeros"),  # non-square everything
    ((3, 9, 5), 3, (3, 1), 1, (1, 2), 1, 1, "replicate"),  # non-square, per-dim padding
    ((2, 2, 7, 6), 4, 3, 2, 1, 1, 2, "reflect"),  # a batch of two
]


def conv_module(shape, c_out, k, stride, padding, dilation, groups, mode) -> nn.Conv2d:
    torch.manual_seed(0)
    return nn.Conv2d(shape[-3], c_out, k, stride, padding, dilation, groups, bias=True, padding_mode=mode)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-k{c[2]}-s{c[3]}-p{c[4]}-d{c[5]}-g{c[6]}-{c[7]}" for c in CASES])
def test_trace_matches_conv2d_window_and_grad(case):
    shape, c_out, k, stride, padding, dilation, groups, mode = case
    conv = conv_module(*case)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    t = trace_conv2d(x, conv.weight.detach(), conv.bias.detach(), stride=stride, padding=padding,
                     dilation=dilation, groups=groups, padding_mode=mode)
    want = conv(x)  # nn.Conv2d pads with F.pad itself for non-zero modes
    torch.testing.assert_close(t.output, want.detach())

    # One window: its products plus the bias are the output cell (the last cell: corner, often padding).
    oc, i, j = c_out - 1, want.shape[-2] - 1, want.shape[-1] - 1
    w = t.window(oc, i, j)
    assert w.total == pytest.approx(float(want.detach()[..., oc, i, j].flatten()[0]), abs=1e-5)
    assert len(w.taps) == w.weights.numel() == (shape[-3] // groups) * math.prod(conv.kernel_size)

    # The shared kernel's gradient is the sum of what every position contributes.
    go = torch.randn(want.shape, generator=torch.Generator().manual_seed(2))
    parts = t.grad_contributions(go)
    assert parts.shape == (*want.shape[-2:], *conv.weight.shape)
    want.backward(go)
    torch.testing.assert_close(parts.sum((0, 1)), conv.weight.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(autograd_weight_grad(t, go), conv.weight.grad, atol=1e-5, rtol=1e-5)


def test_window_names_input_pixels_and_padding():
    x = torch.arange(16.0).view(1, 4, 4)  # pixel (r, c) holds 4r + c
    w = torch.ones(1, 1, 3, 3)
    zeros = trace_conv2d(x, w, padding=1).window(0, 0, 0)
    assert zeros.rows == (-1, 0, 1) and zeros.cols == (-1, 0, 1)
    assert [t.source for t in zeros.taps[:4]] == ["padding", "padding", "padding", "padding"]
    assert zeros.taps[4].source == (0, 0, 0)
    assert zeros.total == 0 + 1 + 4 + 5  # the four image pixels; padding adds 0
    # Reflect padding reads copies: row -1 is row 1, column -1 is column 1.
    reflect = trace_conv2d(x, w, padding=1, padding_mode="reflect").window(0, 0, 0)
    assert reflect.taps[0].source == (0, 1, 1) and reflect.taps[0].value == 5.0
    # Dilation 2 spreads the taps: rows 0, 2, 4 - 1 of a 7x7 image with padding 1 at cell (1, 1).
    dil = trace_conv2d(torch.zeros(1, 7, 7), w, padding=1, dilation=2, stride=2).window(0, 1, 1)
    assert dil.rows == (1, 3, 5) and dil.cols == (1, 3, 5)


def test_grouped_window_reads_its_groups_channels():
    x = torch.randn(4, 5, 5)
    t = trace_conv2d(x, torch.randn(4, 1, 3, 3), groups=4)  # depthwise
    assert t.window(2, 0, 0).channels == (2,)
    t = trace_conv2d(x, torch.randn(2, 2, 3, 3), groups=2)
    assert t.window(1, 0, 0).channels == (2, 3)


BAD = [
    (dict(stride=0), "stride=0"),
    (dict(stride=(1, -1)), "stride=(1, -1)"),
    (dict(padding=-1), "padding=-1"),
    (dict(dilation=0), "dilation=0"),
    (dict(groups=2), "groups=2 does not divide in_channels=3"),
    (dict(padding_mode="mirror"), "padding_mode='mirror'"),
    (dict(padding=6, padding_mode="reflect"), "padding=6 needs an input height above 6"),
    (dict(dilation=4), "kernel_size=3 (dilation=4, spanning 9 pixels) is larger than the padded input height of 6"),
    (dict(stride=1.5), "stride=1.5"),
]


@pytest.mark.parametrize("kwargs, message", BAD, ids=[m for _, m in BAD])
def test_bad_arguments_name_field_and_value(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        trace_conv2d(torch.randn(3, 6, 6), torch.randn(2, 3, 3, 3), **kwargs)


def test_bad_shapes_and_cells():
    x, w = torch.randn(3, 6, 6), torch.randn(2, 3, 3, 3)
    with pytest.raises(ValueError, match="larger than the padded input width of 2"):
        trace_conv2d(torch.randn(3, 6, 2), w)
    with pytest.raises(ValueError, match="in_channels=4"):
        trace_conv2d(torch.randn(4, 6, 6), w)
    with pytest.raises(ValueError, match=r"bias has shape \(3,\)"):
        trace_conv2d(x, w, torch.zeros(3))
    t = trace_conv2d(x, w)  # 4x4 output
    with pytest.raises(ValueError, match="i=4 is outside the output"):
        t.window(0, 4, 0)
    with pytest.raises(ValueError, match=r"grad_output has shape \(2, 3, 3\)"):
        t.grad_contributions(torch.zeros(2, 3, 3))


def test_psv_sliding_is_exported():
    assert psv.sliding.trace_conv2d is trace_conv2d


def test_conv_shifts_along_and_the_twin_does_not():
    x = sample_image("digit", size=16, channels=3)
    w = preset_weight("edge", 3, 4, 3)
    t = trace_conv2d(x, w, torch.zeros(4), padding=1)
    eq = equivariance(t, (2, -3))
    # Compared: windows inside the image after the shift: rows 3..14 (2 filled + 1 padding), cols 1..11 -> 12 * 11.
    assert int(eq.compared.sum()) == 12 * 11
    assert eq.conv_norm < 1e-5 * eq.output_norm  # exact up to float rounding
    assert eq.twin_norm > 0.1 * eq.output_norm  # a kernel per position: the output changes, it does not move
    assert math.isnan(float(eq.conv_error[0, 0]))  # the border is not compared
    # The twin at pairing time (every position the same kernel) shifts along too.
    assert equivariance(t, (2, -3), spread=0).twin_norm < 1e-5 * eq.output_norm


def test_strided_conv_shifts_by_whole_output_cells_only():
    t = trace_conv2d(torch.randn(1, 12, 12, generator=torch.Generator().manual_seed(0)),
                     torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(1)), stride=2, padding=1)
    eq = equivariance(t, (2, 4))  # multiples of the stride: the output moves by (1, 2) cells exactly
    assert eq.exact and eq.output_shift == (1, 2) and eq.conv_norm < 1e-5 * eq.output_norm
    # A shift by 1 pixel with stride 2 lands between the positions the conv visits: compared with the
    # nearest whole-cell move (1/2 rounds away from zero to 1 cell), the conv's output is far off.
    odd = equivariance(t, (1, 0))
    assert not odd.exact and odd.output_shift == (1, 0) and odd.stride == (2, 2)
    assert odd.conv_relative > 0.1 and int(odd.compared.sum()) > 0
    assert equivariance(t, (-3, 5)).output_shift == (-2, 3)  # -1.5 -> -2, 2.5 -> 3
    # No shift: nothing changes for either model.
    still = equivariance(t, (0, 0))
    assert still.exact and still.conv_norm == 0.0 and still.twin_norm == 0.0


def test_twin_is_square_only():
    t = trace_conv2d(torch.randn(1, 6, 8), torch.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match="image is 6x8"):
        equivariance(t, (1, 1))


def test_digits_are_scikit_learns():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    torch.testing.assert_close(sample_image("digit", size=8, index=7)[0], torch.tensor(bunch.images[7]).float() / 16)
    assert digit_label(7) == bunch.target[7]


def test_sample_images_and_kernels():
    d = sample_image("digit", size=8)
    assert d.shape == (1, 8, 8) and 0 <= float(d.min()) and float(d.max()) <= 1
    assert torch.equal(d * 16, (d * 16).round())  # the original 0..16 levels, scaled
    assert sample_image("shapes", size=64, channels=3).shape == (3, 64, 64)
    board = sample_image("checkerboard", size=8)[0]
    assert board[0, :4].tolist() == [0, 0, 1, 1]  # 4 squares of 2 pixels
    torch.testing.assert_close(kernel_pattern("blur", 3).sum(), torch.tensor(1.0))  # an average
    assert kernel_pattern("edge", 3)[1].tolist() == [-2.0, 0.0, 2.0]  # Sobel's middle row
    w = preset_weight("edge", 3, 4, 3)  # 4 rotations, split over 3 channels
    torch.testing.assert_close(w[1, 0] * 3, torch.rot90(kernel_pattern("edge", 3), 1))
    for bad, message in (
        (dict(name="cat"), "image='cat'"), (dict(name="digit", size=65), "size=65"),
        (dict(name="digit", channels=2), "channels=2"), (dict(name="digit", index=1797), "index=1797"),
    ):
        with pytest.raises(ValueError, match=message):
            sample_image(**{"size": 16, **bad})
