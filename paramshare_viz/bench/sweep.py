"""What sharing costs and saves as a model grows: one row of measurements per knob value.

A row holds, for the shared model and its unshared twin built by
``psv.zoo.pair(form, **{knob: value})``:

- ``params``: unique parameters (distinct storage elements) and their bytes, the
  buffer bytes beside them (each distinct buffer element once) and their sum
  ``held_bytes`` (parameters + buffers: what the model holds);
- ``flops``: forward and backward FLOPs (``count_flops``), bytes moved and
  arithmetic intensity of the forward (see :mod:`paramshare_viz.bench.roofline`);
- ``time``: forward (and forward + backward) median and IQR, timed in turns,
  with the per-turn ratio twin / shared (``time_fwd_twin_over_shared``), its IQR and
  ``time_fwd_noise`` (why it is noisy, or empty); achieved forward FLOP/s;
- ``memory``: the training ledger (parameters + buffers + grads + Adam state,
  ``training_memory``) and the measured peak of one pass
  (:func:`~paramshare_viz.bench.measure_peak_memory`), with ``peak_pass``: what the
  pass itself allocated above the parameters, buffers and input (activations,
  temporaries, gradients).
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from paramshare_viz.bench._workload import (
    cast_floating,
    device_name,
    fixed_threads,
    resolve_device,
    to_device,
)
from paramshare_viz.bench.compare import compare
from paramshare_viz.bench.memory import measure_peak_memory
from paramshare_viz.bench.roofline import count_bytes
from paramshare_viz.bench.table import TIME_RATIO_NOTE, sweep_body
from paramshare_viz.bench.timing import conditions
from paramshare_viz.display import Table, TableRepr

MEASURES = ("params", "flops", "time", "memory")
#: Short budgets per point and side: a sweep is a picture, ``compare`` is the careful figure.
SWEEP_TIMING = dict(warmup=2, min_runs=5, min_time_s=0.05)

Progress = Callable[[int, int, dict[str, Any]], Any]
Cancel = Callable[[], bool] | threading.Event


@dataclass
class SweepResult(TableRepr):
    """Rows of :func:`sweep`, one per knob value measured, with the conditions.

    Attributes:
        form, knob: what was swept; each row's ``knob`` column holds its value.
        values: the values asked for (``rows`` may be shorter when cancelled).
        rows: one flat dict per measured value (see :func:`measure_pair` for the columns).
        cancelled: the sweep stopped early because ``cancel`` was set.
        overrides: the other config fields held fixed.
    """

    form: str
    knob: str
    values: list[Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    device_name: str = ""
    torch_version: str = torch.__version__
    threads: int = 1

    @property
    def columns(self) -> list[str]:
        """Every column of any row, in first-seen order."""
        cols: dict[str, None] = {}
        for row in self.rows:
            cols.update(dict.fromkeys(row))
        return list(cols)

    def column(self, name: str) -> list[Any]:
        return [row.get(name) for row in self.rows]

    def _as_table(self) -> Table:
        header, rows = sweep_body(self.knob, self.rows)
        notes = ["twin ÷ shared: the twin's number divided by the shared model's", TIME_RATIO_NOTE]
        if self.cancelled:
            notes.append(f"stopped early: {len(self.rows)} of {len(self.values)} values measured")
        notes.append(conditions(self))
        title = f"SweepResult: {self.form} over {self.knob}" + (f" with {self.overrides}" if self.overrides else "")
        return Table(title, header, rows, notes)

    def to_csv(self, path: str | Path) -> Path:
        """Write the rows as CSV (one header line, one line per value); returns the path."""
        return write_csv(self.rows, path, columns=self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "knob": self.knob,
            "values": list(self.values),
            "overrides": dict(self.overrides),
            "rows": [dict(r) for r in self.rows],
            "cancelled": self.cancelled,
            "device": self.device,
            "device_name": self.device_name,
            "torch_version": self.torch_version,
            "threads": self.threads,
        }


def _unique_params(model: nn.Module) -> tuple[int, int, int]:
    """``(elements, bytes)`` of distinct parameter storage (tied or aliased tensors once), and the
    bytes of distinct buffer storage that no parameter holds."""
    from paramshare_viz.analysis import analyze

    report = analyze(model)
    return report.unique_params, report.unique_bytes, report.unique_buffer_bytes


def measure_pair(
    shared: nn.Module,
    unshared: nn.Module,
    example_input: Any,
    *,
    measure: Iterable[str] = MEASURES,
    device: str | torch.device = "cpu",
    backward: bool = True,
    optimizer: str = "adam",
    timing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One flat row of measurements of ``shared`` vs ``unshared`` on ``example_input``.

    Args:
        measure: any of ``"params"``, ``"flops"``, ``"time"``, ``"memory"``.
        device: ``"cpu"`` or ``"cuda"``; both models move there in place.
        backward: also count, time and measure forward + backward.
        optimizer: optimizer of the training-memory ledger (``"sgd"``, ``"momentum"``, ``"adam"``).
        timing: keywords for :func:`~paramshare_viz.bench.compare` (``min_runs``, ``min_time_s`` ...).

    Returns:
        Columns ``<metric>_shared`` / ``<metric>_unshared`` (and ``time_*_twin_over_shared``):
        ``params``, ``param_bytes``, ``buffer_bytes``, ``held_bytes`` (parameters + buffers);
        ``flops_fwd``, ``flops_bwd``, ``bytes_moved``, ``intensity``; ``time_fwd_s``,
        ``time_fwd_iqr_s``, ``time_bwd_s`` (forward + backward), ``time_bwd_iqr_s``,
        ``time_fwd_twin_over_shared``, ``time_fwd_twin_over_shared_iqr``, ``time_fwd_noise``
        (and the same for ``bwd``), ``achieved_flops``; ``train_mem`` (parameters + buffers +
        grads + optimizer state), ``peak``, ``peak_pass``, ``peak_method``.
    """
    measure = set(measure)
    unknown = measure - set(MEASURES)
    if unknown:
        raise ValueError(f"measure={sorted(unknown)} unknown; choose from {list(MEASURES)}")
    dev = resolve_device(device)
    sides = {"shared": shared.to(dev), "unshared": unshared.to(dev)}
    x = to_device(example_input, dev)
    row: dict[str, Any] = {}
    if "params" in measure:
        for side, model in sides.items():
            params, param_bytes, buffer_bytes = _unique_params(model)
            row[f"params_{side}"], row[f"param_bytes_{side}"] = params, param_bytes
            row[f"buffer_bytes_{side}"] = buffer_bytes
            row[f"held_bytes_{side}"] = param_bytes + buffer_bytes
    if "flops" in measure:
        from paramshare_viz.analysis.flops import count_flops

        for side, model in sides.items():
            count = count_flops(model, x, backward=backward)
            row[f"flops_fwd_{side}"] = count.forward
            if backward:
                row[f"flops_bwd_{side}"] = count.backward
            moved = count_bytes(model, x, device=dev).bytes_moved
            row[f"bytes_moved_{side}"] = moved
            row[f"intensity_{side}"] = count.forward / moved if moved else float("nan")
    if "time" in measure:
        result = compare(
            shared, unshared, x, device=dev, backward=backward, **{**SWEEP_TIMING, **(timing or {})}
        )
        for kind, pair in (("fwd", result.forward), ("bwd", result.backward)):
            if pair is None:
                continue
            for side, stats in (("shared", pair.shared), ("unshared", pair.unshared)):
                row[f"time_{kind}_{side}_s"] = stats.median_s
                row[f"time_{kind}_{side}_iqr_s"] = stats.iqr_s
            row[f"time_{kind}_twin_over_shared"] = pair.twin_over_shared
            row[f"time_{kind}_twin_over_shared_iqr"] = pair.twin_over_shared_iqr
            row[f"time_{kind}_noise"] = pair.noise
        if "flops" in measure:
            for side in sides:
                row[f"achieved_flops_{side}"] = row[f"flops_fwd_{side}"] / row[f"time_fwd_{side}_s"]
    if "memory" in measure:
        from paramshare_viz.analysis.memory import training_memory

        for side, model in sides.items():
            row[f"train_mem_{side}"] = training_memory(model, optimizer).shared.total
            peak = measure_peak_memory(model, x, device=dev, backward=backward)
            row[f"peak_{side}"] = peak.peak_bytes
            row[f"peak_pass_{side}"] = peak.pass_peak_bytes
            row["peak_method"] = peak.method
    return row


def _is_cancelled(cancel: Cancel | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def sweep(
    form: str,
    knob: str,
    values: Sequence[Any],
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    measure: Iterable[str] = MEASURES,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    backward: bool = True,
    batch: int = 2,
    seed: int = 0,
    threads: int | None = None,
    timing: dict[str, Any] | None = None,
    bar: bool | None = None,
    **overrides: Any,
) -> SweepResult:
    """Measure ``form``'s shared model and its twin at each value of the config field ``knob``.

    Every value is validated before anything is measured. ``cancel`` is checked before
    each point; once set, the sweep returns the rows measured so far with
    ``cancelled=True``.

    Args:
        form: a zoo form, e.g. ``"conv"``.
        knob: a config field of that form, e.g. ``"image_size"``.
        values: the values of ``knob``, in order.
        progress: ``progress(done, total, row)`` after each point (``done`` counts from 1).
        cancel: a ``threading.Event`` or a callable returning True to stop.
        measure: see :func:`measure_pair`.
        device, backward, timing: see :func:`measure_pair`.
        dtype: parameter dtype of both models (``None``: torch's default); floating inputs follow it.
        batch, seed: of ``psv.zoo.example_input`` / ``psv.zoo.pair``.
        threads: CPU threads held during the whole sweep (``None``: as they are).
        bar: show a tqdm progress bar; default: when no ``progress`` callback is given.
        **overrides: other config fields, held fixed.

    >>> r = sweep("conv", "image_size", [4, 8], measure=("params",), bar=False)
    >>> r.column("params_shared"), r.column("params_unshared")  # 224; 16*224, 64*224
    ([224, 224], [3584, 14336])
    """
    from paramshare_viz import zoo

    values = list(values)
    if not values:
        raise ValueError(f"values for knob {knob!r} is empty; give at least one value")
    if knob in overrides:
        raise ValueError(f"{knob!r} is the swept knob; do not also pass it as a fixed override")
    for v in values:
        zoo.make_config(form, **{**overrides, knob: v})  # ValueError naming the field and value
    dev = resolve_device(device)
    show_bar = progress is None if bar is None else bar
    pbar = None
    if show_bar:
        from tqdm.auto import tqdm

        pbar = tqdm(total=len(values), desc=f"{form} {knob}", unit="pt")
    with fixed_threads(threads) as n_threads:
        result = SweepResult(
            form,
            knob,
            values,
            overrides=dict(overrides),
            device=str(dev),
            device_name=device_name(dev),
            threads=n_threads,
        )
        try:
            for i, value in enumerate(values):
                if _is_cancelled(cancel):
                    result.cancelled = True
                    break
                cfg = {**overrides, knob: value}
                shared, unshared = zoo.pair(form, device=dev, dtype=dtype, seed=seed, **cfg)
                x = cast_floating(zoo.example_input(form, batch=batch, device=dev, seed=seed, **cfg), dtype)
                row = {
                    knob: value,
                    **measure_pair(
                        shared, unshared, x, measure=measure, device=dev, backward=backward, timing=timing
                    ),
                }
                result.rows.append(row)
                del shared, unshared, x
                if pbar is not None:
                    pbar.set_postfix({knob: value}, refresh=False)
                    pbar.update(1)
                if progress is not None:
                    progress(i + 1, len(values), row)
        finally:
            if pbar is not None:
                pbar.close()
    return result


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | Path, *, columns: Sequence[str] | None = None) -> Path:
    """Rows of bench measurements as CSV (header from ``columns`` or the first row); returns the path."""
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns if columns is not None else rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
