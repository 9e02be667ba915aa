"""Shared model vs its unshared twin, timed in turns (A B A B ...) with a per-pair ratio.

Timing the two models one after the other lets a slow minute of the machine
land on one side only; timing them in turns exposes both to the same noise,
and the ratio of each adjacent pair of runs cancels most of it. The reported
ratio is the median of those per-pair ratios, its spread their IQR.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from paramshare_viz.bench.table import fmt_seconds, twin_over_shared
from paramshare_viz.bench.timing import (
    BLOCK_S,
    MIN_RUNS,
    MIN_TIME_S,
    WARMUP,
    Clock,
    Stats,
    conditions,
    measure_interleaved,
)
from paramshare_viz.display import Table, TableRepr


@dataclass(frozen=True)
class PairTiming:
    """One kind of work (forward, backward or step) timed on both models in turns.

    Attributes:
        shared, unshared: each side's :class:`Stats`.
        ratio: median over runs of ``shared time / unshared time`` of the same turn
            (below 1: the shared model is faster).
        ratio_iqr: interquartile range of those per-turn ratios.
        ratios: every per-turn ratio, in order.
    """

    shared: Stats
    unshared: Stats
    ratio: float
    ratio_iqr: float
    ratios: tuple[float, ...] = field(default=(), repr=False)

    @classmethod
    def from_stats(cls, shared: Stats, unshared: Stats) -> PairTiming:
        ratios = np.asarray(shared.times) / np.asarray(unshared.times)
        q25, q50, q75 = np.percentile(ratios, [25, 50, 75])
        return cls(shared, unshared, float(q50), float(q75 - q25), tuple(float(r) for r in ratios))

    def to_dict(self) -> dict[str, Any]:
        return {
            "shared": self.shared.to_dict(),
            "unshared": self.unshared.to_dict(),
            "ratio": self.ratio,
            "ratio_iqr": self.ratio_iqr,
            "ratios": list(self.ratios),
        }


@dataclass(frozen=True)
class Comparison(TableRepr):
    """What :func:`compare` measured: one :class:`PairTiming` per kind of work, and the conditions."""

    forward: PairTiming
    backward: PairTiming | None
    step: PairTiming | None
    device: str
    device_name: str
    torch_version: str
    threads: int

    def _as_table(self) -> Table:
        kinds = (("forward", self.forward), ("forward + backward", self.backward), ("optimizer step", self.step))
        rows = [
            [label, fmt_seconds(p.shared.median_s, p.shared.iqr_s), fmt_seconds(p.unshared.median_s, p.unshared.iqr_s),
             twin_over_shared(p.ratio)]
            for label, p in kinds
            if p is not None
        ]
        notes = ["median ± IQR per call; twin/shared: median over turns that ran both", conditions(self)]
        return Table("Comparison: shared model vs unshared twin", ["", "shared", "twin", "twin/shared"], rows, notes)

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


def compare(
    shared: nn.Module,
    unshared: nn.Module,
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
) -> Comparison:
    """Time ``shared`` and ``unshared`` on the same input in turns (A B A B ...).

    Arguments are those of :func:`~paramshare_viz.bench.time_model`; ``min_runs`` and
    ``min_time_s`` hold for each side. Both models are moved to ``device`` in place.

    >>> c = compare(nn.Linear(8, 8), nn.Linear(8, 8), torch.randn(2, 8), min_runs=3, min_time_s=0.0)
    >>> len(c.forward.ratios) == c.forward.shared.runs == c.forward.unshared.runs
    True
    """
    a = Workload.make(shared, example_input, device)
    b = Workload.make(unshared, example_input, device)
    kw: dict[str, Any] = dict(
        warmup=warmup,
        min_runs=min_runs,
        min_time_s=min_time_s,
        number=number,
        block_s=BLOCK_S[a.device.type],
        sync=synchronizer(a.device),
        clock=clock,
    )

    def pair(fns: Sequence) -> PairTiming:
        sa, sb = measure_interleaved(fns, **kw)
        return PairTiming.from_stats(sa, sb)

    with fixed_threads(threads):
        fwd = pair([a.forward, b.forward])
        bwd = pair([a.backward, b.backward]) if backward else None
        a.clear_grads()
        b.clear_grads()
        step = None
        if optimizer is not None:
            with a.restoring_parameters(), b.restoring_parameters():
                opt_a = make_optimizer(optimizer, a.model)
                opt_b = make_optimizer(optimizer, b.model)
                step = pair([a.step_fn(opt_a), b.step_fn(opt_b)])
        # inside the block: environment() records the thread count held while measuring
        return Comparison(forward=fwd, backward=bwd, step=step, **environment(a.device))
