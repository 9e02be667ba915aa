"""The architecture zoo: every sharing form with its exact unshared twin.

>>> import paramshare_viz as psv
>>> shared, unshared = psv.zoo.pair("albert", num_layers=4)
>>> x = psv.zoo.example_input("albert", num_layers=4)
>>> torch.testing.assert_close(shared(x), unshared(x))
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from paramshare_viz import models  # noqa: F401  (imports every form, filling the registry)
from paramshare_viz.models import registry
from paramshare_viz.models.presets import PRESETS
from paramshare_viz.models.registry import ExampleInput

#: Builds estimated to need more than this many bytes of parameters are refused
#: (use ``device="meta"`` to count without allocating).
DEFAULT_MEMORY_BUDGET = 2 * 1024**3


def forms() -> list[str]:
    """Registry keys of every sharing form, in display order."""
    return registry.names()


def default_config(form: str) -> Any:
    """The frozen default config of ``form``."""
    return registry.get(form).config_cls()


def make_config(form: str, **overrides: Any) -> Any:
    """``default_config(form)`` with ``overrides`` applied and validated.

    Raises:
        ValueError: an unknown field, or a value the config rejects (the message
            names the field and the value).
    """
    spec = registry.get(form)
    fields = {f.name for f in dataclasses.fields(spec.config_cls)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"{form}: unknown config field(s) {unknown}; valid fields are {sorted(fields)}")
    return dataclasses.replace(spec.config_cls(), **overrides)


def presets(form: str) -> dict[str, dict[str, Any]]:
    """Named configs of published models for ``form``: ``{name: overrides}``, sources in
    ``models/presets.py``. ``build(form, device="meta", **presets(form)[name])`` counts one
    without allocating.
    """
    registry.get(form)  # a plain error for an unknown form
    return {name: dict(overrides) for name, overrides in PRESETS.get(form, {}).items()}


def available_devices() -> list[str]:
    """Devices a model can be built on here: ``cpu``, ``cuda`` when present, and ``meta``."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + ["meta"]


def resolve_device(device: str | torch.device) -> torch.device:
    """``torch.device(device)``, refusing CUDA without a GPU in plain words."""
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r}: no CUDA GPU is available here; use 'cpu' or 'meta'")
    return dev


def estimated_bytes(form: str, config: Any, *, shared: bool, dtype: torch.dtype | None = None) -> int:
    """Bytes of unique parameters ``build`` would allocate (the docstring formula)."""
    itemsize = (dtype or torch.get_default_dtype()).itemsize
    return registry.get(form).param_count(config, shared) * itemsize


def build(
    form: str,
    *,
    shared: bool = True,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    **overrides: Any,
) -> nn.Module:
    """Build the shared model of ``form`` (or its unshared twin with ``shared=False``).

    Args:
        form: a registry key, see :func:`forms`.
        shared: the sharing model (True) or its unshared twin (False).
        device: ``"cpu"``, ``"cuda"`` or ``"meta"`` (counts without memory).
        dtype: parameter dtype; ``None`` keeps torch's default (float32).
        memory_budget: bytes of parameters allowed off the meta device.
        **overrides: config fields, see :func:`default_config`.
    """
    spec = registry.get(form)
    config = make_config(form, **overrides)
    dev = resolve_device(device)
    _check_budget(form, config, shared=shared, dtype=dtype, device=dev, memory_budget=memory_budget)
    with torch.device(dev):
        model = spec.build(config, shared)
    if dtype is not None:
        model = model.to(dtype=dtype)
    return model.eval()


def pair(
    form: str,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    seed: int = 0,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    **overrides: Any,
) -> tuple[nn.Module, nn.Module]:
    """``(shared, unshared)`` computing the same function at pairing time.

    The twin's independent tensors start as copies of the shared ones; after
    training they drift apart, which is the point of the comparison.
    """
    torch.manual_seed(seed)
    kw = dict(device=device, dtype=dtype, memory_budget=memory_budget, **overrides)
    shared = build(form, shared=True, **kw)
    unshared = build(form, shared=False, **kw)
    if torch.device(device).type != "meta":
        with torch.no_grad():
            registry.get(form).copy_to_twin(shared, unshared)
    return shared, unshared


def example_input(
    form: str, *, batch: int = 2, device: str | torch.device = "cpu", seed: int = 0, **overrides: Any
) -> ExampleInput:
    """A valid input batch for ``form`` built with ``overrides`` (seeded, reproducible)."""
    if batch < 1:
        raise ValueError(f"batch={batch!r} must be at least 1")
    spec = registry.get(form)
    config = make_config(form, **overrides)
    torch.manual_seed(seed)
    x = spec.example_input(config, batch)
    dev = resolve_device(device)
    if isinstance(x, tuple):
        return tuple(t.to(dev) for t in x)
    return x.to(dev)


def _check_budget(form, config, *, shared, dtype, device, memory_budget) -> None:
    if device.type == "meta":
        return
    need = estimated_bytes(form, config, shared=shared, dtype=dtype)
    if need > memory_budget:
        raise ValueError(
            f"{form} ({'shared' if shared else 'unshared'}) needs about {need / 1e9:.2f} GB of parameters, "
            f"over the memory budget of {memory_budget / 1e9:.2f} GB; build it with device='meta' to count "
            f"without allocating, or pass a larger memory_budget"
        )
