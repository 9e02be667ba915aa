"""paramshare_viz: see, count and time parameter sharing in PyTorch models.

>>> import paramshare_viz as psv
>>> psv.zoo.forms()[:3]
['conv', 'patch_embed', 'rnn']
"""

from paramshare_viz import zoo
from paramshare_viz.analysis import ModuleRow, SharedGroup, SharingReport, analyze, untie

__version__ = "0.1.0"

__all__ = ["zoo", "__version__", "analyze", "untie", "SharingReport", "SharedGroup", "ModuleRow"]
