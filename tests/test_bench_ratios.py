"""One comparison, one direction: the library, CLI, CSV, HTML table, sweep report and page agree on twin ÷ shared."""

from __future__ import annotations

import csv
import importlib
import re

import pytest

import paramshare_viz.app.compare as compare_module
from paramshare_viz import bench
from paramshare_viz.app.compare import ComparePanel
from paramshare_viz.app.state import AppState
from paramshare_viz.bench.roofline import Roof
from paramshare_viz.bench.table import fmt_ratio
from paramshare_viz.bench.twins import measure_twins
from paramshare_viz.cli import main
from paramshare_viz.plots.bench_figures import make_compare_figure, make_sweep_figure
from paramshare_viz.plots.compare_table import compare_table_html, sweep_report_html

sweep_module = importlib.import_module("paramshare_viz.bench.sweep")  # the module, not psv.bench.sweep

CONV = dict(in_channels=1, out_channels=2, kernel_size=3, padding=1, image_size=4)
FAST = dict(warmup=1, min_runs=3, min_time_s=0.0)


def _cell(html_text: str, key: str) -> str:
    """The twin ÷ shared cell of the Compare table's row ``key``, tags and the noise note dropped."""
    row = re.search(rf"data-key='{key}'>(.*?)</tr>", html_text).group(1)
    cell = re.search(r"class='num ratio'>(.*?)</td>", row).group(1)
    return re.sub(r" <span class='psv-noisy'>.*?</span>", "", cell)


def test_library_cli_csv_html_and_page_agree(monkeypatch, capsys, tmp_path):
    seen: list[bench.Comparison] = []
    real_compare = sweep_module.compare

    def recording(*args, **kwargs):
        seen.append(real_compare(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(sweep_module, "compare", recording)
    monkeypatch.setattr("paramshare_viz.bench.twins.measure_roof", lambda *a, **k: Roof(1e11, 1e10, "cpu", "test CPU"))
    m = measure_twins("conv", threads=1, timing=FAST, **CONV)
    (comparison,) = seen
    row = m.row

    # every ratio field names its direction; the library's field is the row's column
    assert not [key for key in row if "ratio" in key]
    for kind, pair in (("fwd", comparison.forward), ("bwd", comparison.backward)):
        assert row[f"time_{kind}_twin_over_shared"] == pair.twin_over_shared
        assert row[f"time_{kind}_twin_over_shared_iqr"] == pair.twin_over_shared_iqr
        assert row[f"time_{kind}_noise"] == pair.noise
        # twin ÷ shared is the median of each turn's twin time over its shared time
        turns = sorted(u / s for s, u in zip(pair.shared.times, pair.unshared.times, strict=True))
        assert pair.twin_over_shared == turns[1]  # 3 turns: the middle one
    with pytest.warns(DeprecationWarning):
        assert comparison.forward.ratio == pytest.approx(1 / comparison.forward.twin_over_shared)  # odd: exact
    expected = fmt_ratio(row["time_fwd_twin_over_shared"], row["time_fwd_twin_over_shared_iqr"])

    # CSV: the same number under the same column
    path = bench.write_csv([row], tmp_path / "one.csv")
    (line,) = csv.DictReader(path.open())
    assert float(line["time_fwd_twin_over_shared"]) == row["time_fwd_twin_over_shared"]

    # CLI: the same row printed (its measurement replaced by this one)
    monkeypatch.setattr(bench, "measure_pair", lambda *a, **k: row)
    assert main(["bench", "conv", *[f"{k}={v}" for k, v in CONV.items()], "--threads", "1"]) == 0
    out = capsys.readouterr().out
    printed = next(line for line in out.splitlines() if line.startswith("time forward"))
    assert expected in printed and "twin ÷ shared" in out

    # HTML table and the page's table: the same text; the page's bar: the same number
    assert _cell(compare_table_html(m), "time_fwd") == expected
    monkeypatch.setattr(compare_module, "measure_twins", lambda *a, **k: m)
    panel = ComparePanel(AppState(form="conv", overrides=CONV))
    assert panel.jobs.worker.wait(60) and panel.measurement is m
    assert _cell(panel.table.value, "time_fwd") == expected
    assert "<th class='num'>twin ÷ shared</th>" in panel.table.value
    bars = make_compare_figure(row)  # the CLI's figure
    assert dict(zip(bars.data[0].x, bars.data[0].y, strict=True))["time fwd"] == row["time_fwd_twin_over_shared"]
    shown = re.search(r"data-key='time fwd' data-ratio='([^']+)'", panel.bars.value).group(1)  # the page's bar
    assert shown == f"{row['time_fwd_twin_over_shared']:.6g}"

    # a sweep of that row: its figure and its HTML report carry the same number under the same name
    result = bench.SweepResult("conv", "image_size", [4], rows=[{"image_size": 4, **row}])
    fig = make_sweep_figure(result, metric="ratio")
    assert list(fig.data[0].y) == [row["time_fwd_twin_over_shared"]] and "twin ÷ shared" in fig.layout.yaxis.title.text
    report = sweep_report_html(result, fig)
    header = re.findall(r"<th>(.*?)</th>", report)
    cells = re.findall(r"<td>(.*?)</td>", report)
    assert f"{dict(zip(header, cells, strict=True))['time_fwd_twin_over_shared']}" == f"{row['time_fwd_twin_over_shared']:.6g}"
    assert "_ratio" not in report
