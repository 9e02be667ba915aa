"""Proximal operators of the ordered weighted L1 norm (OWL) and its group version (GrOWL).

The OWL norm of ``v`` with non-increasing, non-negative weights ``lambdas`` is
``sum_i lambdas[i] * |v|_[i]``, where ``|v|_[1] >= |v|_[2] >= ...`` are the
magnitudes sorted in decreasing order (Zeng & Figueiredo, 2014; Bogdan et al.'s
SLOPE). Its prox clusters magnitudes: entries whose magnitudes are close end up
exactly equal, which is how GrOWL ties neurons (Zhang et al., 2018, "Learning to
share: simultaneous parameter tying and sparsification in deep learning").
"""

from __future__ import annotations

import torch
from torch import Tensor


def check_lambdas(lambdas: Tensor, n: int) -> Tensor:
    """``lambdas`` as a 1-D float tensor, or ``ValueError`` naming what is wrong with it."""
    lam = torch.as_tensor(lambdas, dtype=torch.float64).flatten()
    shown = [round(x, 6) for x in lam.tolist()[:8]] + (["..."] if lam.numel() > 8 else [])
    if lam.numel() != n:
        raise ValueError(f"lambdas has {lam.numel()} values {shown}; it needs one per entry ({n})")
    if not torch.isfinite(lam).all():
        raise ValueError(f"lambdas={shown} must be finite")
    if (lam < 0).any():
        raise ValueError(f"lambdas={shown} must be non-negative")
    if n > 1 and (lam[1:] > lam[:-1]).any():
        i = int(torch.nonzero(lam[1:] > lam[:-1])[0]) + 1
        raise ValueError(
            f"lambdas={shown} must be non-increasing: lambdas[{i}]={lam[i].item():.6g} > "
            f"lambdas[{i - 1}]={lam[i - 1].item():.6g}"
        )
    return lam


def _nonincreasing_fit(z: Tensor) -> Tensor:
    """Least-squares projection of ``z`` onto non-increasing sequences (pool adjacent violators)."""
    values: list[float] = []
    sizes: list[int] = []
    for x in z.tolist():
        values.append(x)
        sizes.append(1)
        # Merge blocks while the newest block's mean exceeds the one before (a violation).
        while len(values) > 1 and values[-1] > values[-2]:
            v, s = values.pop(), sizes.pop()
            total = values[-1] * sizes[-1] + v * s
            sizes[-1] += s
            values[-1] = total / sizes[-1]
    out = [v for v, s in zip(values, sizes, strict=True) for _ in range(s)]
    return torch.tensor(out, dtype=z.dtype)


def owl_prox(v: Tensor, lambdas: Tensor) -> Tensor:
    """Prox of the OWL norm: ``argmin_x 0.5 * ||x - v||^2 + sum_i lambdas[i] * |x|_[i]``.

    Sort the magnitudes in decreasing order, subtract ``lambdas``, project onto
    the non-increasing cone (pool adjacent violators), clip at 0, unsort and
    restore the signs. ``lambdas`` are rounded to ``v``'s dtype first, so an entry
    whose magnitude equals its weight at ``v``'s precision becomes exactly 0.

    Args:
        v: any-shape tensor (flattened; the result has ``v``'s shape and dtype).
        lambdas: ``v.numel()`` non-negative, non-increasing weights.

    Raises:
        ValueError: ``lambdas`` of the wrong length, negative, or increasing (with the values).

    Example:
        >>> owl_prox(torch.tensor([3.0, -1.0]), torch.tensor([1.0, 1.0]))  # soft threshold
        tensor([ 2., -0.])
    """
    flat = torch.as_tensor(v).flatten()
    lam = check_lambdas(lambdas, flat.numel())
    if flat.numel() == 0:
        return torch.as_tensor(v).clone()
    magnitude = flat.abs().to(torch.float64)
    if flat.is_floating_point():
        # Round the weights to v's precision first: -0.2 in float32 against lambda 0.2 must give
        # exactly 0, not the 3e-9 by which float32's 0.2 exceeds float64's.
        lam = lam.to(flat.dtype).to(torch.float64)
    order = torch.argsort(magnitude, descending=True, stable=True)
    fitted = _nonincreasing_fit(magnitude[order] - lam).clamp_min(0)
    out = torch.empty_like(magnitude)
    out[order] = fitted
    return (torch.sign(flat) * out.to(flat.dtype)).reshape(torch.as_tensor(v).shape)


def growl_prox(W: Tensor, lambdas: Tensor) -> Tensor:
    """Prox of group OWL over the rows of ``W``: OWL prox of the row norms, rows rescaled.

    Rows whose norm the prox sets to 0 are removed (all zeros); rows whose norms
    it makes equal are the candidates GrOWL ties.

    Shape:
        W: ``(R, C)`` — R groups (e.g. a layer's neurons), C weights each.
        lambdas: ``(R,)``.
    """
    if W.dim() != 2:
        raise ValueError(f"W has shape {tuple(W.shape)}; growl_prox needs a 2-D matrix (rows are groups)")
    norms = W.norm(dim=1)
    new = owl_prox(norms, lambdas)
    scale = torch.where(norms > 0, new / norms.clamp_min(torch.finfo(W.dtype).tiny), torch.zeros_like(norms))
    return W * scale[:, None]


def linear_lambdas(n: int, lambda1: float, lambda2: float) -> Tensor:
    """OSCAR-like linear decay: ``lambdas[i] = lambda1 + lambda2 * (n - 1 - i)``, i = 0..n-1.

    ``lambda1`` is the L1-like part (sparsity), ``lambda2`` the tying strength
    (Bondell & Reich's OSCAR, the "GrOWL-Lin" setting of Zhang et al., 2018).
    """
    _check_weights(n, lambda1, lambda2)
    return lambda1 + lambda2 * torch.arange(n - 1, -1, -1, dtype=torch.float64)


def spike_lambdas(n: int, lambda1: float, lambda2: float) -> Tensor:
    """The spike variant: ``lambdas[0] = lambda1 + lambda2``, every other ``lambda1``.

    Group-Lasso plus a group-infinity-norm term ("GrOWL-Spike", Zhang et al., 2018).
    """
    _check_weights(n, lambda1, lambda2)
    lam = torch.full((n,), float(lambda1), dtype=torch.float64)
    if n:
        lam[0] += lambda2
    return lam


def _check_weights(n: int, lambda1: float, lambda2: float) -> None:
    if n < 0:
        raise ValueError(f"n={n} must be non-negative")
    for name, value in (("lambda1", lambda1), ("lambda2", lambda2)):
        if not value >= 0:
            raise ValueError(f"{name}={value} must be non-negative")
