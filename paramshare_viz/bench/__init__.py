"""Measure what sharing costs and saves: time, memory, FLOPs and the roofline, on CPU or GPU.

Sharing cuts parameters, not compute: ALBERT runs as many FLOPs as BERT, and a
convolution as many multiply-adds as its locally connected twin; what changes
is how often each weight byte is reused (arithmetic intensity), hence speed.

>>> import paramshare_viz as psv
>>> shared, unshared = psv.zoo.pair("conv")
>>> x = psv.zoo.example_input("conv")
>>> c = psv.bench.compare(shared, unshared, x, min_runs=3, min_time_s=0.0)
>>> c.forward.twin_over_shared > 0  # median over turns of twin time / shared time
True

FLOPs of shared vs twin (``count_flops``, matmul-like ops only): equal for conv,
patch_embed, rnn, ssm, albert, universal_transformer, tied_embeddings,
tied_autoencoder, siamese and hashednet (whose gather of the virtual weight from
its buckets counts 0 FLOPs but costs memory traffic and time); fewer for the
shared model of multitask (one encoder for all tasks instead of one per task),
gqa (K/V projections to ``groups`` heads instead of ``num_heads``) and lora (the
frozen base runs once for all tasks, plus small adapters). tests/test_bench.py
holds this table.

Timing on a busy machine: with several intra-op threads, every parallel region
waits for its slowest thread, so another process on a core can make a forward
tens of times slower for a while. Pass ``threads=1`` for stable figures on
shared machines (the CLI's default); the result records the thread count, and a
ratio whose turns disagree is marked noisy (:func:`~.compare.timing_noise`).

Every ratio reads twin ÷ shared: ``PairTiming.twin_over_shared``, row columns
``time_fwd_twin_over_shared``; above 1 the twin takes more (time, bytes, FLOPs).

Modules: :mod:`~.timing` (``time_model``, ``Stats``), :mod:`~.compare` (turns,
per-turn ratio), :mod:`~.memory` (measured peak), :mod:`~.roofline` (roofs,
bytes moved, points), :mod:`~.sweep` (a knob's values, rows, CSV).
"""

from paramshare_viz.bench._workload import environment, fixed_threads
from paramshare_viz.bench.compare import NOISY_SPREAD, Comparison, PairTiming, compare, timing_noise
from paramshare_viz.bench.memory import LiveTensorBytes, PeakMemory, measure_peak_memory
from paramshare_viz.bench.roofline import (
    BytesMoved,
    Roof,
    RooflinePoint,
    count_bytes,
    measure_roof,
    roofline_point,
)
from paramshare_viz.bench.sweep import MEASURES, SweepResult, measure_pair, sweep, write_csv
from paramshare_viz.bench.timing import Stats, TimingResult, measure_interleaved, time_model

__all__ = [
    "BytesMoved",
    "Comparison",
    "LiveTensorBytes",
    "MEASURES",
    "NOISY_SPREAD",
    "PairTiming",
    "PeakMemory",
    "Roof",
    "RooflinePoint",
    "Stats",
    "SweepResult",
    "TimingResult",
    "compare",
    "count_bytes",
    "environment",
    "fixed_threads",
    "measure_interleaved",
    "measure_pair",
    "measure_peak_memory",
    "measure_roof",
    "roofline_point",
    "sweep",
    "time_model",
    "timing_noise",
    "write_csv",
]
