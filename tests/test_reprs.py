"""Results read as compact tables in a notebook (``_repr_html_``) and when printed (``__str__``)."""

from __future__ import annotations

import paramshare_viz as psv
from paramshare_viz.analysis.memory import training_memory
from paramshare_viz.bench.compare import Comparison, PairTiming
from paramshare_viz.bench.sweep import SweepResult
from paramshare_viz.bench.timing import Stats, TimingResult

ENV = dict(device="cpu", device_name="Test CPU", torch_version="2.x", threads=1)


def test_sharing_report():
    shared, _ = psv.zoo.pair("tied_embeddings")
    report = psv.analyze(shared, psv.zoo.example_input("tied_embeddings"))
    text = str(report)
    assert text.startswith("SharingReport: 1 group of tensors under several names")  # singular
    # the tied weight: 100 * 32 = 3,200 elements held once, counted under 2 names naively
    assert "group lm_head.weight +1 name" in text and "3,200" in text and "6,400" in text
    assert f"{report.unique_params:,}" in text and f"{report.naive_params:,}" in text
    assert "naive: summed over every name, aliases included" in text
    assert "KiB" in text  # bytes in binary units
    html = report._repr_html_()
    assert "<table" in html and "lm_head.weight +1 name" in html and "SharingReport" in html


def test_tie_health():
    shared, _ = psv.zoo.pair("tied_embeddings")
    text = str(psv.check_ties(shared))
    assert text.startswith("TieHealth of TiedLM on cpu: 1 group")
    assert "safetensors_save_model" in text and "BROKEN" in text and "kept" in text
    assert "safetensors save_model drops 1 name, e.g." in text


def test_memory_ledger():
    shared, _ = psv.zoo.pair("albert")
    ledger = training_memory(shared)
    text = str(ledger)
    assert "MemoryLedger: training memory with adam" in text
    # Adam: params + grads + 2 moments (+ a step scalar per tensor): total is about 4x params
    assert "KiB" in text and "sharing saves" in text and "untied" in text
    assert "<table" in ledger._repr_html_()


def test_timing_result_and_comparison():
    fwd = Stats.from_times([0.002, 0.003, 0.004])
    result = TimingResult(fwd, None, None, **ENV)
    text = str(result)
    assert "forward" in text and "3 ms ± 1" in text and "1 thread," in text  # median 3 ms, IQR 1 ms (same unit)
    pair = PairTiming.from_stats(Stats.from_times([0.001, 0.001, 0.001]), Stats.from_times([0.004, 0.004, 0.004]))
    comparison = Comparison(pair, None, None, **ENV)
    text = str(comparison)
    # shared 1 ms, twin 4 ms in every turn: twin ÷ shared = 4x, IQR 0
    assert pair.twin_over_shared == 4.0 and pair.twin_over_shared_iqr == 0.0 and pair.noise == ""
    assert "twin ÷ shared" in text and "4x ± 0" in text and "1 ms" in text and "4 ms" in text
    assert "<td>4x ± 0</td>" in comparison._repr_html_()


def test_sweep_result():
    rows = [
        {"image_size": 4, "params_shared": 224, "params_unshared": 3584, "time_fwd_twin_over_shared": 2.0},
        {"image_size": 8, "params_shared": 224, "params_unshared": 14336, "time_fwd_twin_over_shared": 4.0},
    ]
    result = SweepResult("conv", "image_size", [4, 8, 16], rows, cancelled=True, **ENV)
    text = str(result)
    assert text.startswith("SweepResult: conv over image_size")
    assert "time fwd twin ÷ shared" in text and "2x" in text and "4x" in text
    assert "14.3k" in text and "stopped early: 2 of 3 values measured" in text
    assert "time fwd twin ÷ shared" in result._repr_html_()


def test_estimate_and_plurals():
    text = str(psv.zoo.estimate("rnn", seq_len=3))
    assert "modules" in text and "unshared twin" in text


def test_sweep_ratio_figure_draws_twin_over_shared():
    from paramshare_viz.plots.bench_figures import make_sweep_figure

    rows = [{"image_size": 4, "time_fwd_twin_over_shared": 2.0, "time_fwd_twin_over_shared_iqr": 0.4,
             "time_fwd_noise": ""},
            {"image_size": 8, "time_fwd_twin_over_shared": 4.0, "time_fwd_twin_over_shared_iqr": 3.0,
             "time_fwd_noise": "noisy: its IQR is 75% of it"}]
    fig = make_sweep_figure(SweepResult("conv", "image_size", [4, 8], rows), metric="ratio")
    trace = fig.data[0]
    assert trace.name == "twin ÷ shared" and list(trace.y) == [2.0, 4.0]
    assert list(trace.error_y.array) == [0.2, 1.5]  # IQR / 2 either side
    assert list(trace.marker.symbol) == ["circle", "x"]  # the noisy point is a cross
    assert "twin ÷ shared" in fig.layout.title.text
