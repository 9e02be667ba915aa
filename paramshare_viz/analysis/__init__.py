"""Sharing analysis: which tensors are shared, what a model holds, how often it reuses it.

>>> import paramshare_viz as psv
>>> report = psv.analyze(model, example_input)   # SharingReport
>>> psv.untie(model)                              # every name on its own storage

Submodules: ``groups`` (sharing detection), ``report`` (``analyze`` and the
report dataclasses), ``runtime`` (forward calls), ``flops`` (``count_flops``),
``memory`` (``training_memory``), ``untie``.
"""

from paramshare_viz.analysis.flops import FlopCount, count_flops
from paramshare_viz.analysis.memory import MemoryBreakdown, MemoryLedger, Optimizer, training_memory
from paramshare_viz.analysis.report import ModuleRow, SharedGroup, SharingReport, analyze
from paramshare_viz.analysis.runtime import count_calls
from paramshare_viz.analysis.untie import untie

__all__ = [
    "FlopCount",
    "MemoryBreakdown",
    "MemoryLedger",
    "ModuleRow",
    "Optimizer",
    "SharedGroup",
    "SharingReport",
    "analyze",
    "count_calls",
    "count_flops",
    "training_memory",
    "untie",
]
