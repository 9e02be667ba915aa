"""The HTML parameter bars: values, ratio text, and the linear or log scale chosen by spread."""

from __future__ import annotations

import re

import pytest

from paramshare_viz.plots.param_bars import LOG_SPREAD, Bar, bar_scale, bar_widths, param_bars_html


def rows(page: str) -> list[dict[str, str]]:
    pattern = (
        r'data-key="(?P<key>\w+)" data-count="(?P<count>\d+)">.*?data-width="(?P<width>[\d.]+)".*?'
        r'psv-bar-value">(?P<value>[\d,]+)<.*?psv-bar-ratio">(?P<ratio>[^<]+)<'
    )
    return [m.groupdict() for m in re.finditer(pattern, page)]


def test_a_3x_difference_is_drawn_3x_with_its_ratio():
    # The zoo's default ALBERT: 15,936 shared against 54,048 for the twin (3.4x).
    page = param_bars_html([Bar("shared", "Shared", 15_936, "#00f"), Bar("unshared", "Twin", 54_048, "#f80")])
    assert 'data-scale="linear"' in page and "linear scale" in page
    shared, twin = rows(page)
    assert (shared["value"], twin["value"]) == ("15,936", "54,048")
    assert (shared["ratio"], twin["ratio"]) == ("1.0×", "3.4×")  # 54,048 / 15,936 = 3.39
    assert (float(shared["width"]), float(twin["width"])) == (29.48, 100.0)  # 15,936 / 54,048 = 29.48%


def test_a_wide_spread_switches_to_log_with_a_grid_per_decade():
    # LeNet-5 C1: 156, its locally connected twin 122,304 (784x), dense 1024 -> 4,704 outputs.
    counts = [156, 122_304, 1024 * 4704 + 4704]
    page = param_bars_html([Bar(k, k, c, "#000") for k, c in zip(("shared", "unshared", "dense"), counts, strict=True)])
    assert 'data-scale="log"' in page and "log scale" in page
    assert [r["ratio"] for r in rows(page)] == ["1.0×", "784×", "30,908×"]  # 4,821,600 / 156 = 30,908
    # log10(156) / log10(4,821,600) = 2.193 / 6.683 = 32.82% of the track
    assert float(rows(page)[0]["width"]) == pytest.approx(32.82, abs=0.01)
    assert page.count('class="psv-bar-grid"') == 3 * 6  # 10^1 .. 10^6 in each of the 3 tracks


@pytest.mark.parametrize(
    ("counts", "scale"),
    [([1, LOG_SPREAD], "linear"), ([1, LOG_SPREAD + 1], "log"), ([10, 10], "linear"), ([0, 50], "linear")],
)
def test_scale_follows_the_spread(counts, scale):
    assert bar_scale(counts) == scale


def test_widths_stay_in_the_track():
    assert bar_widths([0, 1, 10, 1000], "log") == [0.0, 0.0, pytest.approx(100 / 3), 100.0]
    assert bar_widths([0, 1], "log") == [0.0, 100.0]
    assert bar_widths([0, 5, 20], "linear") == [0.0, 25.0, 100.0]


def test_labels_are_escaped():
    page = param_bars_html([Bar("shared", "<b>x</b>", 1, "#000"), Bar("unshared", "y", 2, "#000")])
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
