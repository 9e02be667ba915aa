"""Compare's twin ÷ shared bars as HTML (no plotly.js): one row per measured metric, from the ratios the CLI's figure uses."""

from __future__ import annotations

import re

import pytest

from paramshare_viz.plots.bench_figures import compare_bars_html, compare_ratios, make_compare_figure

ROW = {
    "params_shared": 20, "params_unshared": 320,  # a 3x3 conv 1 -> 2: 2*9 + 2 = 20; 16 positions: 320
    "held_bytes_shared": 80, "held_bytes_unshared": 1280,  # float32: 4 bytes each
    "time_fwd_shared_s": 2e-5, "time_fwd_unshared_s": 1.8e-5,
    "time_fwd_twin_over_shared": 0.9, "time_fwd_noise": "IQR 40% of the median",  # per-turn median, not 1.8/2
    "flops_fwd_shared": None, "flops_fwd_unshared": 100,  # not measured for the shared model: no bar
}


def rows(page: str) -> list[tuple[str, str, str]]:
    """(label, data-ratio, hover title) of each bar, in order."""
    return re.findall(r"data-key='([^']+)' data-ratio='([^']+)' title='([^']+)'", page)


def test_bars_state_each_ratio_and_what_it_counts():
    page = compare_bars_html(ROW, title="conv: twin ÷ shared, × the shared model")
    assert [(k, r) for k, r, _ in rows(page)] == [("parameters", "16"), ("parameters + buffers", "16"), ("time fwd", "0.9")]
    assert "16× the shared model</div>" in page  # 320 / 20
    assert "0.9× the shared model (noisy)</div>" in page
    assert rows(page)[0][2] == "parameters (unique parameters): shared 20, twin 320"
    assert rows(page)[1][2] == "parameters + buffers (bytes held): shared 80, twin 1,280"
    assert rows(page)[2][2] == "time fwd (s, median): shared 2e-05, twin 1.8e-05; IQR 40% of the median"
    assert "<div class='psv-cbar-unit'>bytes held</div>" in page  # under its label, on the page
    assert "repeating-linear-gradient" in page.split("data-key='time fwd'")[1]  # hatched: noisy
    assert "dashed: 1× (the same as the shared model)" in page
    assert re.findall(r"%'>([\d.]+×)</span>", page) == ["1×", "10×"]  # the axis: 0.9 to 16 spans these decades


def test_a_bar_runs_from_the_one_line_to_its_ratio():
    page = compare_bars_html(ROW)
    one = [float(x) for x in re.findall(r"psv-cbar-one' style='left:([\d.]+)%", page)]
    fills = [(float(a), float(b)) for a, b in re.findall(r"psv-cbar-fill' style='left:([\d.]+)%;width:([\d.]+)%", page)]
    assert len(set(one)) == 1
    (params_left, params_width), _, (time_left, time_width) = fills
    assert params_left == pytest.approx(one[0])  # 16x: from 1 to the right
    assert time_left + time_width == pytest.approx(one[0], abs=0.02)  # 0.9x: from 1 to the left
    # log scale: log10(16) = 1.204 is 21.9 times log10(1/0.9) = 0.0458
    assert params_width / time_width == pytest.approx(1.204 / 0.0458, rel=0.02)


def test_the_page_and_the_cli_figure_show_the_same_ratios():
    fig = make_compare_figure(ROW)
    assert list(fig.data[0].x) == [b.label for b in compare_ratios(ROW)]
    assert list(fig.data[0].y) == [16, 16, 0.9]
    assert compare_bars_html({}).endswith("Nothing measured.</div>")
