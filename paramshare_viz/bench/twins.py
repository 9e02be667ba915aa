"""Everything the Compare tab shows about one setting: a zoo form's shared model vs its twin.

One call builds ``zoo.pair(form, **overrides)`` on a device in a dtype and
measures both sides with the bench engines: unique parameters and bytes
(:func:`~paramshare_viz.bench.measure_pair`), the training-memory ledger for
SGD, momentum and Adam (:func:`~paramshare_viz.analysis.memory.training_memory`:
parameters + buffers + gradients + optimizer state),
FLOPs, forward and forward + backward time in turns (median and IQR), the
measured peak of one forward + backward pass, and each side's roofline point
under the machine's measured roof. The dashboard runs it in a worker thread;
``benchmarks/gpu_check.py`` runs it on CUDA.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch

from paramshare_viz.analysis.kv_cache import KVCache
from paramshare_viz.analysis.memory import MemoryBreakdown, Optimizer, training_memory
from paramshare_viz.analysis.savings import gqa_kv_cache
from paramshare_viz.analysis.twin_counts import DTYPES
from paramshare_viz.bench._workload import cast_floating, device_name, fixed_threads, resolve_device
from paramshare_viz.bench.roofline import Roof, RooflinePoint, measure_roof, roofline_point
from paramshare_viz.bench.sweep import measure_pair
from paramshare_viz.bench.timing import MIN_RUNS, MIN_TIME_S, WARMUP

#: One careful measurement: the defaults of ``time_model`` (``sweep`` uses shorter budgets).
CAREFUL_TIMING = dict(warmup=WARMUP, min_runs=MIN_RUNS, min_time_s=MIN_TIME_S)

#: Config fields that set a model's size, in the order the sweep menu offers them:
#: image size, sequence length, widths, depth, number of tasks or buckets.
SIZE_KNOBS = (
    "image_size", "seq_len", "hidden_size", "d_model", "embed_dim", "out_channels", "in_channels",
    "hidden_features", "in_features", "out_features", "intermediate_size", "d_state", "num_layers",
    "num_tasks", "num_buckets", "vocab_size",
)


@dataclass(frozen=True)
class TwinMeasurement:
    """One setting of a form, measured on both sides.

    Attributes:
        form, overrides: what was built (``zoo.pair(form, **overrides)``).
        row: the :func:`~paramshare_viz.bench.measure_pair` row (``params_shared`` ...,
            ``time_fwd_shared_s`` ..., ``peak_shared`` ...).
        ledgers: optimizer name -> ``(shared, twin)`` :class:`MemoryBreakdown` of each model as
            built (the twin's own storage, not the shared model untied by name).
        points: ``(shared, twin)`` :class:`RooflinePoint` of the forward pass.
        roof: the machine's measured roof (peak FLOP/s and bandwidth), same device, dtype, threads.
        min_runs: the fewest timed runs (blocks of calls) each side got per kind of pass.
        device, device_name, dtype, batch, threads, torch_version: the conditions.
        kv: GQA only: the K/V cache at inference in ``dtype``
            (:func:`~paramshare_viz.analysis.savings.gqa_kv_cache`), what grouping K/V heads saves.
    """

    form: str
    overrides: dict[str, Any]
    row: dict[str, Any]
    ledgers: dict[str, tuple[MemoryBreakdown, MemoryBreakdown]]
    points: tuple[RooflinePoint, RooflinePoint]
    roof: Roof
    min_runs: int
    device: str
    device_name: str
    dtype: str
    batch: int
    threads: int
    torch_version: str = field(default=torch.__version__)
    kv: KVCache | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["ledgers"] = {k: [vars(a).copy(), vars(b).copy()] for k, (a, b) in self.ledgers.items()}
        out["points"] = [p.to_dict() for p in self.points]
        out["roof"] = self.roof.to_dict()
        out["kv"] = None if self.kv is None else self.kv.to_dict()
        return out


def resolve_dtype(dtype: str) -> torch.dtype:
    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r} is not one of {list(DTYPES)}")
    return DTYPES[dtype]


def size_knobs(form: str) -> list[str]:
    """Integer config fields of ``form`` that set its size, in :data:`SIZE_KNOBS` order."""
    from paramshare_viz import zoo

    config = zoo.default_config(form)
    ints = {f.name for f in dataclasses.fields(config) if type(getattr(config, f.name)) is int}
    return [k for k in SIZE_KNOBS if k in ints]


def default_sweep_values(form: str, knob: str, overrides: dict[str, Any], points: int = 4) -> list[int]:
    """A doubling ladder ending at twice the current value of ``knob``, keeping only valid configs.

    >>> default_sweep_values("conv", "image_size", {"image_size": 32})
    [4, 8, 16, 32, 64]
    """
    from paramshare_viz import zoo

    current = int(getattr(zoo.make_config(form, **overrides), knob))
    ladder = sorted({max(1, current * 2 // 2**k) for k in range(points + 1)})
    valid = []
    for v in ladder:
        try:
            zoo.make_config(form, **{**overrides, knob: v})
        except ValueError:
            continue
        valid.append(v)
    return valid


def measure_twins(
    form: str,
    *,
    device: str | torch.device = "cpu",
    dtype: str = "float32",
    batch: int = 2,
    threads: int | None = None,
    timing: dict[str, Any] | None = None,
    seed: int = 0,
    **overrides: Any,
) -> TwinMeasurement:
    """Build ``form``'s shared model and its twin and measure both (see the module docstring).

    Args:
        form: a zoo form, e.g. ``"conv"``.
        device: ``"cpu"`` or ``"cuda"``.
        dtype: a key of :data:`DTYPES`; floating inputs are cast to it, token ids stay integers.
        batch: batch size of ``zoo.example_input``.
        threads: CPU intra-op threads held while measuring (``None``: as they are).
        timing: keywords for :func:`~paramshare_viz.bench.compare` (default :data:`CAREFUL_TIMING`).
        **overrides: config fields.

    Raises:
        ValueError: a bad field, value, device or dtype (named in the message).
        torch.OutOfMemoryError: the GPU ran out of memory (the caller says so in plain words).
    """
    from paramshare_viz import zoo

    torch_dtype = resolve_dtype(dtype)
    dev = resolve_device(device)
    config = zoo.make_config(form, **overrides)  # ValueError naming the field and the value
    shared, unshared = zoo.pair(form, device=dev, dtype=torch_dtype, seed=seed, **overrides)
    x = cast_floating(zoo.example_input(form, batch=batch, device=dev, seed=seed, **overrides), torch_dtype)
    with fixed_threads(threads) as n_threads:
        row = measure_pair(shared, unshared, x, device=dev, timing={**CAREFUL_TIMING, **(timing or {})})
        roof = measure_roof(dev, dtype=torch_dtype)
        points = tuple(
            roofline_point(
                model, x, device=dev, label=name, kind=side,
                flops=row[f"flops_fwd_{side}"], time_s=row[f"time_fwd_{side}_s"],
            )
            for model, side, name in ((shared, "shared", "shared"), (unshared, "unshared", "twin"))
        )
    ledgers = {
        str(opt): (training_memory(shared, opt).shared, training_memory(unshared, opt).shared) for opt in Optimizer
    }
    return TwinMeasurement(
        form=form,
        overrides=dict(overrides),
        row=row,
        ledgers=ledgers,
        points=(points[0], points[1]),
        roof=roof,
        min_runs=int({**CAREFUL_TIMING, **(timing or {})}["min_runs"]),
        device=str(dev),
        device_name=device_name(dev),
        dtype=dtype,
        batch=batch,
        threads=n_threads,
        kv=gqa_kv_cache(config, torch_dtype) if form == "gqa" else None,
    )

