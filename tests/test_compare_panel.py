"""The Compare tab without a browser: its numbers are the engines', sweeps run in the worker."""

from __future__ import annotations

import base64
import importlib
import re

import pytest
import torch

import paramshare_viz as psv
import paramshare_viz.app.compare as compare_module
from paramshare_viz.analysis.flops import count_flops
from paramshare_viz.analysis.memory import training_memory
from paramshare_viz.app.compare import ComparePanel
from paramshare_viz.app.state import AppState
from paramshare_viz.bench.roofline import Roof

sweep_module = importlib.import_module("paramshare_viz.bench.sweep")  # the module, not psv.bench.sweep

CONV = dict(in_channels=1, out_channels=2, kernel_size=3, padding=1, image_size=4)
ALBERT = dict(vocab_size=50, embedding_size=8, hidden_size=16, num_layers=3, num_heads=2, intermediate_size=32, seq_len=4)
FAST = dict(warmup=1, min_runs=2, min_time_s=0.0)


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    """Tiny timing budgets, and a fixed roof instead of measuring the machine (seconds on 2 cores)."""
    monkeypatch.setattr(compare_module, "TIMING", FAST)
    monkeypatch.setattr(compare_module, "SWEEP_TIMING", FAST)
    roof = Roof(1e11, 1e10, "cpu", "test CPU")
    monkeypatch.setattr("paramshare_viz.bench.twins.measure_roof", lambda *a, **k: roof)


def make_panel(form: str, overrides: dict, **state) -> ComparePanel:
    panel = ComparePanel(AppState(form=form, overrides=overrides, **state))
    assert panel.jobs.worker.wait(120)
    return panel


def buttons(panel: ComparePanel) -> dict[str, bool]:
    """Which buttons a visitor can press."""
    return {
        "measure": not panel.measure_button.disabled,
        "sweep": not panel.sweep_button.disabled,
        "stop": not panel.jobs.stop.disabled,
    }


IDLE = {"measure": True, "sweep": True, "stop": False}


@pytest.mark.parametrize(("form", "overrides"), [("conv", CONV), ("albert", ALBERT)])
def test_numbers_are_the_engines(form, overrides):
    panel = make_panel(form, overrides)
    m = panel.measurement
    assert m is not None, panel.state.status
    shared, unshared = psv.zoo.pair(form, **overrides)
    x = psv.zoo.example_input(form, **overrides)
    for side, model in (("shared", shared), ("unshared", unshared)):
        assert m.row[f"params_{side}"] == psv.analyze(model).unique_params
        flops = count_flops(model, x, backward=True)
        assert (m.row[f"flops_fwd_{side}"], m.row[f"flops_bwd_{side}"]) == (flops.forward, flops.backward)
    for opt, (a, b) in m.ledgers.items():
        assert a == training_memory(shared, opt).shared
        assert b == training_memory(unshared, opt).shared
    assert m.threads == 1 and "1 thread" in panel.table.value  # the thread count is stated
    assert buttons(panel) == IDLE and panel.state.status_level == "info"
    # the twin ÷ shared bars, HTML in the plot's place (no plotly.js for them)
    assert "twin ÷ shared" in panel.bars.value and "data-key='parameters'" in panel.bars.value
    assert (panel.bars.layout.display, panel.plot.layout.display) == ("", "none")


def test_conv_table_shows_the_arithmetic():
    panel = make_panel("conv", CONV)
    m = panel.measurement
    # conv 1 -> 2 channels, 3x3: 2*1*9 + 2 = 20 parameters; the twin has its own at 4*4 positions: 320.
    assert (m.row["params_shared"], m.row["params_unshared"]) == (20, 320)
    # Adam: 80 B params + 80 B grads + 2*80 B moments + 2 tensors * 4 B step = 328 B.
    assert m.ledgers["adam"][0].total == 328
    # SGD: params + grads only; momentum: one more buffer of the grads' size.
    assert (m.ledgers["sgd"][0].total, m.ledgers["momentum"][0].total) == (160, 240)
    row = re.search(r"data-key='params'>(.*?)</tr>", panel.table.value).group(1)
    assert ">20<" in row and ">320<" in row and "16x" in row  # 320 / 20
    assert "FLOPs forward" in panel.table.value and "peak bytes" in panel.table.value
    panel.view.value = "Roofline"
    assert [t.name for t in panel.plot.figure.data] == ["roof", "shared", "twin"]
    assert panel.plot.figure.layout.xaxis.type == "log"
    assert (panel.bars.layout.display, panel.plot.layout.display) == ("none", "")
    panel.view.value = "Shared vs twin"  # back to the bars, in the plot's place
    assert (panel.bars.layout.display, panel.plot.layout.display) == ("", "none")
    assert "data-key='parameters' data-ratio='16'" in panel.bars.value  # parameters: 320 / 20
    assert "16× the shared model" in panel.bars.value


def test_sweep_runs_to_the_end_in_the_worker():
    panel = make_panel("conv", CONV)
    plot = panel.plot
    panel.knob.value = "image_size"
    panel.values.value = "4, 8"
    panel.run_sweep()
    assert buttons(panel) == {"measure": False, "sweep": False, "stop": True}
    assert panel.jobs.worker.wait(120)
    result = panel.result
    assert result is not None and not result.cancelled, panel.state.status
    # twin: 20 parameters per position, 4*4 and 8*8 positions.
    assert result.column("params_unshared") == [320, 1280]
    assert (panel.jobs.bar.value, panel.jobs.bar.max) == (2, 2)
    assert buttons(panel) == IDLE
    assert panel.plot is plot  # the same output, now showing the sweep on log axes
    shown = plot.shown
    assert [t["name"] for t in shown["data"]] == ["shared", "unshared twin"]
    assert list(shown["data"][0]["x"]) == [4, 8] and shown["layout"]["xaxis"]["type"] == "log"
    csv_b64 = re.search(r"download='conv-image_size-sweep.csv' href='data:text/csv;base64,([^']+)'", panel.downloads.value)
    lines = base64.b64decode(csv_b64.group(1)).decode().splitlines()
    assert lines[0].startswith("image_size,params_shared") and len(lines) == 3  # header + 2 rows
    assert "conv-image_size-sweep.html" in panel.downloads.value
    panel.metric.value = "params"
    assert list(panel.plot.figure.data[1].y) == [320, 1280]


def test_sweep_stopped_half_way_keeps_its_rows(monkeypatch, kernel_loop):
    panel = make_panel("conv", CONV)
    seen = []
    real = sweep_module.sweep

    def stopping_sweep(*args, progress, **kw):
        def on_point(done, total, row):
            progress(done, total, row)
            kernel_loop.call_from_worker(lambda: seen.append(buttons(panel)))
            if done == 2:
                kernel_loop.call_from_worker(panel.jobs.stop.click)  # Stop, pressed while point 2 lands

        return real(*args, progress=on_point, **kw)

    monkeypatch.setattr(compare_module, "sweep", stopping_sweep)
    panel.values.value = "2, 4, 8, 16"
    panel.run_sweep()
    assert panel.jobs.worker.wait(120)
    assert seen[0] == {"measure": False, "sweep": False, "stop": True}  # while running
    result = panel.result
    assert result.cancelled and result.column("image_size") == [2, 4]  # the two measured, kept
    assert buttons(panel) == IDLE
    assert "stopped after 2 of 4 values" in panel.state.status
    assert panel.jobs.line.value == "2 of 4 values (stopped)" and (panel.jobs.bar.value, panel.jobs.bar.max) == (2, 4)
    assert list(panel.plot.figure.data[0].x) == [2, 4]
    assert "base64" in panel.downloads.value


def fake_oom(*args, **kwargs):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total capacity)")


def test_out_of_memory_is_reported_in_plain_words(monkeypatch):
    monkeypatch.setattr(compare_module, "measure_twins", fake_oom)
    panel = make_panel("conv", CONV)
    assert panel.state.status_level == "error"
    assert panel.state.status.startswith("Compare: measuring conv and its twin: the GPU ran out of memory (CUDA out")
    assert "Try a smaller size or batch" in panel.state.status and "Traceback" not in panel.state.status
    assert buttons(panel) == IDLE


def test_out_of_memory_in_a_sweep_keeps_the_rows_before_it(monkeypatch):
    panel = make_panel("conv", CONV)
    real, calls = sweep_module.measure_pair, []

    def oom_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            fake_oom()
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep_module, "measure_pair", oom_on_second)
    panel.values.value = "4, 8, 16"
    panel.run_sweep()
    assert panel.jobs.worker.wait(120)
    assert "Compare: measuring conv at image_size = 8: the GPU ran out of memory" in panel.state.status
    assert panel.result.column("image_size") == [4] and buttons(panel) == IDLE


def test_meta_device_and_bad_values_are_refused():
    panel = ComparePanel(AppState(form="conv", overrides=CONV, device="meta"))
    assert "device is 'meta'" in panel.state.status and buttons(panel) == IDLE
    assert panel.measurement is None
    panel.state.device = "cpu"
    panel.values.value = "4, x"
    panel.run_sweep()
    assert "sweep value 'x' for image_size is not a whole number" in panel.state.status
    panel.values.value = ""
    panel.run_sweep()
    assert "sweep values for image_size are empty" in panel.state.status


def test_a_changed_setting_dims_the_table_until_measured_again():
    panel = make_panel("conv", CONV)
    panel.state.overrides = {**CONV, "image_size": 6}
    assert "psv-stale" in panel.table._dom_classes and "press Measure" in panel.setting.value
    assert "image_size=6" in panel.setting.value
    panel.measure()
    assert panel.jobs.worker.wait(120)
    assert "psv-stale" not in panel.table._dom_classes
    assert "press Measure" not in panel.setting.value
    assert panel.measurement.row["params_unshared"] == 20 * 36  # 6*6 positions


def plot_text(panel: ComparePanel) -> str:
    """What the one plot shows: the bars in its place, a placeholder's text, or the figure's title and annotations."""
    if panel.bars.layout.display != "none":
        return panel.bars.value
    if panel.plot.shown:
        layout = panel.plot.shown["layout"]
        notes = " ".join(a.get("text", "") for a in layout.get("annotations", []))
        return f"{layout.get('title', {}).get('text', '')} {notes}"
    return panel.plot.message


def test_another_form_drops_the_old_sweep(monkeypatch, kernel_loop):
    panel = make_panel("conv", CONV)
    real = sweep_module.sweep

    def stopping_sweep(*args, progress, **kw):
        def on_point(done, total, row):
            progress(done, total, row)
            if done == 3:
                kernel_loop.call_from_worker(panel.jobs.stop.click)

        return real(*args, progress=on_point, **kw)

    monkeypatch.setattr(compare_module, "sweep", stopping_sweep)
    panel.values.value = "2, 3, 4, 5, 6, 8"
    panel.run_sweep()
    assert panel.jobs.worker.wait(120)
    assert panel.jobs.line.value == "3 of 6 values (stopped)" and "CSV" in panel.downloads.value
    panel.state.form = "rnn"
    # the old sweep's chart, its "3 of 6 values (stopped)" line and its CSV button are gone
    assert panel.result is None and panel.jobs.line.value == "" and panel.downloads.value == ""
    assert panel.jobs.bar.value == 0 and "Run a sweep" in plot_text(panel)
    assert panel.knob.value == "seq_len"


def test_a_sweep_running_when_the_form_changes_is_stopped_and_dropped(monkeypatch, kernel_loop):
    panel = make_panel("conv", CONV)
    real = sweep_module.sweep

    def switching_sweep(*args, progress, **kw):
        def on_point(done, total, row):
            if done == 1:  # a visitor picks another form in Explore while point 1 lands
                kernel_loop.call_from_worker(setattr, panel.state, "form", "rnn")
            progress(done, total, row)

        return real(*args, progress=on_point, **kw)

    monkeypatch.setattr(compare_module, "sweep", switching_sweep)
    panel.values.value = "2, 4, 8"
    panel.run_sweep()
    assert panel.jobs.worker.wait(120)
    assert panel.result is None and panel.jobs.line.value == "" and panel.downloads.value == ""
    assert buttons(panel) == IDLE


def test_meta_then_cpu_measures_instead_of_saying_measuring():
    panel = ComparePanel(AppState(form="conv", overrides=CONV, device="meta"))
    assert panel.measurement is None and panel.jobs.kind is None
    assert "Measuring" not in plot_text(panel) and "device is 'meta'" in plot_text(panel)
    panel.state.device = "cpu"  # nothing was measured because of meta: it is measured now, as on opening
    assert panel.jobs.worker.wait(120)
    assert panel.measurement is not None and panel.measurement.row["params_shared"] == 20, panel.state.status
    assert "twin ÷ shared" in plot_text(panel) and buttons(panel) == IDLE


def test_a_measurement_of_an_older_setting_is_shown_dimmed(monkeypatch, kernel_loop):
    real = compare_module.measure_twins
    state = AppState(form="conv", overrides=CONV)

    def changing(*args, **kwargs):
        # Explore changed while the worker measured
        kernel_loop.call_from_worker(setattr, state, "overrides", {**CONV, "image_size": 6})
        return real(*args, **kwargs)

    monkeypatch.setattr(compare_module, "measure_twins", changing)
    panel = ComparePanel(state)
    assert panel.jobs.worker.wait(120)
    assert panel.measurement.row["params_unshared"] == 320  # measured at image_size=4 (4*4 positions)
    assert "psv-stale" in panel.table._dom_classes and "press Measure" in panel.setting.value


def test_hashednet_with_every_field_spelled_out_is_not_dimmed():
    # Explore sends every field, seed included; the measurement records the fields it was given
    fields = {"in_features": 16, "out_features": 8, "num_buckets": 32, "sign_hash": True, "seed": 0, "bias": True}
    panel = make_panel("hashednet", fields)
    assert panel.measurement is not None and "psv-stale" not in panel.table._dom_classes


def test_any_failure_is_worded_the_one_way(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the timer broke")

    monkeypatch.setattr(compare_module, "measure_twins", broken)
    panel = make_panel("conv", CONV)
    # "{tab}: {what}: {in_words(err)}." with the type named, the same shape as Learn's and Inspect's
    assert panel.state.status == "Compare: measuring conv and its twin: RuntimeError: the timer broke."
    assert buttons(panel) == IDLE and "Nothing measured" in plot_text(panel)
