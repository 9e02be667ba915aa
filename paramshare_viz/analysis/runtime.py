"""Runtime facts about a model on one input: forward calls per module.

A shared module is one Python object, so its forward pre-hook fires once per
use: an RNN cell unrolled over ``T`` steps is called ``T`` times, ALBERT's one
block ``L`` times. Hooks are registered on every distinct module and removed
before returning, even when the forward raises.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

#: What ``analyze``/``count_flops`` accept as an example input: one tensor
#: (``model(x)``), a tuple or list of tensors (``model(*x)``), or a mapping of
#: keyword arguments (``model(**x)``, e.g. ``{"input_ids": ids}`` for Hugging Face).
ModelInput = torch.Tensor | tuple[Any, ...] | list[Any] | Mapping[str, Any]


def call_model(model: nn.Module, example_input: ModelInput) -> Any:
    """``model(example_input)`` with tuples/lists spread as positional and mappings as keyword arguments."""
    if isinstance(example_input, Mapping):
        return model(**example_input)
    if isinstance(example_input, (tuple, list)):
        return model(*example_input)
    return model(example_input)


def output_tensors(output: Any) -> Iterator[torch.Tensor]:
    """Every tensor inside a model output (tensors, tuples, lists, dicts, HF ``ModelOutput``)."""
    if isinstance(output, torch.Tensor):
        yield output
    elif isinstance(output, Mapping):
        for value in output.values():
            yield from output_tensors(value)
    elif isinstance(output, (tuple, list)):
        for value in output:
            yield from output_tensors(value)


def module_names(model: nn.Module) -> dict[int, list[str]]:
    """``{id(module): [qualified names in traversal order]}``; the root is ``""``.

    A module registered in several places (``nn.ModuleList([blk] * 4)``) has
    several names; the first one is its canonical name.
    """
    names: dict[int, list[str]] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        names.setdefault(id(module), []).append(name)
    return names


class CallCounter:
    """Context manager counting forward calls of every module of ``model``.

    It doubles as the module tracker of ``torch.utils.flop_counter.FlopCounterMode``
    (``counter.mod_tracker = CallCounter(model)``): ``parents`` holds the
    canonical names of the modules currently running, plus ``"Global"``, so
    FLOPs are attributed to qualified names. Unlike torch's own tracker it
    registers no autograd hooks, which fail under ``torch.no_grad()`` when a
    module receives a no-grad view of a parameter (an RNN's ``h0.expand(N, -1)``).

    Example:
        >>> with CallCounter(model) as counter:
        ...     model(x)
        >>> counter.calls   # {qualified name: calls}, every name of every module

    Attributes:
        calls: after exit, ``{qualified name: forward calls}`` for every module name
            (the root is ``""``); a module registered under several names is one
            object, and its count is reported under *every* one of its names.
        parents: canonical names (first qualified name) of the modules whose
            forward is running, and ``"Global"``.

    :meth:`innermost` names the module whose forward is running innermost (the
    module a torch call belongs to; :class:`~paramshare_viz.analysis.uses.UseTracer`
    asks it).
    """

    def __init__(self, model: nn.Module) -> None:
        self._names = module_names(model)
        self._modules = {id(m): m for m in model.modules()}
        self._first = {key: names[0] for key, names in self._names.items()}
        self._counts: dict[int, int] = dict.fromkeys(self._modules, 0)
        self._depth: dict[int, int] = dict.fromkeys(self._modules, 0)
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._stack: list[str] = []  # canonical names of running forwards, innermost last
        self.calls: dict[str, int] = {}
        self.parents: set[str] = {"Global"}

    def _pre_hook(self, module: nn.Module, args: Any) -> None:
        key = id(module)
        self._counts[key] += 1
        self._depth[key] += 1
        self._stack.append(self._first[key])
        self.parents.add(self._first[key])

    def _post_hook(self, module: nn.Module, args: Any, output: Any) -> None:
        key = id(module)
        self._depth[key] -= 1
        if self._stack:
            self._stack.pop()
        if self._depth[key] <= 0:
            self._depth[key] = 0
            self.parents.discard(self._first[key])

    def __enter__(self) -> CallCounter:
        try:
            for module in self._modules.values():
                # first among pre-hooks: a model's own pre-hook (old-style weight_norm) runs inside its module
                self._handles.append(module.register_forward_pre_hook(self._pre_hook, prepend=True))
                self._handles.append(module.register_forward_hook(self._post_hook, always_call=True))
        except BaseException:
            self._remove()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._remove()
        self.parents = {"Global"}
        self.calls = {
            name: self._counts[key] for key, names in self._names.items() for name in names
        }

    def innermost(self) -> str:
        """Canonical name of the innermost module whose forward is running (``""``: the root, or none)."""
        return self._stack[-1] if self._stack else ""

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def count_calls(model: nn.Module, example_input: ModelInput) -> dict[str, int]:
    """Forward calls of every module during one ``model(example_input)``.

    Runs under ``torch.no_grad()`` in the model's current train/eval mode.

    Returns:
        ``{qualified name: calls}`` for every module name, the root ``""`` included.
        A module registered under several names is one object: its count (all
        its calls, whichever name the caller used) appears under every name.
    """
    with torch.no_grad(), CallCounter(model) as counter:
        call_model(model, example_input)
    return counter.calls
