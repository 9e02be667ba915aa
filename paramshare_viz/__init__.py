"""paramshare_viz: see, count and time parameter sharing in PyTorch models.

>>> import paramshare_viz as psv
>>> psv.zoo.forms()[:3]
['conv', 'patch_embed', 'rnn']
"""

from paramshare_viz import bench, learn, sliding, unroll, zoo
from paramshare_viz.analysis import ModuleRow, SharedGroup, SharingReport, analyze, untie
from paramshare_viz.analysis.loading import load_model
from paramshare_viz.analysis.ties import TieHealth, check_ties
from paramshare_viz.graph import SharingGraph, sharing_graph

__version__ = "0.1.0"


def show(model, example_input=None) -> None:
    """Cards, sharing graph, groups and module table of ``model``, inline in a notebook.

    A thin front for :func:`paramshare_viz.app.show.show` (imported on first use,
    so ``import paramshare_viz`` never imports ipywidgets).
    """
    import importlib  # by name: the pure layers' type check must not follow into the widget code

    importlib.import_module("paramshare_viz.app.show").show(model, example_input)


__all__ = [
    "ModuleRow",
    "SharedGroup",
    "SharingGraph",
    "SharingReport",
    "TieHealth",
    "__version__",
    "analyze",
    "bench",
    "check_ties",
    "learn",
    "load_model",
    "sharing_graph",
    "show",
    "sliding",
    "unroll",
    "untie",
    "zoo",
]
