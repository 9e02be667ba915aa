"""Transposed 2-D and 1-D (causal) sliding against torch: outputs, scattered windows, gradient parts."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

import paramshare_viz as psv
from paramshare_viz.conv_variants import tcn_stack, trace_conv1d, trace_conv_transpose2d


def ints(*shape: int, seed: int) -> torch.Tensor:
    """Small integers in float64: every sum is exact, so equality with torch is exact, not approximate."""
    return torch.randint(-3, 4, shape, generator=torch.Generator().manual_seed(seed)).double()


# (C_in, H, W, C_out/g, k, stride, padding, output_padding, dilation, groups)
TRANSPOSED = [
    (c_in, h, w, c_out_g, k, s, p, op, d, g)
    for (c_in, g), (h, w), c_out_g, k, s, p, op, d in itertools.product(
        [(1, 1), (4, 2)], [(5, 5), (4, 7)], [3], [1, 2, 3], [1, 2, 3], [0, 2], [0, 1], [1, 2]
    )
    if op < s or op < d
    if (h - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1
]


def torch_grad(fn, weight, grad_output):
    w = weight.clone().requires_grad_(True)
    fn(w).backward(grad_output)
    return w.grad


@pytest.mark.parametrize("case", TRANSPOSED, ids=lambda c: "-".join(map(str, c)))
def test_transposed_trace_equals_torch(case):
    c_in, h, w, c_out_g, k, s, p, op, d, g = case
    x, weight, bias = ints(2, c_in, h, w, seed=1), ints(c_in, c_out_g, k, k, seed=2), ints(c_out_g * g, seed=3)
    kw = dict(stride=s, padding=p, output_padding=op, dilation=d, groups=g)
    trace = trace_conv_transpose2d(x, weight, bias, **kw)
    want = F.conv_transpose2d(x, weight, bias, **kw)
    assert torch.equal(trace.output, want)  # exact: integer-valued float64
    grad_out = ints(*want.shape, seed=4)
    parts = trace.grad_contributions(grad_out)
    assert parts.shape == (h, w, *weight.shape)  # one part per INPUT position
    auto = torch_grad(lambda v: F.conv_transpose2d(x, v, bias, **kw), weight, grad_out)
    assert torch.equal(parts.sum((0, 1)), auto)
    if p <= d * (k - 1):  # the same output as a conv on the stride-dilated input, kernel flipped
        dilated, flipped = trace.as_conv_on_dilated_input()
        assert torch.equal(F.conv2d(dilated, flipped, bias, dilation=d, groups=g), want)


def test_transposed_trace_random_floats_and_unbatched():
    x, weight = torch.randn(3, 6, 5), torch.randn(3, 2, 3, 3)
    trace = trace_conv_transpose2d(x, weight, stride=2, padding=1, output_padding=1)
    torch.testing.assert_close(trace.output, F.conv_transpose2d(x[None], weight, stride=2, padding=1, output_padding=1)[0])


def test_scatter_window_names_the_output_cells_one_input_cell_writes():
    x = ints(1, 1, 3, 3, seed=5)
    weight = ints(1, 2, 3, 3, seed=6)
    trace = trace_conv_transpose2d(x, weight, stride=2, padding=1)
    sc = trace.window(0, 1, 2)
    # Input (1, 2) writes rows 1*2 + u - 1 = 1, 2, 3 and cols 2*2 + v - 1 = 3, 4, 5 (col 5 is cropped: W_out = 5).
    assert sc.rows == (1, 2, 3) and sc.cols == (3, 4, 5)
    assert sc.kept.tolist() == [[True, True, False]] * 3
    assert torch.equal(sc.products, x[0, 0, 1, 2] * weight[0])
    # Scattering every window by hand rebuilds the output.
    out = torch.zeros_like(trace.output[0])
    for i, j in itertools.product(range(3), range(3)):
        s = trace.window(0, i, j)
        for u, v in itertools.product(range(3), range(3)):
            if s.kept[u, v]:
                out[:, s.rows[u], s.cols[v]] += s.products[:, u, v]
    assert torch.equal(out, trace.output[0])


def test_stride_2_kernel_3_overlaps_in_a_checkerboard():
    trace = trace_conv_transpose2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3), stride=2)
    # Even rows/cols receive copies from two input positions, odd ones from one: 1, 2, 4 in a grid.
    assert trace.overlap[1:4, 1:4].tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    assert torch.equal(trace.output[0, 0], trace.overlap.double())  # all-ones input and kernel: output = count


BAD_TRANSPOSED = [
    (dict(stride=0), "stride=0"),
    (dict(padding=-1), "padding=-1"),
    (dict(dilation=0), "dilation=0"),
    (dict(output_padding=1), "output_padding=1 must be smaller than stride=1 or dilation=1"),
    (dict(stride=2, output_padding=2), "output_padding=2"),
    (dict(padding=5), "padding=5 leaves an output height of -4"),
    (dict(groups=3), "groups=3 does not divide in_channels=2"),
    (dict(groups=0), "groups=0"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_TRANSPOSED)
def test_transposed_refuses_what_torch_refuses_by_name(kwargs, message):
    x, weight = torch.randn(1, 2, 4, 4), torch.randn(2, 3, 3, 3)
    with pytest.raises((RuntimeError, ValueError)):
        F.conv_transpose2d(x, weight, **kwargs)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        trace_conv_transpose2d(x, weight, **kwargs)


def test_transposed_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="weight has 3 input channels"):
        trace_conv_transpose2d(torch.randn(1, 2, 4, 4), torch.randn(3, 3, 3, 3))
    with pytest.raises(ValueError, match=r"bias has shape \(2,\)"):
        trace_conv_transpose2d(torch.randn(1, 2, 4, 4), torch.randn(2, 3, 3, 3), torch.randn(2))


# (C_in, L, C_out, k, stride, padding, dilation, groups, causal)
ONE_D = [
    (c_in, length, c_out, k, s, 0 if causal else p, d, g, causal)
    for (c_in, c_out, g), length, k, s, p, d, causal in itertools.product(
        [(1, 1, 1), (2, 3, 1), (4, 2, 2)], [7], [1, 2, 3], [1, 2], [0, 2], [1, 3], [False, True]
    )
    if d * (k - 1) + 1 <= length + ((k - 1) * d if causal else 2 * p)
]


@pytest.mark.parametrize("case", ONE_D, ids=lambda c: "-".join(map(str, c)))
def test_conv1d_trace_equals_torch(case):
    c_in, length, c_out, k, s, p, d, g, causal = case
    x, weight, bias = ints(2, c_in, length, seed=7), ints(c_out, c_in // g, k, seed=8), ints(c_out, seed=9)
    trace = trace_conv1d(x, weight, bias, stride=s, padding=p, dilation=d, groups=g, causal=causal)
    padded = F.pad(x, ((k - 1) * d, 0)) if causal else x
    want = F.conv1d(padded, weight, bias, stride=s, padding=0 if causal else p, dilation=d, groups=g)
    assert torch.equal(trace.output, want)
    grad_out = ints(*want.shape, seed=10)
    parts = trace.grad_contributions(grad_out)
    assert parts.shape == (want.shape[-1], *weight.shape)
    auto = torch_grad(lambda v: F.conv1d(padded, v, bias, stride=s, padding=0 if causal else p, dilation=d, groups=g),
                      weight, grad_out)
    assert torch.equal(parts.sum(0), auto)


def test_causal_output_reads_only_the_past():
    x = torch.randn(1, 1, 12)
    trace = trace_conv1d(x, torch.randn(1, 1, 3), dilation=2, causal=True)
    assert trace.output.shape[-1] == 12  # as long as the input
    for t in range(12):
        assert max(trace.reads(t)) == t  # the newest input read is t itself
    # Changing the future leaves the past untouched.
    later = x.clone()
    later[..., 7:] += 1
    again = trace_conv1d(later, trace.weight, dilation=2, causal=True)
    assert torch.equal(again.output[..., :7], trace.output[..., :7])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [(dict(stride=0), "stride=0"), (dict(dilation=0), "dilation=0"), (dict(padding=-1), "padding=-1"),
     (dict(groups=2), "groups=2 does not divide in_channels=3"),
     (dict(padding=1, causal=True), "padding=1 with causal=True")],
)
def test_conv1d_refuses_by_name(kwargs, message):
    x, weight = torch.randn(1, 3, 6), torch.randn(4, 3, 3)
    with pytest.raises(ValueError, match=message):
        trace_conv1d(x, weight, **kwargs)


def test_conv1d_kernel_longer_than_input_is_refused_like_torch():
    x, weight = torch.randn(1, 1, 4), torch.randn(1, 1, 3)
    with pytest.raises(RuntimeError):
        F.conv1d(x, weight, dilation=3)
    with pytest.raises(ValueError, match="kernel_size=3 .dilation=3, spanning 7 steps. is longer"):
        trace_conv1d(x, weight, dilation=3)


def test_tcn_receptive_field_doubles_while_parameters_add_up():
    layers = tcn_stack(kernel_size=2, dilations=(1, 2, 4, 8), channels=4)
    assert [layer.receptive_field for layer in layers] == [2, 4, 8, 16]  # 1 + (2-1)*(1+2+4+8)
    assert [layer.params for layer in layers] == [36, 72, 108, 144]  # each layer 4*4*2 + 4
    with pytest.raises(ValueError, match="dilations"):
        tcn_stack(dilations=())


def test_exported_under_psv_sliding():
    assert psv.sliding.trace_conv_transpose2d is trace_conv_transpose2d
    assert psv.sliding.trace_conv1d is trace_conv1d
