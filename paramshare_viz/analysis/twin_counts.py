"""A zoo form's shared model and its unshared twin, analysed side by side.

:func:`twin_counts` is the library's way in (configs are frozen dataclasses, so
returning to a setting is a cache hit); :func:`counted_pair` also hands back the
two models, for the dashboard's Explore view, which draws the same build.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

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


def twin_counts(
    form: str, *, device: str = "cpu", dtype: str = "float32", config: Any = None, **overrides: Any
) -> TwinCounts:
    """Build ``zoo.pair(form, **overrides)`` (or of a made ``config``) on ``device`` in ``dtype``; analyse both.

    Raises:
        ValueError: a bad form, field, value, device or dtype (named in the message),
            or a config over a budget of ``models.budget`` (the forward run off
            the meta device included), refused before anything is built.
    """
    config = zoo.resolve_config(form, config, overrides)
    dev = zoo.resolve_device(device)
    zoo.check_budget(form, config, device=dev, dtype=torch_dtype(dtype), forward=True)
    return _twin_counts(form, config, str(dev), dtype)


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype of a name in :data:`DTYPES`, or ``ValueError`` naming it."""
    if name not in DTYPES:
        raise ValueError(f"dtype={name!r} is not one of {list(DTYPES)}")
    return DTYPES[name]


@functools.lru_cache(maxsize=32)
def _twin_counts(form: str, config: Any, device: str, dtype: str) -> TwinCounts:
    return counted_pair(form, config, device, dtype)[0]


def counted_pair(form: str, config: Any, device: str, dtype: str) -> tuple[TwinCounts, nn.Module, nn.Module]:
    """Both sides of a config already checked for ``device`` and ``dtype``, built once and analysed,
    with the two models (a view that draws them reads the same build); not cached.
    """
    start = time.perf_counter()
    shared, unshared = zoo.pair(form, config=config, device=device, dtype=DTYPES[dtype], checked=True)
    built = time.perf_counter() - start
    x = None if device == "meta" else _cast(zoo.example_input(form, config=config, device=device), DTYPES[dtype])
    counts = TwinCounts(form, config, device, dtype, analyze(shared, x), analyze(unshared, x), built)
    return counts, shared, unshared


def _cast(x, dtype: torch.dtype):
    """Floating inputs follow the model's dtype; token ids stay integers."""
    if isinstance(x, tuple):
        return tuple(_cast(t, dtype) for t in x)
    return x.to(dtype) if x.is_floating_point() else x
