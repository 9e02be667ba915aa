"""Charts of the Slide tab's other modes: overlap, the stride-dilated conv, the TCN stack (what they say, golden JSON).

Regenerate the golden files after an intended change with ``PSV_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest
import torch

from paramshare_viz.conv_variants import (
    conv1d_gradient_check,
    dilated_equivalence,
    tcn_stack,
    trace_conv1d,
    trace_conv_transpose2d,
)
from paramshare_viz.plots.slide import (
    make_dilated_chart,
    make_gradient_chart,
    make_overlap_chart,
    make_tcn_chart,
    tcn_table,
    tcn_tree,
)
from tests.test_slide_figures import check_golden, trimmed


def small_transposed():
    """A 4x4 input of small integers, one 3x3 kernel of ones, stride 2: a 9x9 output, (4 - 1) * 2 + 3."""
    x = torch.arange(16, dtype=torch.float64).reshape(1, 4, 4) % 5
    return trace_conv_transpose2d(x, torch.ones(1, 1, 3, 3, dtype=torch.float64), stride=2)


def test_overlap_chart():
    t = small_transposed()
    got = trimmed(make_overlap_chart(t.overlap, t.interior_overlap, stride=t.stride, kernel_size=t.kernel_size))
    check_golden("slide_overlap", got)
    z = got["panels"][0]["z"]
    # Copies per row: 2 on rows 2, 4, 6 (where two kernel copies meet), 1 on the other six;
    # a cell's count is its row's times its column's: 3·3 cells get 4, 2·3·6 get 2, 6·6 get 1.
    flat = [v for row in z for v in row]
    assert [flat.count(c) for c in (1, 2, 4)] == [36, 36, 9]
    assert z[2][:5] == [2, 2, 4, 2, 4]
    assert got["panels"][0]["hover"][0] == "output (0, 0)\n1 kernel copies"
    assert got["panels"][0]["text"][:5] == ["1", "1", "2", "1", "2"]  # a count in each cell of the 9x9 map
    assert got["panels"][0]["legend"] == [0, 4]
    said = got["title"]
    assert t.interior_overlap == (1, 2, 4)  # per axis taps 0 and 2 share a residue mod 2, tap 1 is alone: 2 and 1
    assert "(stride 2, kernel 3), away from the border: 1, 2, 4 — uneven." in said
    assert "causes checkerboard artifacts" in said


def test_overlap_is_even_when_the_stride_divides_the_kernel():
    """Stride 2, kernel 4 (taps 0, 2 and 1, 3 in the two residues): every interior cell gets 2 · 2 = 4 copies."""
    t = trace_conv_transpose2d(torch.ones(1, 6, 6), torch.ones(1, 1, 4, 4), stride=2)
    assert t.interior_overlap == (4,)
    assert t.overlap[3:-3, 3:-3].unique().tolist() == [4]  # the map itself, away from the border
    said = trimmed(make_overlap_chart(t.overlap, t.interior_overlap, stride=t.stride,
                                      kernel_size=t.kernel_size))["title"]
    assert "away from the border: 4 — even: the stride divides the kernel's footprint, so no checkerboard" in said


def test_dilated_chart():
    t = small_transposed()
    eq = dilated_equivalence(t)
    got = trimmed(make_dilated_chart(eq, t.output[0], channel=0, oc=0, stride=t.stride))
    check_golden("slide_dilated", got)
    assert eq.max_abs_diff == 0.0  # integers in float64: every sum exact
    assert "max |conv − transposed| = 0.0e+00" in got["title"]
    assert [p["title"] for p in got["panels"]] == ["Input 0, 1 zero between", "Conv2d on it, kernel flipped: channel 0",
                                                  "ConvTranspose2d output channel 0"]
    shown = [v for row in got["panels"][0]["z"] for v in row if v is not None]
    assert len(shown) == 16  # the 4x4 input cells; the inserted zeros and the padding are gaps
    assert len(got["panels"][0]["z"]) == 11  # 4 cells + 3 zeros between + 2 padding each side
    assert got["panels"][0]["hover"][0] == "(0, 0) inserted zero or padding"
    assert got["panels"][1]["z"] == got["panels"][2]["z"]
    assert got["note"] == "grey: the inserted zeros and the padding"


def test_tcn_chart_and_table():
    layers = tcn_stack(2, (1, 2, 4, 8), channels=1)
    chart = make_tcn_chart(layers, 2)
    root = ET.fromstring(chart)
    svg = "{http://www.w3.org/2000/svg}"
    got = {"title": trimmed(chart)["title"],
           "edges": [[e.get("data-from"), e.get("data-to")] for e in root.iter(f"{svg}line")],
           "labels": [t.text for t in root.iter(f"{svg}text") if t.get("class") == "psv-tcn-label"]}
    check_golden("slide_tcn", got)
    nodes = ["".join(c.itertext()) for c in root.iter(f"{svg}circle")]
    assert len(nodes) == 5 * 16  # the input and 4 layers, 16 steps each
    # the last output's tree: all 16 inputs, then 8, 4, 2 and 1 node per layer (t = 15, 13, ..., the odd steps first)
    read = [n for n in nodes if n.endswith("(the last output reads it)")]
    assert len(read) == 16 + 8 + 4 + 2 + 1 and nodes[0] == "layer 0, t = 0 (the last output reads it)"
    assert "layer 1, t = 0" in nodes and "layer 4, t = 15 (the last output reads it)" in nodes
    # Receptive field 1 + (2 - 1)(1 + 2 + 4 + 8) = 16; parameters 1·1·2 + 1 = 3 per layer.
    assert "receptive field 2, 4, 8, 16 steps" in got["title"] and "are 3, 6, 9, 12 (grow linearly" in got["title"]
    assert got["labels"] == ["input", "layer 1 (d=1)", "layer 2 (d=2)", "layer 3 (d=4)", "layer 4 (d=8)"]
    # The last output's tree: 2 + 4 + 8 + 16 edges (each node reads 2 below), reaching all 16 inputs.
    edges = tcn_tree(layers, 2)
    assert len(edges) == 30 and {t for depth, _, below, t in edges if below == 0} == set(range(16))
    assert "<td>4</td><td>8</td><td>16</td><td>12</td>" in tcn_table(layers, 2, 1)


def test_one_d_gradient_chart():
    x = torch.arange(10, dtype=torch.float64).reshape(1, 10) % 4
    t = trace_conv1d(x, torch.tensor([[[1.0, -1.0]]], dtype=torch.float64), causal=True)
    check = conv1d_gradient_check(t)
    got = trimmed(make_gradient_chart(check, tap=(0, 1), positions="time steps"))
    assert got["panels"][1]["title"] == "Σ over 10 time steps"  # causal: one output per input step
    assert check.max_abs_diff == 0.0
    assert len(got["panels"][0]["z"]) == 1 and len(got["panels"][0]["z"][0]) == 10


@pytest.mark.parametrize("k, s, d", list(itertools.product([1, 2, 3, 4, 5], [1, 2, 3, 4], [1, 2, 3])))
def test_interior_overlap_is_what_the_map_shows_inside(k, s, d):
    """The counts the title states equal the overlap map's, a footprint in from the border (20x20 input)."""
    t = trace_conv_transpose2d(torch.ones(1, 20, 20), torch.ones(1, 1, k, k), stride=s, dilation=d)
    m = d * (k - 1) + 1  # the footprint: cells nearer the border miss copies from outside the input
    inside = t.overlap[m:-m, m:-m]
    assert tuple(sorted(set(inside.flatten().tolist()))) == t.interior_overlap
