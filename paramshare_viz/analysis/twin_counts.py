"""A zoo form's shared model and its unshared twin, analysed side by side.

The dashboard's Explore tab calls :func:`twin_counts` on every widget change;
configs are frozen dataclasses, so returning to a setting is a cache hit.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from typing import Any

import torch

from paramshare_viz import zoo
from paramshare_viz.analysis.report import SharingReport, analyze

#: dtype names offered to users, in menu order.
DTYPES = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class TwinCounts:
    """Both sides of one form at one config, device and dtype.

    Attributes:
        shared, unshared: full :class:`SharingReport` of each model, with forward
            calls and FLOPs from ``zoo.example_input`` (static only on ``meta``).
        build_seconds: wall time to build both models on ``device``.
    """

    form: str
    config: Any
    device: str
    dtype: str
    shared: SharingReport
    unshared: SharingReport
    build_seconds: float

    @property
    def ratio(self) -> float:
        """Unique parameters of the twin per unique parameter of the shared model."""
        return self.unshared.unique_params / self.shared.unique_params


def twin_counts(form: str, *, device: str = "cpu", dtype: str = "float32", **overrides: Any) -> TwinCounts:
    """Build ``zoo.pair(form, **overrides)`` on ``device`` in ``dtype`` and analyse both.

    Raises:
        ValueError: a bad form, field, value, device or dtype (named in the message),
            or a config over a budget of ``models.budget`` (the forward run off
            the meta device included), refused before anything is built.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r} is not one of {list(DTYPES)}")
    config = zoo.make_config(form, **overrides)
    dev = zoo.resolve_device(device)
    zoo.check_budget(form, config, device=dev, dtype=DTYPES[dtype], forward=True)
    return _twin_counts(form, config, str(dev), dtype)


@functools.lru_cache(maxsize=32)
def _twin_counts(form: str, config: Any, device: str, dtype: str) -> TwinCounts:
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    start = time.perf_counter()
    shared, unshared = zoo.pair(form, device=device, dtype=DTYPES[dtype], **fields)
    built = time.perf_counter() - start
    x = None if device == "meta" else _cast(zoo.example_input(form, device=device, **fields), DTYPES[dtype])
    return TwinCounts(form, config, device, dtype, analyze(shared, x), analyze(unshared, x), built)


def _cast(x, dtype: torch.dtype):
    """Floating inputs follow the model's dtype; token ids stay integers."""
    if isinstance(x, tuple):
        return tuple(_cast(t, dtype) for t in x)
    return x.to(dtype) if x.is_floating_point() else x
