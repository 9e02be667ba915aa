"""Sharing that is learned rather than wired in: OWL/GrOWL tying, soft tying, hashing.

>>> import paramshare_viz as psv
>>> psv.learn.owl_prox(v, lambdas)     # prox of the ordered weighted L1 norm
>>> psv.learn.growl_prox(W, lambdas)   # the same on the row norms of W
"""

from paramshare_viz.learn.owl import growl_prox, linear_lambdas, owl_prox, spike_lambdas

__all__ = ["growl_prox", "linear_lambdas", "owl_prox", "spike_lambdas"]
