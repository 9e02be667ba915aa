"""twin_counts: both sides of a zoo form analysed, cached by frozen config."""

from __future__ import annotations

import pytest
import torch

from paramshare_viz.analysis.twin_counts import twin_counts


def test_counts_both_sides_with_runtime_reuse():
    counts = twin_counts("rnn", seq_len=7)
    # RNN cell: H*I + H*H + 2H = 8*4 + 8*8 + 16 = 112, plus h0 (8) = 120; the twin has 7 cells + h0.
    assert (counts.shared.unique_params, counts.unshared.unique_params) == (120, 7 * 112 + 8)
    assert counts.shared.calls["cell"] == 7
    assert counts.ratio == pytest.approx(792 / 120)


def test_same_setting_is_a_cache_hit():
    assert twin_counts("albert", num_layers=3) is twin_counts("albert", num_layers=3)
    assert twin_counts("albert", num_layers=3) is not twin_counts("albert", num_layers=3, dtype="float64")


def test_dtype_sets_the_bytes():
    # conv default: 8*3*3*3 + 8 = 224 parameters
    assert twin_counts("conv", dtype="float64").shared.unique_bytes == 224 * 8
    assert twin_counts("conv", dtype="bfloat16").shared.unique_bytes == 224 * 2


def test_meta_counts_without_running():
    counts = twin_counts("albert", device="meta", hidden_size=768, num_heads=12, intermediate_size=3072)
    assert counts.shared.calls is None and counts.device == "meta"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dtype": "float8"}, "dtype='float8'"),
        ({"kernel_size": 0}, "kernel_size=0"),
        ({"colour": 3}, "unknown config field"),
    ],
)
def test_bad_settings_name_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        twin_counts("conv", **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when there is no GPU")
def test_cuda_without_a_gpu_is_a_plain_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        twin_counts("conv", device="cuda")
