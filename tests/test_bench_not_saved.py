"""What sharing does not save, and what memory counts: the Explore cards and Compare's summary, from the engines."""

from __future__ import annotations

import re

import pytest
import torch

import paramshare_viz as psv
from paramshare_viz.analysis.savings import not_saved, verdict
from paramshare_viz.analysis.twin_counts import twin_counts
from paramshare_viz.bench.roofline import Roof
from paramshare_viz.bench.twins import measure_twins
from paramshare_viz.plots.compare_table import compare_table_html, summary_lines
from paramshare_viz.views.explore import explore_bars, explore_cards, reuse_note

HASHED = psv.zoo.presets("hashednet")["784 -> 1000 at 1/64"]  # 784 -> 1000, 12,250 buckets


def cards_of(counts):
    return explore_cards(counts, explore_bars(counts), reuse_note(counts))


def _not_saved(form: str, **overrides):
    c = twin_counts(form, **overrides)
    return c, not_saved(form, c.config, c.shared, c.unshared, torch.float32)


def test_albert_saves_parameters_not_flops_or_activations():
    counts, n = _not_saved("albert")
    assert n.flops is not None and n.flops[0] == n.flops[1]  # one block run L times == L blocks run once
    assert n.activation_bytes[0] == n.activation_bytes[1]
    figures = [("parameters", counts.ratio, False), *n.figures()]
    assert verdict(figures, lambda r: f"{r:.3g}x") == (
        f"Saves: parameters {counts.ratio:.3g}x. Does not save: forward FLOPs 1x; activations + temporaries 1x."  # noqa: E501
    )


def test_gqa_shows_the_kv_cache_it_saves():
    # default gqa: hidden 32, 8 query heads, 2 K/V heads, head_dim 32 / 8 = 4, one layer, float32 (4 B)
    _, n = _not_saved("gqa")
    assert n.kv is not None and (n.kv.context, n.kv.batch) == (4096, 1)
    assert n.kv.shared_bytes == 2 * 1 * 2 * 4 * 4096 * 1 * 4 == 262_144  # keys + values, 2 K/V heads
    assert n.kv.twin_bytes == 2 * 1 * 8 * 4 * 4096 * 1 * 4 == 1_048_576  # 8 K/V heads
    cards = {c.key: c for c in cards_of(twin_counts("gqa"))}
    assert cards["kv_cache"].value == "4.0× the shared model"
    assert cards["kv_cache"].note == "keys + values kept for 4,096 tokens, batch 1, float32, 1 layer: 256.0 KiB vs twin 1.0 MiB"


def test_lora_says_what_the_frozen_base_still_costs():
    # default lora: a frozen 32 -> 32 base with bias (32*32 + 32 = 1,056), run on a batch of 2:
    # 2 * 2 * 32 * 32 = 4,096 FLOPs every forward, though it gets no gradient or optimizer state
    _, n = _not_saved("lora")
    assert (n.frozen_params, n.frozen_flops) == (1_056, 4_096)
    assert any("frozen base: 1,056 parameters" in line and "(4,096 FLOPs)" in line for line in n.lines())


def test_hashednet_memory_card_counts_the_index_buffer_and_conv_is_unchanged():
    cards = {c.key: c for c in cards_of(twin_counts("hashednet", **HASHED))}
    # 13,250 parameters * 4 B = 53,000 B; index 1000*784 int64 = 6,272,000 B; sign 1000*784 int8 = 784,000 B
    # 53,000 + 6,272,000 + 784,000 = 7,109,000 B = 6.78 MiB; the twin: 785,000 * 4 B = 3,140,000 B = 3.0 MiB
    assert cards["bytes"].title == "Memory held (float32)" and cards["bytes"].value == "6.8 MiB"
    assert cards["bytes"].note.startswith("parameters + buffers; twin: 3.0 MiB (buffers 6.7 MiB vs 0 B")
    conv = {c.key: c for c in cards_of(twin_counts("conv"))}
    assert conv["bytes"].value == "896 B"  # 224 parameters * 4 B, no buffers: as before
    assert conv["bytes"].note == "parameters + buffers; twin: 56.0 KiB"


def test_show_and_inspect_memory_cards_count_buffers_too():
    from paramshare_viz.app.show import model_cards

    shared = twin_counts("hashednet", **HASHED).shared
    card = {c.key: c for c in model_cards(shared)}["bytes"]
    # The same 7,109,000 B as Explore's card: 53,000 B of parameters + 7,056,000 B of index and sign buffers.
    assert shared.held_bytes == 7_109_000
    assert (card.title, card.value) == ("Memory held", "6.8 MiB")
    assert card.note == "parameters + buffers; parameters counted per name: 51.8 KiB (buffers 6.7 MiB, parameters 51.8 KiB)"


@pytest.fixture
def fixed_roof(monkeypatch):
    monkeypatch.setattr("paramshare_viz.bench.twins.measure_roof", lambda *a, **k: Roof(1e11, 1e10, "cpu", "test CPU"))


def test_hashednet_compare_says_why_the_peak_points_the_other_way(fixed_roof):
    m = measure_twins("hashednet", threads=1, timing=dict(warmup=1, min_runs=3, min_time_s=0.0), **HASHED)
    r = m.row
    assert r["held_bytes_shared"] == 53_000 + 7_056_000 and r["held_bytes_unshared"] == 3_140_000
    adam_shared, adam_twin = m.ledgers["adam"]
    assert adam_shared.buffers == 7_056_000 and adam_shared.total < adam_twin.total  # predicted: twin needs more
    assert r["peak_shared"] > r["peak_unshared"]  # measured: the shared model peaks higher
    lines = summary_lines(m)
    assert lines[1].startswith(
        "The ledger predicts the twin needs more memory, yet the shared model measured the larger peak: "
        "the shared model holds 6.7 MiB more buffers (counted in both)"
    )
    table = compare_table_html(m)
    assert "The ledger predicts the twin needs more memory" in table
    row = re.search(r"data-key='held_bytes'>(.*?)</tr>", table).group(1)
    assert "6.8 MiB" in row and "3.0 MiB" in row and "0.442x" in row  # 3,140,000 / 7,109,000
    assert lines[0].startswith("Twin ÷ shared here. Saves: parameters 59.2x.")  # 785,000 / 13,250
    achieved = re.search(r"data-key='achieved'>(.*?)</tr>", table).group(1)
    assert re.search(r"\d [kMG]?FLOP/s", achieved) and not re.search(r"\d[kMG]?FLOP/s", achieved)  # "5 GFLOP/s"


def test_lora_compare_says_the_frozen_base_still_runs(fixed_roof):
    # default lora: the frozen base holds 32*32 + 32 = 1,056 parameters = 4,224 B of the shared model's
    # 1,824 * 4 = 7,296 B; it gets no gradient (SGD ledger: params 7,296 B, grads 3,072 B)
    m = measure_twins("lora", threads=1, timing=dict(warmup=1, min_runs=3, min_time_s=0.0))
    sgd = m.ledgers["sgd"][0]
    assert (sgd.params, sgd.grads) == (7_296, 7_296 - 4_224)
    frozen = [line for line in summary_lines(m) if line.startswith("The shared model's frozen parameters")]
    assert frozen and frozen[0].startswith("The shared model's frozen parameters (4.1 KiB of 7.1 KiB) get no gradient")
