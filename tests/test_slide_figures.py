"""Slide tab figure builders, without a kernel: trimmed golden JSON (seeded) plus the numbers they must show.

Regenerate the golden files after an intended change with ``PSV_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from paramshare_viz.plots.slide import equivariance_statement, make_equivariance_figure, make_gradient_figure
from paramshare_viz.slide_inputs import preset_weight, sample_image
from paramshare_viz.sliding import equivariance, gradient_check, trace_conv2d
from tests.golden import golden


def small_trace():
    """Digit 0 at 8x8, two seeded random 3x3 kernels, padding 1: an 8x8 output."""
    x = sample_image("digit", size=8)
    w = preset_weight("random", 3, 2, 1, seed=0)
    return trace_conv2d(x, w, torch.tensor([0.1, -0.1]), padding=1)


def trimmed(fig) -> dict:
    """What the figure says: titles, traces' numbers and text, the outlined tap; no template or styling."""
    d = json.loads(fig.to_json())
    keep = ("type", "z", "text", "zmin", "zmax", "zmid")
    return {
        "title": d["layout"]["title"]["text"],
        "subplots": [a["text"] for a in d["layout"].get("annotations", [])],
        "traces": [{k: t[k] for k in keep if k in t} for t in d["data"]],
        "shapes": [{k: s[k] for k in ("x0", "x1", "y0", "y1", "xref")} for s in d["layout"].get("shapes", [])],
    }


def close(a, b, path="") -> None:
    """Equal structure, numbers within 1e-3 (rounded to 4 digits by the builder; None for gaps)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, int | float):
        assert a == pytest.approx(b, abs=1e-3), path
    else:
        assert a == b, path


def check_golden(name: str, got: dict) -> None:
    close(got, golden(f"{name}.json", got))


def test_gradient_figure():
    check = gradient_check(small_trace())
    fig = make_gradient_figure(check, oc=1, channel=0, tap=(2, 1))
    got = trimmed(fig)
    check_golden("slide_gradient", got)
    parts, summed, auto = (got["traces"][k]["z"] for k in range(3))
    # The first map sums to the outlined entry of the second (row 2, col 1), which equals autograd's.
    assert sum(sum(r) for r in parts) == pytest.approx(summed[2][1], abs=1e-2)  # 64 parts rounded to 4 digits
    assert summed == auto
    assert got["subplots"][1] == "Σ over 64 positions"  # 8x8 output
    assert got["shapes"][0] == {"x0": 0.5, "x1": 1.5, "y0": 1.5, "y1": 2.5, "xref": "x2"}
    assert check.max_abs_diff < 1e-5


def test_equivariance_figure():
    result = equivariance(small_trace(), (1, 2))
    got = trimmed(make_equivariance_figure(result))
    check_golden("slide_equivariance", got)
    conv, twin = got["traces"][0]["z"], got["traces"][1]["z"]
    compared = [v for row in conv for v in row if v is not None]
    # 8x8 input, padding 1, shift (1, 2): windows inside the image after the shift are rows 2..6, cols 3..6.
    assert len(compared) == 5 * 4 == int(result.compared.sum())
    assert max(compared) == 0.0  # the conv shifts along exactly
    assert max(v for row in twin for v in row if v is not None) > 0.01  # the twin does not
    assert conv[0][0] is None  # the border is a gap, not a zero
    assert got["subplots"][0] == "Conv2d (shared): ‖error‖ = 0"
    assert got["subplots"][1] == f"Locally connected: ‖error‖ = {result.twin_norm:.3g}"
    assert result.twin_norm == pytest.approx(math.sqrt(sum(v * v for row in twin for v in row if v is not None)), rel=1e-3)
    said = got["title"].replace("<br>", " ")  # lines wrapped at spaces
    assert said.startswith("Shift (1, 2) with stride 1: the conv's output moves by (1, 2) "
                                   "cells and is otherwise unchanged away from the border (error 0%).")
    assert f"twin's output changes instead of moving (error {result.twin_relative:.0%}" in said


def test_equivariance_words_for_each_kind_of_shift():
    """At (0, 0) nothing changes; multiples of the stride move the output; other shifts do not."""
    x = torch.rand(1, 12, 12, generator=torch.Generator().manual_seed(0))
    t = trace_conv2d(x, torch.randn(2, 1, 3, 3, generator=torch.Generator().manual_seed(1)), stride=2, padding=1)
    none, whole, half = (equivariance(t, s) for s in ((0, 0), (2, -4), (1, 0)))
    assert equivariance_statement(none)[0] == (
        "Shift (0, 0): the input does not move, so neither output changes (error 0 for both models).")
    assert (none.conv_norm, none.twin_norm) == (0.0, 0.0)
    assert equivariance_statement(whole)[0].startswith(
        "Shift (2, -4) is a multiple of the stride (2): the conv's output moves by (1, -2) cells")
    assert whole.conv_relative < 1e-5 and whole.twin_relative > 0.05
    said = equivariance_statement(half)
    assert said[0].startswith("Shift (1, 0) is not a multiple of the stride (2): the windows land between")
    assert f"the conv's error is {half.conv_relative:.0%} of the output's norm" in said[0]
    assert half.conv_relative > 0.1  # 1 pixel of a stride-2 conv: no whole-cell move reproduces the output
    assert said[1] == "Only shifts by multiples of 2 move a strided conv's output along exactly."
    far = equivariance(t, (12, 0))  # the whole image shifted out: nothing left to compare
    assert "no cell can be compared" in equivariance_statement(far)[0]


def test_gradient_figure_states_the_loss():
    got = trimmed(make_gradient_figure(gradient_check(small_trace())))
    assert "loss: L = ½ Σ output², summed over every output cell and channel (so ∂L/∂output = output; no target)" in got["title"]
