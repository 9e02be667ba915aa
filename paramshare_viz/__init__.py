"""paramshare_viz: see, count and time parameter sharing in PyTorch models.

>>> import paramshare_viz as psv
>>> psv.zoo.forms()[:3]
['conv', 'patch_embed', 'rnn']
"""

from paramshare_viz import bench, sliding, zoo
from paramshare_viz.analysis import ModuleRow, SharedGroup, SharingReport, analyze, untie
from paramshare_viz.analysis.loading import load_model
from paramshare_viz.analysis.ties import TieHealth, check_ties

__version__ = "0.1.0"

__all__ = [
    "ModuleRow",
    "SharedGroup",
    "SharingReport",
    "TieHealth",
    "__version__",
    "analyze",
    "bench",
    "check_ties",
    "load_model",
    "sliding",
    "untie",
    "zoo",
]
