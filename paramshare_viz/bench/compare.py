"""Shared model vs its unshared twin, timed in turns (A B A B ...) with a per-pair ratio.

Timing the two models one after the other lets a slow minute of the machine
land on one side only; timing them in turns exposes both to the same noise,
and the ratio of each adjacent pair of runs cancels most of it. The reported
ratio is the median of those per-pair ratios, its spread their IQR.
"""

from __future__ import annotations

import time
import warnings
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
from paramshare_viz.bench.table import TIME_RATIO_NOTE, fmt_ratio, fmt_seconds
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

#: A timed ratio is called noisy when its spread or its disagreement with the medians passes this:
#: the IQR of the per-turn ratios above 25 % of their median, or the ratio of the two medians
#: more than 25 % away from the per-turn median (either way round).
NOISY_SPREAD = 0.25


def timing_noise(shared: Stats, unshared: Stats) -> str:
    """Why the twin ÷ shared time ratio of two interleaved :class:`Stats` cannot be trusted, or ``""``.

    A pure rule on the recorded times (each ``times[i]`` of one side ran in the same turn as
    ``times[i]`` of the other): the ratio is *noisy* when the IQR of the per-turn ratios
    ``unshared / shared`` exceeds :data:`NOISY_SPREAD` of their median, or when the ratio of the
    medians (``unshared.median_s / shared.median_s``) differs from the per-turn median by more
    than that factor (the row's medians would then tell another story than its ratio).

    >>> a = Stats.from_times([1.0, 1.0, 1.0]); b = Stats.from_times([2.0, 2.0, 2.0])
    >>> timing_noise(a, b)
    ''
    """
    ratios = np.asarray(unshared.times) / np.asarray(shared.times)
    q25, q50, q75 = (float(q) for q in np.percentile(ratios, [25, 50, 75]))
    spread = (q75 - q25) / q50
    of_medians = unshared.median_s / shared.median_s
    reasons = []
    if spread > NOISY_SPREAD:
        reasons.append(f"its IQR is {spread:.0%} of it")
    if max(of_medians / q50, q50 / of_medians) > 1 + NOISY_SPREAD:
        reasons.append(f"the medians' ratio is {of_medians:.3g}x")
    return ("noisy: " + " and ".join(reasons)) if reasons else ""


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"PairTiming.{old} (shared / twin) is deprecated; use PairTiming.{new}, the product's one "
        "direction (twin ÷ shared)",
        DeprecationWarning,
        stacklevel=3,
    )


@dataclass(frozen=True)
class PairTiming:
    """One kind of work (forward, backward or step) timed on both models in turns.

    Attributes:
        shared, unshared: each side's :class:`Stats`.
        twin_over_shared: median over turns of ``twin time / shared time`` of the same turn
            (above 1: the shared model is faster; the twin takes that many times as long).
        twin_over_shared_iqr: interquartile range of those per-turn ratios.
        turns: every per-turn ``twin time / shared time``, in order.
        noise: ``""``, or why the ratio cannot be trusted (:func:`timing_noise`).
    """

    shared: Stats
    unshared: Stats
    twin_over_shared: float
    twin_over_shared_iqr: float
    turns: tuple[float, ...] = field(default=(), repr=False)
    noise: str = ""

    @classmethod
    def from_stats(cls, shared: Stats, unshared: Stats) -> PairTiming:
        turns = np.asarray(unshared.times) / np.asarray(shared.times)
        q25, q50, q75 = np.percentile(turns, [25, 50, 75])
        return cls(
            shared, unshared, float(q50), float(q75 - q25), tuple(float(r) for r in turns),
            timing_noise(shared, unshared),
        )

    @property
    def ratio(self) -> float:
        """Deprecated: the median over turns of ``shared / twin`` time; use :attr:`twin_over_shared`."""
        _deprecated("ratio", "twin_over_shared")
        return float(np.median(1 / np.asarray(self.turns)))

    @property
    def ratio_iqr(self) -> float:
        """Deprecated: the IQR of the per-turn ``shared / twin``; use :attr:`twin_over_shared_iqr`."""
        _deprecated("ratio_iqr", "twin_over_shared_iqr")
        q25, q75 = np.percentile(1 / np.asarray(self.turns), [25, 75])
        return float(q75 - q25)

    @property
    def ratios(self) -> tuple[float, ...]:
        """Deprecated: every per-turn ``shared / twin``; use :attr:`turns` (twin / shared)."""
        _deprecated("ratios", "turns")
        return tuple(1 / r for r in self.turns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shared": self.shared.to_dict(),
            "unshared": self.unshared.to_dict(),
            "twin_over_shared": self.twin_over_shared,
            "twin_over_shared_iqr": self.twin_over_shared_iqr,
            "turns_twin_over_shared": list(self.turns),
            "noise": self.noise,
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
             fmt_ratio(p.twin_over_shared, p.twin_over_shared_iqr), p.noise]
            for label, p in kinds
            if p is not None
        ]
        notes = [TIME_RATIO_NOTE, conditions(self)]
        return Table(
            "Comparison: shared model vs unshared twin", ["", "shared", "twin", "twin ÷ shared", ""], rows, notes
        )

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
    >>> len(c.forward.turns) == c.forward.shared.runs == c.forward.unshared.runs
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
