"""The registry behind ``psv.zoo``: one :class:`Form` per sharing form.

Each ``models/<form>.py`` defines a frozen config dataclass and calls
:func:`register` once at import time. ``paramshare_viz.zoo`` turns the
registry into the public functions ``forms``, ``default_config``, ``build``,
``pair`` and ``example_input``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

ExampleInput = torch.Tensor | tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class Footprint:
    """What building one model and running one forward on its example input costs,
    estimated from the config alone (closed forms, nothing built).

    Attributes:
        params: unique parameter elements (the form's ``param_count``).
        buffer_bytes: bytes of buffers (HashedNets' index map; 0 for most forms).
        inputs: elements of ``example_input`` at the given batch.
        activations: elements of the tensors one forward creates, summed (an upper
            estimate of its peak memory, and a measure of its tensor work).
        modules: entries of ``named_modules(remove_duplicate=False)``: the modules
            built and every further slot that reuses one (one block in 10**6 slots
            is walked 10**6 times by the analysis). Python work, so large counts
            are slow even on the meta device.
        ops: tensor operations one forward dispatches (measured per layer, step or
            task; the analysis counts FLOPs op by op, so this is its running time).
    """

    params: int
    buffer_bytes: int
    inputs: int
    activations: int
    modules: int
    ops: int


@dataclass(frozen=True)
class Reference:
    """A third model beside a form's two sides, for scale: its parameters from the config.

    Attributes:
        key: short name (``"dense"``), the key of its bar and card.
        label: what the bar and card say (``"Dense"``).
        count: ``count(config) -> int``, its unique parameters.
        hint: one line defining the number, shown on hover.
    """

    key: str
    label: str
    count: Callable[[Any], int]
    hint: str


@dataclass(frozen=True)
class Form:
    """Everything the zoo needs to know about one sharing form.

    Attributes:
        name: registry key, e.g. ``"conv"``.
        config_cls: frozen dataclass; its ``__post_init__`` raises ``ValueError``
            naming the field and the bad value.
        build: ``build(config, shared) -> nn.Module`` on the current default device.
        example_input: ``example_input(config, batch) -> Tensor | tuple`` on CPU.
        copy_to_twin: ``copy_to_twin(shared_model, unshared_model)`` copies the shared
            tensors into every independent tensor of the twin, in place, so that
            both compute the same function.
        param_count: ``param_count(config, shared) -> int``, the analytic formula of the
            docstring's ``Sharing:`` section (unique parameters).
        footprint: ``footprint(config, shared, batch) -> Footprint``, the closed forms
            the zoo checks against its budgets before building anything.
        summary: one line for menus.
        in_call_note: ``in_call_note(config) -> str``, sharing inside one forward call that
            neither names nor call counts show ("one kernel reused at 64 positions").
        meta_note: ``meta_note(config) -> str``, sharing that call counts show, said from the
            config where no forward runs (the meta device): "one cell reused at 5 steps".
        side_labels: names of the shared model and its twin, where "Shared" / "Unshared twin" says less.
        reference: a third model drawn beside the two for scale (conv: one dense layer).
    """

    name: str
    config_cls: type
    build: Callable[[Any, bool], nn.Module]
    example_input: Callable[[Any, int], ExampleInput]
    copy_to_twin: Callable[[nn.Module, nn.Module], None]
    param_count: Callable[[Any, bool], int]
    footprint: Callable[[Any, bool, int], Footprint]
    summary: str = ""
    in_call_note: Callable[[Any], str] | None = None
    meta_note: Callable[[Any], str] | None = None
    side_labels: tuple[str, str] = ("Shared", "Unshared twin")
    reference: Reference | None = None


_FORMS: dict[str, Form] = {}


def register(form: Form) -> Form:
    if form.name in _FORMS:
        raise ValueError(f"sharing form {form.name!r} is registered twice")
    params = getattr(form.config_cls, "__dataclass_params__", None)  # set by @dataclass; not in typeshed
    if not (dataclasses.is_dataclass(form.config_cls) and params is not None and params.frozen):
        raise TypeError(f"config of {form.name!r} must be a frozen dataclass")
    _FORMS[form.name] = form
    return form


def get(name: str) -> Form:
    try:
        return _FORMS[name]
    except KeyError:
        raise ValueError(f"form={name!r} is not a sharing form; choose one of {sorted(_FORMS)}") from None


def names() -> list[str]:
    return list(_FORMS)
