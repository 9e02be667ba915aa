"""The architecture zoo: every sharing form with its exact unshared twin.

>>> import paramshare_viz as psv
>>> shared, unshared = psv.zoo.pair("albert", num_layers=4)
>>> x = psv.zoo.example_input("albert", num_layers=4)
>>> torch.testing.assert_close(shared(x), unshared(x))
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from paramshare_viz import models  # noqa: F401  (imports every form, filling the registry)
from paramshare_viz.models import budget, registry
from paramshare_viz.models.presets import PRESETS
from paramshare_viz.models.registry import ExampleInput

#: Bytes of parameters and buffers one model may hold off the meta device when no
#: ``memory_budget`` is given (:mod:`paramshare_viz.models.budget`, which reads its
#: ``MEMORY_BUDGET`` at call time); ``device="meta"`` counts without allocating.
DEFAULT_MEMORY_BUDGET = budget.MEMORY_BUDGET


def forms() -> list[str]:
    """Registry keys of every sharing form, in display order."""
    return registry.names()


def default_config(form: str) -> Any:
    """The frozen default config of ``form`` (one object per form: frozen, so it is shared)."""
    return _default(registry.get(form).config_cls)


@functools.cache
def _default(config_cls: type) -> Any:
    return config_cls()


def make_config(form: str, **overrides: Any) -> Any:
    """``default_config(form)`` with ``overrides`` applied and validated (one config constructed).

    Raises:
        ValueError: an unknown field, or a value the config rejects (the message
            names the field and the value).
    """
    spec = registry.get(form)
    fields = {f.name for f in dataclasses.fields(spec.config_cls)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"{form}: unknown config field(s) {unknown}; valid fields are {sorted(fields)}")
    default = _default(spec.config_cls)
    for name, value in overrides.items():
        _check_type(name, value, getattr(default, name))
    return dataclasses.replace(default, **overrides) if overrides else default


def resolve_config(form: str, config: Any, overrides: dict[str, Any]) -> Any:
    """``config`` when a caller passes one it made (and checked), else ``make_config(form, **overrides)``."""
    if config is None:
        return make_config(form, **overrides)
    cls = registry.get(form).config_cls
    if not isinstance(config, cls):
        raise ValueError(f"{form}: config={config!r} is not a {cls.__name__}")
    if overrides:
        raise ValueError(f"{form}: pass config= or the field overrides {sorted(overrides)}, not both")
    return config


def _check_type(name: str, value: Any, default: Any) -> None:
    """A value of the default's kind, or ``ValueError`` naming the field (ranges: the config's own checks).

    Without it ``None``, ``4.0`` or a list reach the config's comparisons and the layer
    constructors, which fail with ``TypeError`` or ``RuntimeError`` instead of a plain message.
    """
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "True or False"
    elif isinstance(default, int) and not isinstance(default, enum.Enum):
        ok, kind = isinstance(value, numbers.Integral) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        kind = "a finite number"
    else:  # enums: the config converts and names the choices
        return
    if not ok:
        raise ValueError(f"{name}={value!r} must be {kind}")


def presets(form: str) -> dict[str, dict[str, Any]]:
    """Named configs of published models for ``form``: ``{name: overrides}``, sources in
    ``models/presets.py``. ``build(form, device="meta", **presets(form)[name])`` counts one
    without allocating.
    """
    registry.get(form)  # a plain error for an unknown form
    return {name: dict(preset.overrides) for name, preset in PRESETS.get(form, {}).items()}


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
    memory_budget: int | None = None,
    config: Any = None,
    **overrides: Any,
) -> nn.Module:
    """Build the shared model of ``form`` (or its unshared twin with ``shared=False``).

    Args:
        form: a registry key, see :func:`forms`.
        shared: the sharing model (True) or its unshared twin (False).
        device: ``"cpu"``, ``"cuda"`` or ``"meta"`` (counts without memory).
        dtype: parameter dtype; ``None`` keeps torch's default (float32).
        memory_budget: bytes of parameters and buffers allowed off the meta device;
            ``None``: ``models.budget.MEMORY_BUDGET``.
        config: a config already made by :func:`make_config` (then no overrides).
        **overrides: config fields, see :func:`default_config`.

    Raises:
        ValueError: a bad field or value, or a config over a budget of
            :mod:`paramshare_viz.models.budget` (the message names the field to
            lower and a value that fits), checked before anything is built.
    """
    config = resolve_config(form, config, overrides)
    dev = resolve_device(device)
    check_budget(form, config, sides=(shared,), device=dev, dtype=dtype, memory_budget=memory_budget)
    return _build(form, config, shared, dev, dtype)


def _build(form: str, config: Any, shared: bool, device: torch.device, dtype: torch.dtype | None) -> nn.Module:
    with torch.device(device):
        model = registry.get(form).build(config, shared)
    if dtype is not None:
        model = model.to(dtype=dtype)
    return model.eval()


def pair(
    form: str,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    seed: int = 0,
    memory_budget: int | None = None,
    config: Any = None,
    checked: bool = False,
    **overrides: Any,
) -> tuple[nn.Module, nn.Module]:
    """``(shared, unshared)`` computing the same function at pairing time.

    The twin's independent tensors start as copies of the shared ones; after
    training they drift apart, which is the point of the comparison.
    ``config``: one already made by :func:`make_config` (then no overrides);
    ``checked=True``: the caller has run :func:`check_budget` on it for this device
    and dtype already (Explore's one check per change), so it is not run again.
    """
    config = resolve_config(form, config, overrides)
    dev = resolve_device(device)
    if not checked:  # both sides, so a refusal comes before anything is built
        check_budget(form, config, device=dev, dtype=dtype, memory_budget=memory_budget)
    torch.manual_seed(seed)
    shared = _build(form, config, True, dev, dtype)
    unshared = _build(form, config, False, dev, dtype)
    if dev.type != "meta":
        with torch.no_grad():
            registry.get(form).copy_to_twin(shared, unshared)
    return shared, unshared


def example_input(
    form: str, *, batch: int = 2, device: str | torch.device = "cpu", seed: int = 0, config: Any = None,
    **overrides: Any,
) -> ExampleInput:
    """A valid input batch for ``form`` built with ``overrides`` or a made ``config`` (seeded, reproducible)."""
    if batch < 1:
        raise ValueError(f"batch={batch!r} must be at least 1")
    spec = registry.get(form)
    config = resolve_config(form, config, overrides)
    dev = resolve_device(device)
    inputs = budget.footprint(form, config, True, batch).inputs * 4  # float32 on CPU first
    if inputs > budget.MEMORY_BUDGET:
        raise ValueError(
            f"{form}: the example input needs about {budget.fmt_bytes(inputs)}, over the budget of "
            f"{budget.fmt_bytes(budget.MEMORY_BUDGET)}; use smaller sizes or a smaller batch={batch}"
        )
    torch.manual_seed(seed)
    x = spec.example_input(config, batch)
    if isinstance(x, tuple):
        return tuple(t.to(dev) for t in x)
    return x.to(dev)


def check_budget(
    form: str,
    config: Any,
    *,
    sides: tuple[bool, ...] = (True, False),
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    memory_budget: int | None = None,
    forward: bool = False,
    advise_meta: bool = True,
) -> None:
    """Refuse ``config`` before building when a side is over a budget (``ValueError``, field named).

    Args:
        sides: which models will be built: ``(True,)`` the shared one, ``(False,)`` the twin.
        forward: a forward on ``example_input`` will run too (activations and
            tensor operations count; nothing runs on the meta device).
        advise_meta: off the meta device, end the refusal with "or count it on the meta
            device" (``False`` where the caller counts there itself).
    """
    itemsize = (dtype or torch.get_default_dtype()).itemsize
    budget.check_budget(
        form, config, sides=sides, on_meta=torch.device(device).type == "meta", itemsize=itemsize,
        memory_budget=memory_budget, forward=forward, advise_meta=advise_meta,
    )


@dataclass(frozen=True)
class Estimate:
    """What building both sides of a form would cost, from its config alone (nothing is built).

    Attributes:
        form, config: the form and its validated config.
        shared, unshared: a :class:`~paramshare_viz.models.registry.Footprint` per side
            (elements, bytes, modules and forward operations at the example batch).
    """

    form: str
    config: Any
    shared: registry.Footprint
    unshared: registry.Footprint

    def __str__(self) -> str:
        rows = [("", "shared", "unshared twin")]
        for label, get in (
            ("parameters", lambda f: f"{f.params:,}"),
            ("buffers", lambda f: budget.fmt_bytes(f.buffer_bytes)),
            ("activations (1 forward)", lambda f: f"{f.activations:,}"),
            ("modules", lambda f: f"{f.modules:,}"),
            ("forward operations", lambda f: f"{f.ops:,}"),
        ):
            rows.append((label, get(self.shared), get(self.unshared)))
        width = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"{self.form} estimate (batch {budget.BATCH}; elements unless a unit is given)"]
        lines += [f"  {a:<{width[0]}}  {b:>{width[1]}}  {c:>{width[2]}}" for a, b, c in rows]
        return "\n".join(lines)


def estimate(form: str, **overrides: Any) -> Estimate:
    """Closed-form costs of both sides of ``form`` at ``overrides``, without building anything.

    >>> psv.zoo.estimate("albert", num_layers=100_000).unshared.modules
    1200008
    """
    config = make_config(form, **overrides)
    return Estimate(form, config, budget.footprint(form, config, True), budget.footprint(form, config, False))
