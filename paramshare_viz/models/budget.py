"""Budgets checked before anything is built, so that any config answers within seconds.

Every form gives closed forms for what building one model and running one
forward would cost (:class:`~paramshare_viz.models.registry.Footprint`). The
zoo checks them against three budgets and refuses a config that is over any,
with a ``ValueError`` that names the field driving the size and a value of it
that fits:

* **modules**: ``nn.Module`` objects are Python objects; 100,000 layers take
  minutes and gigabytes to build, on the meta device too.
* **forward operations**: the analysis counts FLOPs operation by operation
  (about a millisecond each), so only forwards that are actually run count.
* **memory**: bytes of parameters and buffers (and, when a forward runs, of its
  activations) off the meta device, which allocates nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from paramshare_viz.models import registry
from paramshare_viz.models.registry import Footprint
from paramshare_viz.units import fmt_bytes

#: Bytes one model may hold off the meta device: parameters and buffers, plus the
#: activations of one forward when it is run. Building, copying and analysing a
#: pair at this size takes about 2-5 s on two busy CPU cores (benchmarks/bench_budgets.py).
MEMORY_BUDGET = 256 * 1024**2
#: ``nn.Module`` objects one model may have, on any device (about 2 s to build).
MAX_MODULES = 5_000
#: Tensor operations one analysed forward may dispatch (the FLOP counter's speed).
MAX_FORWARD_OPS = 5_000
#: Bytes a model may hold on the meta device: torch sizes tensors in int64 bytes, so
#: a weight past 2**63 bytes fails to build even there (with an unnamed RuntimeError).
META_BYTES = 2**62
#: The batch of ``zoo.example_input``, which the forward estimates assume.
BATCH = 2

SIDES = {True: "the shared model", False: "the unshared twin"}


def footprint(form: str, config: Any, shared: bool, batch: int = BATCH) -> Footprint:
    """The form's closed-form :class:`Footprint` of one side at ``config``."""
    return registry.get(form).footprint(config, shared, batch)


@dataclass(frozen=True)
class Over:
    """One budget a config is over: which side, what, how much, and the limit."""

    side: bool
    what: str  # "modules", "ops", "memory" or "address" (past int64 bytes, on the meta device)
    amount: int
    limit: int
    detail: str  # what the amount is made of, e.g. "parameters and buffers"


def over_budget(
    form: str,
    config: Any,
    *,
    sides: Iterable[bool] = (True, False),
    on_meta: bool = False,
    itemsize: int = 4,
    memory_budget: int | None = None,
    forward: bool = False,
    batch: int = BATCH,
) -> Over | None:
    """The first budget ``config`` is over (checked in the order modules, ops, memory), or ``None``.

    ``memory_budget=None`` reads :data:`MEMORY_BUDGET` now (tests may lower it).
    """
    limit = MEMORY_BUDGET if memory_budget is None else memory_budget
    for shared in sides:
        fp = footprint(form, config, shared, batch)
        if fp.modules > MAX_MODULES:
            return Over(shared, "modules", fp.modules, MAX_MODULES, "")
        if forward and not on_meta and fp.ops > MAX_FORWARD_OPS:
            return Over(shared, "ops", fp.ops, MAX_FORWARD_OPS, "")
        need = fp.params * itemsize + fp.buffer_bytes
        detail = "parameters and buffers" if fp.buffer_bytes else "parameters"
        if on_meta:
            if need > META_BYTES:
                return Over(shared, "address", need, META_BYTES, detail)
            continue
        if forward:
            need += fp.activations * itemsize
            detail += " plus the activations of one forward"
        if need > limit:
            return Over(shared, "memory", need, limit, detail)
    return None


def check_budget(form: str, config: Any, *, advise_meta: bool = True, **kw: Any) -> None:
    """Raise ``ValueError`` when :func:`over_budget` finds a budget ``config`` is over.

    The message names the config field driving the size, its value, and the
    largest value of that field that fits every budget (other fields unchanged);
    off the meta device it also suggests counting there, unless ``advise_meta=False``
    (a caller that falls back to meta itself).
    """
    over = over_budget(form, config, **kw)
    if over is None:
        return
    on_meta = kw.get("on_meta", False)

    def fits(candidate: Any) -> bool:
        return over_budget(form, candidate, **kw) is None

    field, fit = _driving_field(form, config, fits)
    value = getattr(config, field) if field else None
    setting = f"{field}={value:,}" if field else "this config"
    side = SIDES[over.side]
    if over.what == "modules":
        form_def = registry.get(form)
        said = (
            f"{setting} would give {side} {over.amount:,} module names to walk (one per module in every "
            f"slot, also where slots reuse one object), over the {over.limit:,} that count in seconds, "
            "even on the meta device; the limit is Python objects, not "
            f"parameters: by the formula the shared model holds {form_def.param_count(config, True):,} "
            f"parameters and the twin {form_def.param_count(config, False):,}"
        )
    elif over.what == "ops":
        said = (
            f"{setting} would run about {over.amount:,} tensor operations in one forward of {side}, over the "
            f"limit of {over.limit:,} that can be counted in a few seconds"
        )
    elif over.what == "address":
        said = (
            f"{setting} would describe about {fmt_bytes(over.amount)} for {side} ({over.detail}), past the "
            f"{fmt_bytes(over.limit)} torch can size a tensor in, even on the meta device"
        )
    else:
        said = (
            f"{setting} needs about {fmt_bytes(over.amount)} for {side} ({over.detail}), over the "
            f"budget of {fmt_bytes(over.limit)}"
        )
    if fit is not None:
        advice = f"{field}={fit:,} fits"
    elif field:
        advice = f"lower {field} (the default is {getattr(registry.get(form).config_cls(), field):,})"
    else:
        advice = "use smaller sizes"
    if over.what in ("ops", "memory") and not on_meta and advise_meta:
        advice += ", or count it on the meta device, which allocates nothing and runs no forward"
    raise ValueError(f"{form}: {said}; {advice}.")


def _int_fields(config: Any) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(config)
        for v in [getattr(config, f.name)]
        if isinstance(v, int) and not isinstance(v, (bool, enum.Enum))
    ]


def _driving_field(form: str, config: Any, fits: Callable[[Any], bool]) -> tuple[str | None, int | None]:
    """``(field, value that fits)``: the field furthest above its default that alone can fix the size.

    Fields are tried in order of ``value / default``; for each, a binary search
    finds the largest smaller value that fits (sizes grow with every size field),
    then steps down to the nearest value the config accepts (divisibility rules).
    Without a single-field fix: ``(the furthest field, None)``.
    """
    default = registry.get(form).config_cls()

    def ratio(name: str) -> float:
        return getattr(config, name) / max(getattr(default, name), 1)

    names = sorted((n for n in _int_fields(config) if getattr(config, n) > 1), key=ratio, reverse=True)
    for name in names:
        fit = _largest_fit(config, name, fits)
        if fit is not None:
            return name, fit
    return (names[0] if names else None), None


def _largest_fit(config: Any, name: str, fits: Callable[[Any], bool]) -> int | None:
    def relaxed(v: int) -> Any:  # the config with one field changed, not validated (the formulas are total)
        c = copy.copy(config)
        object.__setattr__(c, name, v)
        return c

    def fits_relaxed(v: int) -> bool:
        try:
            return fits(relaxed(v))
        except (ArithmeticError, ValueError):
            return False

    lo, hi = 1, getattr(config, name) - 1
    if hi < 1 or not fits_relaxed(lo):
        return None
    while lo < hi:  # invariant: lo fits
        mid = (lo + hi + 1) // 2
        if fits_relaxed(mid):
            lo = mid
        else:
            hi = mid - 1
    for v in range(lo, max(lo - 256, 0), -1):  # the nearest value the config's own rules accept
        try:
            valid = dataclasses.replace(config, **{name: v})
        except ValueError:
            continue
        if fits(valid):
            return v
    return None
