"""Slide tab chart builders (inline SVG), without a kernel: what a chart says, as golden JSON (seeded),
plus the numbers it must show.

Regenerate the golden files after an intended change with ``PSV_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
import torch

from paramshare_viz.plots.slide import equivariance_statement, make_equivariance_chart, make_gradient_chart
from paramshare_viz.slide_inputs import preset_weight, sample_image
from paramshare_viz.sliding import equivariance, gradient_check, trace_conv2d
from tests.golden import golden


def small_trace():
    """Digit 0 at 8x8, two seeded random 3x3 kernels, padding 1: an 8x8 output."""
    x = sample_image("digit", size=8)
    w = preset_weight("random", 3, 2, 1, seed=0)
    return trace_conv2d(x, w, torch.tensor([0.1, -0.1]), padding=1)


def _text(e: ET.Element) -> str:
    return "".join(e.itertext()).strip()


def _value(tip: str) -> float | None:
    """A cell's number from its hover text: the first number of its second line (a gap has one line)."""
    lines = tip.split("\n")
    if len(lines) < 2:
        return None
    return float(re.search(r"-?\d[\d.]*(e[-+]\d+)?", lines[1]).group())


def trimmed(chart: str) -> dict:
    """What a chart says: title lines, note, and per map its title, cell values (from the hover texts; None for
    a gap), the numbers written in the cells, the outlined cell and the legend's range. The chart must be
    well-formed XML (``ET.fromstring`` raises otherwise)."""
    root = ET.fromstring(chart)
    note = root.find(".//div[@class='psv-chart-note']")
    panels = []
    for panel in root.iter("div"):
        if panel.get("class") != "psv-hm-panel" or panel.find("{*}svg[@class='psv-hm']") is None:
            continue
        svg = panel.find("{*}svg")
        cols = int(svg.get("data-cols"))
        tips = [_text(r.find("{*}title")) for r in svg.findall("{*}rect") if r.find("{*}title") is not None]
        values = [_value(t) for t in tips]
        outline = svg.find("{*}rect[@class='psv-outline']")
        leg = panel.find("div[@class='psv-legend']")
        panels.append({
            "title": _text(panel.find("div[@class='psv-hm-title']")),
            "z": [values[k : k + cols] for k in range(0, len(values), cols)],
            "hover": tips[:2],
            "text": [_text(t) for t in svg.findall("{*}text") if t.get("class") == "psv-cell-text"],
            "outline": None if outline is None else [int(outline.get("data-r")), int(outline.get("data-c"))],
            "legend": None if leg is None else [float(leg.get("data-low")), float(leg.get("data-high"))],
        })
    return {
        "title": " ".join(_text(d) for d in root.find("div[@class='psv-chart-title']")),
        "note": "" if note is None else _text(note),
        "panels": panels,
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
        assert a == pytest.approx(b, rel=2e-3, abs=1e-3), path  # hover texts round to 3-6 digits
    else:
        assert a == b, path


def check_golden(name: str, got: dict) -> None:
    close(got, golden(f"{name}.json", got))


def test_gradient_chart():
    check = gradient_check(small_trace())
    got = trimmed(make_gradient_chart(check, oc=1, channel=0, tap=(2, 1)))
    check_golden("slide_gradient", got)
    parts, summed, auto = (got["panels"][k]["z"] for k in range(3))
    # The first map sums to the outlined entry of the second (row 2, col 1), which equals autograd's.
    assert sum(sum(r) for r in parts) == pytest.approx(summed[2][1], abs=1e-2)  # 64 parts rounded to 4 digits
    close(summed, auto)  # both as hover texts, 6 digits
    assert [p["title"] for p in got["panels"]] == [
        "Each position's part of ∂L/∂w[1,0,2,1]", "Σ over 64 positions", "autograd weight.grad"]  # 8x8 output
    assert got["panels"][1]["outline"] == got["panels"][2]["outline"] == [2, 1]
    assert got["panels"][0]["hover"][0].startswith("position (0, 0)\npart ")
    assert len(got["panels"][1]["text"]) == 9  # a number in each of the 3x3 kernel's cells
    # diverging scales, symmetric about 0: the parts' own, and one for Σ and .grad (legend under the third)
    low, high = got["panels"][0]["legend"]
    assert low == -high and high == pytest.approx(max(abs(v) for r in parts for v in r), rel=1e-3)
    assert got["panels"][1]["legend"] is None and got["panels"][2]["legend"][0] == -got["panels"][2]["legend"][1]
    assert check.max_abs_diff < 1e-5


def test_equivariance_chart():
    result = equivariance(small_trace(), (1, 2))
    got = trimmed(make_equivariance_chart(result))
    check_golden("slide_equivariance", got)
    conv, twin = got["panels"][0]["z"], got["panels"][1]["z"]
    compared = [v for row in conv for v in row if v is not None]
    # 8x8 input, padding 1, shift (1, 2): windows inside the image after the shift are rows 2..6, cols 3..6.
    assert len(compared) == 5 * 4 == int(result.compared.sum())
    assert max(compared) == 0.0  # the conv shifts along exactly
    assert max(v for row in twin for v in row if v is not None) > 0.01  # the twin does not
    assert conv[0][0] is None  # the border is a gap, not a zero
    assert got["panels"][0]["hover"][0] == "(0, 0) touches the border: not compared"
    assert got["panels"][0]["title"] == "Conv2d (shared): ‖error‖ = 0"
    assert got["panels"][1]["title"] == f"Locally connected: ‖error‖ = {result.twin_norm:.3g}"
    assert got["panels"][1]["legend"] == pytest.approx([0, max(v for row in twin for v in row if v is not None)], rel=2e-3)
    assert got["note"] == "grey: windows that touch the border, not compared"
    assert result.twin_norm == pytest.approx(math.sqrt(sum(v * v for row in twin for v in row if v is not None)), rel=1e-3)
    said = got["title"]  # the statement's sentences, one line each
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


def test_gradient_chart_states_the_loss():
    got = trimmed(make_gradient_chart(gradient_check(small_trace())))
    assert got["note"] == "loss: L = ½ Σ output², summed over every output cell and channel (so ∂L/∂output = output; no target)"


def test_a_large_map_is_one_image_that_says_why_it_has_no_cell_hover():
    """41x41 = 1,681 cells, over HOVER_CELLS = 1,600 (40x40): one pixelated PNG, and its hover text says so."""
    x = torch.rand(1, 41, 41, generator=torch.Generator().manual_seed(0))
    chart = make_gradient_chart(gradient_check(trace_conv2d(x, torch.ones(1, 1, 3, 3), padding=1)))
    root = ET.fromstring(chart)
    (image,) = root.iter("{http://www.w3.org/2000/svg}image")
    assert image.get("href").startswith("data:image/png;base64,")
    assert _text(image.find("{*}title")) == (
        "41×41 cells: too many to label one by one (hover text up to 1600 cells)")
    # the kernel maps (3x3) keep a hover text per cell
    assert len([r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.find("{*}title") is not None]) == 2 * 9
