"""Wall-clock timing of a model: warm-up, blocks, adaptive repeats, median and IQR.

The method follows ``torch.utils.benchmark.Timer.blocked_autorange``: each
*run* times a block of ``number`` back-to-back calls (``number`` chosen after
warm-up so one block lasts at least ``block_s``, which makes the clock's and
the GPU synchronisation's overhead negligible) and records the time per call;
runs repeat until both ``min_runs`` runs and ``min_time_s`` seconds of timed
work are done. On CUDA the device is synchronised before the clock starts and
before it stops, so each run covers the kernels it queued.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from paramshare_viz.bench._workload import (
    OptimizerSpec,
    Workload,
    environment,
    fixed_threads,
    make_optimizer,
    record_dict,
    synchronizer,
)
from paramshare_viz.bench.table import fmt_seconds
from paramshare_viz.display import Table, TableRepr
from paramshare_viz.units import plural

Clock = Callable[[], float]

#: Defaults for one careful measurement (``time_model``); sweeps pass shorter budgets.
WARMUP = 3
MIN_RUNS = 10
MIN_TIME_S = 0.2
#: Shortest block of calls per run: 1 ms keeps ``perf_counter`` overhead (~0.1 us) under 1e-4;
#: 5 ms keeps a CUDA synchronisation (~10 us) under 0.2 %.
BLOCK_S = {"cpu": 1e-3, "cuda": 5e-3}


@dataclass(frozen=True)
class Stats:
    """Distribution of the time per call over the runs of one measurement.

    Attributes:
        median_s: median over runs of the seconds per call.
        iqr_s: interquartile range (75th - 25th percentile, linear interpolation) of the same.
        runs: number of runs (blocks) timed.
        number: calls per run; each entry of ``times`` is a block's time divided by it.
        times: seconds per call of each run, in the order measured.
    """

    median_s: float
    iqr_s: float
    runs: int
    number: int = 1
    times: tuple[float, ...] = field(default=(), repr=False)

    @classmethod
    def from_times(cls, times: Sequence[float], number: int = 1) -> Stats:
        if not times:
            raise ValueError("no runs were timed")
        arr = np.asarray(times, dtype=float)
        q25, q50, q75 = np.percentile(arr, [25, 50, 75])
        return cls(float(q50), float(q75 - q25), len(arr), number, tuple(float(t) for t in arr))

    @property
    def min_s(self) -> float:
        return min(self.times)

    @property
    def max_s(self) -> float:
        return max(self.times)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["times"] = list(self.times)
        return d


def conditions(obj: Any) -> str:
    """The line under every timing table: where and how it was measured."""
    return f"{obj.device} ({obj.device_name}), {plural(obj.threads, 'thread')}, torch {obj.torch_version}"


@dataclass(frozen=True)
class TimingResult(TableRepr):
    """What :func:`time_model` measured, with the conditions needed to read it.

    Attributes:
        forward: inference forward (``torch.no_grad()``).
        backward: forward + backward of ``sum(outputs)`` (``None`` when ``backward=False``).
        step: zero_grad + forward + backward + ``optimizer.step()`` (``None`` without an optimizer).
        device: ``"cpu"`` or ``"cuda:0"``...
        device_name: CPU model or GPU name.
        torch_version: ``torch.__version__``.
        threads: intra-op CPU threads (``torch.get_num_threads()``) held during the measurement.
    """

    forward: Stats
    backward: Stats | None
    step: Stats | None
    device: str
    device_name: str
    torch_version: str
    threads: int

    def _as_table(self) -> Table:
        kinds = (("forward", self.forward), ("forward + backward", self.backward), ("optimizer step", self.step))
        rows = [[label, fmt_seconds(s.median_s, s.iqr_s), f"{s.runs:,}"] for label, s in kinds if s is not None]
        return Table("TimingResult: seconds per call", ["", "median ± IQR", "runs"], rows, [conditions(self)])

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


def measure_interleaved(
    fns: Sequence[Callable[[], Any]],
    *,
    warmup: int = WARMUP,
    min_runs: int = MIN_RUNS,
    min_time_s: float = MIN_TIME_S,
    number: int | None = None,
    block_s: float = BLOCK_S["cpu"],
    sync: Callable[[], None] = lambda: None,
    clock: Clock = time.perf_counter,
) -> list[Stats]:
    """Time several callables in turns (A B A B ...), one :class:`Stats` each.

    Interleaving exposes every callable to the same machine noise (frequency
    changes, other processes), so their ratio run by run is fair.

    Args:
        fns: the callables; each is called with no arguments.
        warmup: untimed calls of each before measuring (at least one when ``number`` is None:
            the fastest warm-up call sets the block size).
        min_runs: fewest runs of each.
        min_time_s: least timed seconds of each; runs go on until both limits are met.
        number: calls per run; ``None`` picks, per callable, enough to last ``block_s``.
        block_s: shortest block when ``number`` is None.
        sync: called before starting and before stopping the clock (``torch.cuda.synchronize``).
        clock: seconds as a float (``time.perf_counter``); injectable for tests.
    """
    if min_runs < 1:
        raise ValueError(f"min_runs={min_runs!r} must be at least 1")
    if warmup < 0 or min_time_s < 0:
        raise ValueError(f"warmup={warmup!r} and min_time_s={min_time_s!r} must not be negative")
    if number is not None and number < 1:
        raise ValueError(f"number={number!r} must be at least 1")

    def timed(fn: Callable[[], Any], n: int) -> float:
        sync()
        start = clock()
        for _ in range(n):
            fn()
        sync()
        return clock() - start

    numbers: list[int] = []
    for fn in fns:
        warm = [timed(fn, 1) for _ in range(max(warmup, 1 if number is None else 0))]
        if number is None:
            numbers.append(max(1, math.ceil(block_s / max(min(warm), 1e-9))))
        else:
            numbers.append(number)

    times: list[list[float]] = [[] for _ in fns]
    totals = [0.0] * len(fns)
    while min(len(t) for t in times) < min_runs or min(totals) < min_time_s:
        for i, fn in enumerate(fns):
            elapsed = timed(fn, numbers[i])
            totals[i] += elapsed
            times[i].append(elapsed / numbers[i])
    return [Stats.from_times(t, n) for t, n in zip(times, numbers, strict=True)]


def time_model(
    model: nn.Module,
    example_input: Any,
    *,
    device: str | torch.device = "cpu",
    backward: bool = True,
    optimizer: OptimizerSpec | None = None,
    warmup: int = WARMUP,
    min_runs: int = MIN_RUNS,
    min_time_s: float = MIN_TIME_S,
    number: int | None = None,
    threads: int | None = None,
    clock: Clock = time.perf_counter,
) -> TimingResult:
    """Median and IQR of the forward, forward + backward and optimizer-step time of ``model``.

    Args:
        model: moved to ``device`` in place; parameters are restored after optimizer steps.
        example_input: a tensor, a tuple of positional tensors or a dict of keyword tensors.
        device: ``"cpu"`` or ``"cuda"`` (``ValueError`` when no GPU is present).
        backward: also time forward + backward of ``sum(outputs)``.
        optimizer: ``"sgd"``, ``"adam"`` or ``factory(params) -> Optimizer``: also time a full step.
        warmup, min_runs, min_time_s, number: see :func:`measure_interleaved`.
        threads: intra-op CPU threads to hold during the measurement (``None``: as they are).
        clock: injectable clock for tests.

    >>> r = time_model(nn.Linear(8, 8), torch.randn(4, 8), min_runs=3, min_time_s=0.0)
    >>> r.forward.runs >= 3 and r.backward.median_s > 0
    True
    """
    work = Workload.make(model, example_input, device)
    kw: dict[str, Any] = dict(
        warmup=warmup,
        min_runs=min_runs,
        min_time_s=min_time_s,
        number=number,
        block_s=BLOCK_S[work.device.type],
        sync=synchronizer(work.device),
        clock=clock,
    )
    with fixed_threads(threads):
        (fwd,) = measure_interleaved([work.forward], **kw)
        bwd = measure_interleaved([work.backward], **kw)[0] if backward else None
        work.clear_grads()
        step = None
        if optimizer is not None:
            with work.restoring_parameters():
                opt = make_optimizer(optimizer, work.model)
                (step,) = measure_interleaved([work.step_fn(opt)], **kw)
        # inside the block: environment() records the thread count held while measuring
        return TimingResult(forward=fwd, backward=bwd, step=step, **environment(work.device))
