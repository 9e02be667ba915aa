"""The one training step every learned-tying experiment takes: full-batch gradient descent."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

Progress = Callable[[int, int], None]  # (steps done, steps in all)


def gradient_step(params: Sequence[Tensor], loss: Tensor, lr: float) -> None:
    """``p -= lr * d(loss)/dp`` for every tensor in ``params`` (plain GD: the prox steps stay exact)."""
    grads = torch.autograd.grad(loss, list(params))
    with torch.no_grad():
        for p, g in zip(params, grads, strict=True):
            p.sub_(lr * g)
