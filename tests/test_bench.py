"""psv.bench: timing structure, interleaving, FLOPs equalities, measured memory, roofline, sweeps.

No test asserts a speed: machines are noisy. Timing tests check structure and,
with an injected fake clock, the exact order and ratio arithmetic.
"""

from __future__ import annotations

import csv
import json
import threading

import pytest
import torch
from torch import nn

import paramshare_viz as psv
from paramshare_viz import bench
from paramshare_viz.analysis.flops import count_flops
from paramshare_viz.bench import roofline
from paramshare_viz.bench._workload import scalar_loss
from paramshare_viz.plots import bench_figures

TINY = dict(warmup=1, min_runs=3, min_time_s=0.0)
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU; CI machines have none"
)


# --- timing ---------------------------------------------------------------------------------------


def _check_stats(s: bench.Stats, min_runs: int) -> None:
    assert s.runs >= min_runs and len(s.times) == s.runs
    assert min(s.times) <= s.median_s <= max(s.times)
    assert s.iqr_s >= 0 and s.number >= 1


def test_time_model_structure_and_conditions():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    before = [p.detach().clone() for p in model.parameters()]
    r = bench.time_model(model, torch.randn(4, 8), optimizer="sgd", **TINY)
    for stats in (r.forward, r.backward, r.step):
        _check_stats(stats, 3)
    assert r.device == "cpu" and r.device_name and r.torch_version == torch.__version__
    assert r.threads == torch.get_num_threads()
    # optimizer steps ran, yet the weights are put back and no grad is left behind
    for p, b in zip(model.parameters(), before, strict=True):
        torch.testing.assert_close(p, b, rtol=0, atol=0)
        assert p.grad is None
    d = r.to_dict()
    assert json.loads(json.dumps(d))["forward"]["runs"] == r.forward.runs


def test_time_model_options():
    r = bench.time_model(nn.Linear(4, 4), torch.randn(2, 4), backward=False, optimizer=None, **TINY)
    assert r.backward is None and r.step is None
    r = bench.time_model(
        nn.Linear(4, 4), torch.randn(2, 4), optimizer=lambda ps: torch.optim.Adam(ps), **TINY
    )
    assert r.step is not None
    old = torch.get_num_threads()
    assert bench.time_model(nn.Linear(4, 4), torch.randn(2, 4), threads=1, **TINY).threads == 1
    assert torch.get_num_threads() == old  # restored


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(device="meta"), "only 'cpu' and 'cuda'"),
        (dict(optimizer="rmsprop"), "optimizer='rmsprop'"),
        (dict(min_runs=0), "min_runs=0"),
        (dict(threads=0), "threads=0"),
    ],
)
def test_time_model_refuses_in_plain_words(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bench.time_model(nn.Linear(4, 4), torch.randn(2, 4), **{**TINY, **kwargs})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on machines without a GPU")
def test_cuda_without_gpu_is_refused_in_plain_words():
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        bench.time_model(nn.Linear(4, 4), torch.randn(2, 4), device="cuda", **TINY)
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        bench.measure_peak_memory(nn.Linear(4, 4), torch.randn(2, 4), device="cuda")


def test_backward_needs_something_trainable():
    frozen = nn.Linear(4, 4).requires_grad_(False)
    with pytest.raises(ValueError, match="no backward pass"):
        bench.time_model(frozen, torch.randn(2, 4), **TINY)
    with pytest.raises(ValueError, match="meta device"):
        bench.time_model(nn.Linear(4, 4, device="meta"), torch.randn(2, 4), **TINY)


def test_loss_sums_every_floating_output():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 5)

        def forward(self, x):
            return self.a(x), {"b": self.b(x), "ids": torch.arange(3)}  # ints are ignored

    m, x = TwoHeads(), torch.randn(2, 3)
    a, d = m(x)
    torch.testing.assert_close(scalar_loss((a, d)), a.sum() + d["b"].sum())
    bench.time_model(m, x, **TINY)  # backward through both heads runs


class _Fake:
    """A clock that only moves when a fake model runs: its cost per call, in call order."""

    def __init__(self) -> None:
        self.t = 0.0
        self.log: list[str] = []

    def __call__(self) -> float:
        return self.t


class _Costly(nn.Module):
    def __init__(self, name: str, costs: list[float], clock: _Fake) -> None:
        super().__init__()
        self.name, self.costs, self.clock = name, list(costs), clock
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, x):
        self.clock.log.append(self.name)
        self.clock.t += self.costs.pop(0)
        return x * self.w


def test_compare_interleaves_and_takes_the_median_of_per_turn_ratios():
    clock = _Fake()
    a = _Costly("A", [3.0, 3.0, 10.0], clock)
    b = _Costly("B", [1.0, 3.0, 1.0], clock)
    c = bench.compare(
        a, b, torch.ones(1), backward=False, warmup=0, number=1, min_runs=3, min_time_s=0, clock=clock
    )
    assert clock.log == ["A", "B", "A", "B", "A", "B"]  # turns, not A A A B B B
    f = c.forward
    assert f.shared.times == (3.0, 3.0, 10.0) and f.unshared.times == (1.0, 3.0, 1.0)
    assert f.turns == (1 / 3, 1.0, 0.1)  # twin / shared per turn: 1/3, 3/3, 1/10
    assert f.twin_over_shared == 1 / 3  # median of (0.1, 1/3, 1)
    assert f.twin_over_shared_iqr == pytest.approx((1 / 3 + 1) / 2 - (0.1 + 1 / 3) / 2)  # percentiles 25/75
    with pytest.warns(DeprecationWarning, match="twin_over_shared"):
        assert f.ratio == 3.0  # the old direction, shared / twin: median of (3, 1, 10)
    with pytest.warns(DeprecationWarning, match="twin_over_shared_iqr"):
        assert f.ratio_iqr == 4.5  # percentiles 25/75 of (1, 3, 10): 2.0 and 6.5
    with pytest.warns(DeprecationWarning, match="turns"):
        assert f.ratios == pytest.approx((3.0, 1.0, 10.0))
    assert f.shared.median_s == 3.0 and f.shared.iqr_s == 3.5  # (3, 3, 10): 3.0 and 6.5


def test_measurement_runs_until_both_min_runs_and_min_time():
    clock = _Fake()

    def call():
        clock.t += 1.0

    (s,) = bench.measure_interleaved([call], warmup=0, number=1, min_runs=2, min_time_s=4.5, clock=clock)
    assert s.runs == 5  # 2 runs are not enough: 5 x 1.0 s >= 4.5 s

    def quick():
        clock.t += 2.0**-12  # about 0.24 ms, exact in binary

    (s,) = bench.measure_interleaved(
        [quick], warmup=2, min_runs=3, min_time_s=0, block_s=2.0**-10, clock=clock
    )
    assert s.number == 4 and s.median_s == 2.0**-12  # 4 calls fill the block of 2**-10 s


def test_compare_real_models_structure():
    shared, unshared = psv.zoo.pair("conv", image_size=6)
    c = bench.compare(shared, unshared, psv.zoo.example_input("conv", image_size=6), optimizer="adam", **TINY)
    for pair in (c.forward, c.backward, c.step):
        _check_stats(pair.shared, 3)
        _check_stats(pair.unshared, 3)
        assert len(pair.turns) == pair.shared.runs and pair.twin_over_shared > 0 and pair.twin_over_shared_iqr >= 0
    assert c.threads == torch.get_num_threads()
    json.dumps(c.to_dict())


# --- FLOPs: sharing saves parameters, not compute -----------------------------------------------

#: form -> (overrides, forward FLOPs equal?, why they differ). count_flops counts 2 FLOPs per
#: multiply-add of matmul-like ops only (mm, bmm, convolution...); gathers and elementwise ops are 0.
FLOP_CASES = {
    "conv": ({}, True, ""),  # conv and locally connected do the same multiply-adds at every position
    "patch_embed": ({}, True, ""),
    "rnn": ({}, True, ""),  # one cell per step either way
    "ssm": ({}, True, ""),
    "albert": ({}, True, ""),  # one block run L times == L blocks run once
    "universal_transformer": ({}, True, ""),
    "tied_embeddings": ({}, True, ""),  # the head's matmul runs whether its weight is tied or not
    "tied_autoencoder": ({}, True, ""),
    "siamese": ({}, True, ""),
    # hashednet: equal here, but the shared model also gathers its virtual weight from the buckets
    # (an indexing op: 0 FLOPs, yet memory traffic and time)
    "hashednet": ({}, True, ""),
    "multitask": ({}, False, "the shared encoder runs once for all tasks; the twin runs one per task"),
    "gqa": ({}, False, "K/V projections produce groups heads instead of num_heads: fewer multiply-adds"),
    "lora": ({}, False, "the frozen base runs once for all tasks (plus small adapters); the twin runs N"),
}


@pytest.mark.parametrize("form", sorted(FLOP_CASES))
def test_flops_equal_where_sharing_only_cuts_parameters(form):
    overrides, equal, _why = FLOP_CASES[form]
    shared, unshared = psv.zoo.pair(form, **overrides)
    x = psv.zoo.example_input(form, **overrides)
    a = count_flops(shared, x, backward=True)
    b = count_flops(unshared, x, backward=True)
    if equal:
        assert (a.forward, a.backward) == (b.forward, b.backward)
    else:
        assert a.forward < b.forward  # sharing here also saves compute


def test_flops_literal_conv_rnn():
    s, u = psv.zoo.pair("conv")
    x = psv.zoo.example_input("conv")  # (2, 3, 8, 8), padding 1: 8x8 = 64 output positions
    # 2 FLOPs * N=2 * C_out=8 * 64 positions * (C_in=3 * 3 * 3) = 55296, conv and locally connected
    assert count_flops(s, x).forward == count_flops(u, x).forward == 55296
    # backward: only the weight gradient (the input needs none): the same 55296 multiply-adds x 2
    assert count_flops(s, x, backward=True).backward == count_flops(u, x, backward=True).backward == 55296
    s, u = psv.zoo.pair("rnn")
    x = psv.zoo.example_input("rnn")
    # 5 steps * (2*N=2*I=4*H=8 input + 2*2*8*8 hidden) = 5 * (128 + 256) = 1920
    assert count_flops(s, x, backward=True).forward == count_flops(u, x, backward=True).forward == 1920


# --- measured peak memory ----------------------------------------------------------------------


def test_peak_memory_known_answer_linear_forward():
    lin = nn.Linear(8, 16, bias=False)
    peak = bench.measure_peak_memory(lin, torch.randn(4, 8), backward=False)
    assert peak.method == "dispatch-tracked tensors"
    assert peak.pass_peak_bytes == 4 * 16 * 4  # the (4, 16) float32 output; weight.t() is a view
    assert peak.baseline_bytes == 16 * 8 * 4 + 4 * 8 * 4  # weight 512 + input 128
    assert peak.peak_bytes == 896


def test_peak_memory_known_answer_linear_backward():
    lin = nn.Linear(8, 16, bias=False)
    peak = bench.measure_peak_memory(lin, torch.randn(4, 8), backward=True)
    # forward: y (4,16) 256 B, loss 4 B; y is freed once summed (sum saves no input).
    # backward: grad of loss (ones, 4 B) + weight grad mm (16, 8) 512 B alive with the loss: 4 + 4 + 512
    assert peak.pass_peak_bytes == 520
    assert lin.weight.grad is None  # cleared afterwards


def test_live_tensor_bytes_frees_and_keeps_saved_activations():
    with bench.LiveTensorBytes() as mem:
        a = torch.ones(256)  # 1 KiB
        b = a * 2  # 1 KiB
        del a
        assert mem.live == 1024
        c = b.view(16, 16)  # a view allocates nothing
        assert mem.live == 1024 and mem.peak == 2048
    del b, c


@needs_cuda
def test_peak_memory_cuda():
    peak = bench.measure_peak_memory(nn.Linear(256, 256), torch.randn(64, 256), device="cuda")
    assert peak.method == "cuda.max_memory_allocated" and peak.pass_peak_bytes >= 64 * 256 * 4


@needs_cuda
def test_time_model_cuda():
    r = bench.time_model(nn.Linear(64, 64), torch.randn(8, 64), device="cuda", optimizer="adam", **TINY)
    assert r.device.startswith("cuda") and r.device_name == torch.cuda.get_device_name()
    _check_stats(r.step, 3)


# --- roofline ----------------------------------------------------------------------------------


def test_bytes_moved_known_answer():
    lin = nn.Linear(8, 16, bias=False)
    moved = bench.count_bytes(lin, torch.randn(4, 8))
    # one mm: reads x (4*8*4 = 128 B) and the weight (512 B, once), writes y (4*16*4 = 256 B)
    assert (moved.param_bytes, moved.activation_bytes, moved.bytes_moved) == (512, 384, 896)


def test_conv_has_higher_intensity_than_locally_connected():
    s, u = psv.zoo.pair("conv", in_channels=8, out_channels=16, image_size=16)
    x = psv.zoo.example_input("conv", in_channels=8, out_channels=16, image_size=16)
    flops = count_flops(s, x).forward
    assert flops == count_flops(u, x).forward
    p_s = bench.roofline_point(s, x, kind="shared", time_s=1.0)
    p_u = bench.roofline_point(u, x, kind="unshared", time_s=1.0)
    assert p_s.flops == p_u.flops == flops
    # the conv reads one 8*16*9 kernel; the twin reads 256 of them (and an unfolded input)
    assert p_s.intensity > 10 * p_u.intensity
    assert p_s.achieved_flops == flops  # flops / 1.0 s


def test_measure_roof_is_cached(monkeypatch):
    monkeypatch.setitem(roofline.ROOF_SIZES, "cpu", (64, (1, 8, 8), 1 << 16))  # tiny: tests plumbing only
    roof = bench.measure_roof("cpu", refresh=True)
    assert (
        roof.peak_flops > 0 and roof.bandwidth_bytes_per_s > 0 and roof.peak_kernel in ("matmul", "conv3x3")
    )
    assert bench.measure_roof("cpu") is roof
    assert roof.attainable(roof.ridge_intensity) == pytest.approx(roof.peak_flops)
    assert roof.attainable(roof.ridge_intensity / 2) == pytest.approx(roof.peak_flops / 2)
    roofline._ROOFS.clear()  # do not leave a tiny-problem roof behind


def test_roofline_figure():
    roof = bench.Roof(1e11, 1e10, "cpu", "test CPU")
    points = [
        bench.RooflinePoint("conv", "shared", 10**8, 10**6, 10**6, 0.01),
        bench.RooflinePoint("locally connected", "unshared", 10**8, 10**8, 10**8, 0.1),
    ]
    assert points[0].intensity == 100 and points[1].intensity == 1
    fig = bench_figures.make_roofline_figure(points, roof)
    assert [t.name for t in fig.data] == ["roof", "conv", "locally connected"]
    assert fig.layout.xaxis.type == "log" and max(fig.data[0].y) == 1e11


# --- sweeps ------------------------------------------------------------------------------------


def test_sweep_all_measures_rows_csv_html(tmp_path):
    seen = []
    r = bench.sweep("conv", "image_size", [4, 6], progress=lambda i, n, row: seen.append((i, n)), timing=TINY)
    assert seen == [(1, 2), (2, 2)] and not r.cancelled
    assert [row["image_size"] for row in r.rows] == [4, 6]
    for row in r.rows:
        assert row["flops_fwd_shared"] == row["flops_fwd_unshared"]
        assert row["params_shared"] == 224  # 8 * 3*3*3 + 8
        assert row["train_mem_unshared"] > row["train_mem_shared"]
        assert row["intensity_shared"] > row["intensity_unshared"]
        assert row["peak_method"] == "dispatch-tracked tensors"
        assert row["time_fwd_twin_over_shared"] > 0 and row["time_bwd_twin_over_shared_iqr"] >= 0
        assert not any("ratio" in key for key in row)  # every ratio column names its direction
    assert r.rows[1]["params_unshared"] == 36 * 224  # 6x6 positions, a kernel each
    path = r.to_csv(tmp_path / "sweep.csv")
    lines = list(csv.DictReader(path.open()))
    assert len(lines) == 2 and lines[1]["image_size"] == "6"
    json.dumps(r.to_dict())
    for metric in bench_figures.SWEEP_METRICS:
        fig = bench_figures.make_sweep_figure(r, metric=metric)
        assert len(fig.data) >= 1
    html = tmp_path / "sweep.html"
    bench_figures.make_sweep_figure(r.to_dict(), metric="time").write_html(html)
    assert "plotly" in html.read_text()[:5000].lower()
    fig = bench_figures.make_compare_figure(r.rows[0])
    assert [t.name for t in fig.data] == ["twin ÷ shared"]
    assert list(fig.data[0].x)[:2] == ["parameters", "parameters + buffers"]


def test_sweep_cancel_after_first_point():
    stop = threading.Event()
    r = bench.sweep(
        "conv",
        "image_size",
        [4, 6, 8],
        measure=("params",),
        progress=lambda i, n, row: stop.set(),
        cancel=stop,
    )
    assert len(r.rows) == 1 and r.cancelled
    r = bench.sweep("conv", "image_size", [4, 6], measure=("params",), cancel=lambda: True, bar=False)
    assert r.rows == [] and r.cancelled


def test_sweep_validates_every_value_first():
    calls = []
    with pytest.raises(ValueError, match="image_size=0"):
        bench.sweep("conv", "image_size", [4, 0], measure=("params",), progress=lambda *a: calls.append(a))
    assert calls == []
    with pytest.raises(ValueError, match="unknown config field"):
        bench.sweep("conv", "depth", [1], measure=("params",), bar=False)
    with pytest.raises(ValueError, match="empty"):
        bench.sweep("conv", "image_size", [], bar=False)
    with pytest.raises(ValueError, match="measure="):
        bench.sweep("conv", "image_size", [4], measure=("speed",), bar=False)
    with pytest.raises(ValueError, match="metric="):
        bench_figures.make_sweep_figure(bench.SweepResult("conv", "image_size", [4]), metric="colour")


def test_sweep_figure_refuses_unmeasured_metric():
    r = bench.sweep("conv", "image_size", [4], measure=("params",), bar=False)
    with pytest.raises(ValueError, match="not measured"):
        bench_figures.make_sweep_figure(r, metric="time")


# --- which timed ratios are noisy: a pure rule on the recorded turns ------------------------------


def _pair(shared: list[float], twin: list[float]) -> bench.PairTiming:
    return bench.PairTiming.from_stats(bench.Stats.from_times(shared), bench.Stats.from_times(twin))


def test_steady_turns_are_not_noisy():
    # twin / shared per turn: 2.0, 2.1, 1.9 -> median 2.0, IQR 2.05 - 1.95 = 0.1 (5% of it); medians 2.0 / 1.0
    pair = _pair([1.0, 1.0, 1.0], [2.0, 2.1, 1.9])
    assert pair.twin_over_shared == 2.0 and pair.noise == ""


def test_a_wide_spread_of_turns_is_noisy():
    # twin / shared per turn: 1, 4, 0.25 -> median 1, IQR (4 + 1)/2 - (0.25 + 1)/2 = 1.875 = 188% of it
    pair = _pair([1.0, 1.0, 4.0], [1.0, 4.0, 1.0])
    assert pair.noise == "noisy: its IQR is 188% of it"


def test_a_ratio_that_contradicts_its_medians_is_noisy():
    # The row (L=2): medians 216 us shared and 1.84 ms twin beside a ratio of 0.951x. Here nine
    # turns: per turn twin / shared = 1 seven times and 1/9 twice (median 1, IQR 0: steady turns), yet
    # the medians are 9 shared and 1 twin, a ratio of 1/9 = 0.111x, far from 1.
    pair = _pair([1.0, 1.0, 1.0, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0], [1.0, 1.0, 1.0, 1.0, 9.0, 9.0, 9.0, 1.0, 1.0])
    assert (pair.twin_over_shared, pair.twin_over_shared_iqr) == (1.0, 0.0)
    assert (pair.shared.median_s, pair.unshared.median_s) == (9.0, 1.0)
    assert pair.noise == "noisy: the medians' ratio is 0.111x"


# --- memory counts buffers ------------------------------------------------------------------------


def test_hashednet_memory_counts_its_index_buffer():
    """Chen et al.'s 784 -> 1000 layer at 1/64: 12,250 buckets + 1,000 bias = 13,250 parameters (53,000 B),
    beside an int64 index map and an int8 sign map of 1000 x 784 entries each."""
    shared, unshared = psv.zoo.pair("hashednet", **psv.zoo.presets("hashednet")["784 -> 1000 at 1/64"])
    index, sign = 1000 * 784 * 8, 1000 * 784 * 1  # 6,272,000 B and 784,000 B
    row = bench.measure_pair(shared, unshared, None, measure=("params",))
    assert row["param_bytes_shared"] == 13_250 * 4 == 53_000
    assert row["buffer_bytes_shared"] == index + sign == 7_056_000
    assert row["held_bytes_shared"] == 53_000 + 7_056_000  # more than the twin's 785,000 * 4 = 3,140,000
    assert (row["buffer_bytes_unshared"], row["held_bytes_unshared"]) == (0, 3_140_000)
    led = psv.analysis.training_memory(shared, "adam").shared
    # 53,000 params + 7,056,000 buffers + 53,000 grads + 2 * 53,000 moments + 2 tensors * 4 B step
    assert (led.params, led.buffers, led.total) == (53_000, 7_056_000, 53_000 + 7_056_000 + 53_000 + 106_000 + 8)


def test_a_buffer_under_two_names_counts_once_and_a_form_without_buffers_is_unchanged():
    m = nn.Module()
    m.a, m.b = nn.Linear(2, 2), nn.Module()
    m.a.register_buffer("table", torch.zeros(10))  # 40 B
    m.b.register_buffer("table", m.a.table)  # the same tensor under a second name
    led = psv.analysis.training_memory(m, "sgd")
    assert led.shared.buffers == 40 and led.untied.buffers == 80  # untied: each name its own copy
    assert led.shared.total == 24 + 40 + 24  # 6 parameters (24 B) + 40 B buffer + 24 B grads
    conv = psv.analysis.training_memory(psv.zoo.build("conv", image_size=4), "adam").shared
    assert conv.buffers == 0 and conv.total == conv.params + conv.grads + conv.optimizer_state
