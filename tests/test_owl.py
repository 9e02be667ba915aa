"""OWL and GrOWL proximal operators against brute force, closed forms, and bad weights."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from paramshare_viz.learn.owl import growl_prox, linear_lambdas, owl_prox, spike_lambdas


def owl_norm(x: np.ndarray, lam: np.ndarray) -> float:
    return float(np.sort(np.abs(x))[::-1] @ lam)


def exact_prox(v: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """The OWL prox by enumeration: exact for small n, no solver, no tolerance.

    With |v| sorted decreasingly as ``z``, the prox's sorted magnitudes are the projection of
    ``z - lam`` onto the non-increasing, non-negative cone (Bogdan et al., 2015, SLOPE). That
    projection is constant on contiguous blocks, each at max(block mean, 0), so it is one of the
    2**(n-1) block partitions; on the cone the objective is 0.5||y - z||^2 + lam . y, and the
    projection is the feasible candidate that minimises it. No algorithm under test is used.
    """
    n = len(v)
    order = np.argsort(-np.abs(v), kind="stable")
    z = np.abs(v)[order]
    best, best_cost = None, np.inf
    for mask in itertools.product((False, True), repeat=n - 1):
        cuts = [0] + [i + 1 for i, cut in enumerate(mask) if cut] + [n]
        y = np.concatenate([np.full(b - a, max((z[a:b] - lam[a:b]).mean(), 0.0)) for a, b in itertools.pairwise(cuts)])
        if np.any(np.diff(y) > 0):
            continue  # not on the cone
        cost = 0.5 * np.sum((y - z) ** 2) + lam @ y
        if cost < best_cost:
            best, best_cost = y, cost
    assert best is not None  # the all-in-one-block candidate is always feasible
    out = np.empty(n)
    out[order] = best
    return np.sign(v) * out


@pytest.mark.parametrize("seed", range(32))
def test_owl_prox_matches_exact_enumeration(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    v = rng.normal(scale=2.0, size=n)
    lam = np.sort(rng.uniform(0, 1.5, size=n))[::-1].copy()
    ours = owl_prox(torch.tensor(v), torch.tensor(lam)).numpy()
    exact = exact_prox(v, lam)
    objective = lambda x: 0.5 * np.sum((x - v) ** 2) + owl_norm(x, lam)  # noqa: E731
    # The prox is the unique minimiser: the same point, and so the same objective (float64 rounding only).
    np.testing.assert_allclose(ours, exact, rtol=0, atol=1e-12)
    assert abs(objective(ours) - objective(exact)) <= 1e-12 * max(1.0, objective(exact))


def test_equal_lambdas_are_soft_thresholding():
    v = torch.tensor([3.0, -1.5, 0.2, -0.7])
    # Soft thresholding at 0.5: sign(v) * max(|v| - 0.5, 0).
    torch.testing.assert_close(owl_prox(v, torch.full((4,), 0.5)), torch.tensor([2.5, -1.0, 0.0, -0.2]))


def test_entries_at_their_weight_become_exact_zeros_in_float32():
    # The tutorial's example: |v| sorted 3, 2.9, 1, 0.2, 0.1 against lambdas 0.5 .. 0.1 leaves
    # 0.2 - 0.2 and 0.1 - 0.1: exact zeros (float32's 0.2 exceeds float64's by 3e-9).
    v = torch.tensor([3.0, 2.9, 1.0, -0.2, 0.1])
    out = owl_prox(v, linear_lambdas(5, 0.1, 0.1))
    assert out.dtype == torch.float32
    assert out[3].item() == 0.0 and out[4].item() == 0.0
    torch.testing.assert_close(out[:3], torch.tensor([2.5, 2.5, 0.7]))


def test_close_magnitudes_are_tied():
    # |v| sorted = 3, 2.9, 0.1; minus (1, 0.5, 0) = 2, 2.4, 0.1 -> pooled (2.2, 2.2), 0.1.
    out = owl_prox(torch.tensor([-2.9, 3.0, 0.1]), torch.tensor([1.0, 0.5, 0.0]))
    torch.testing.assert_close(out, torch.tensor([-2.2, 2.2, 0.1]))


def test_growl_equal_lambdas_soft_threshold_the_row_norms():
    W = torch.tensor([[3.0, 4.0], [0.6, 0.8], [0.0, 0.0]])  # row norms 5, 1, 0
    out = growl_prox(W, torch.full((3,), 2.0))
    # Norms 5 -> 3 (row scaled by 3/5); 1 -> 0 (removed); the zero row stays zero.
    torch.testing.assert_close(out, torch.tensor([[1.8, 2.4], [0.0, 0.0], [0.0, 0.0]]))


def test_growl_ties_rows_of_close_norms():
    W = torch.tensor([[3.0, 0.0], [0.0, 2.9], [0.1, 0.0]])
    out = growl_prox(W, linear_lambdas(3, 0.0, 0.5))  # lambdas 1.0, 0.5, 0.0
    norms = out.norm(dim=1)
    assert norms[0].item() == pytest.approx(2.2) and norms[1].item() == pytest.approx(2.2)
    assert norms[2].item() == pytest.approx(0.1)


def test_weight_sequences():
    torch.testing.assert_close(linear_lambdas(4, 0.1, 0.2), torch.tensor([0.7, 0.5, 0.3, 0.1], dtype=torch.float64))
    torch.testing.assert_close(spike_lambdas(3, 0.1, 0.5), torch.tensor([0.6, 0.1, 0.1], dtype=torch.float64))


@pytest.mark.parametrize(
    ("lambdas", "message"),
    [
        ([0.1, 0.5, 0.2], "must be non-increasing: lambdas[1]=0.5 > lambdas[0]=0.1"),
        ([0.5, -0.1, -0.2], "must be non-negative"),
        ([0.5, 0.1], "lambdas has 2 values [0.5, 0.1]; it needs one per entry (3)"),
        ([float("nan")] * 3, "must be finite"),
    ],
)
def test_bad_lambdas_name_the_values(lambdas, message):
    with pytest.raises(ValueError) as err:
        owl_prox(torch.ones(3), torch.tensor(lambdas))
    assert message in str(err.value)


def test_bad_shapes_and_weights():
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        growl_prox(torch.ones(3), torch.ones(3))
    with pytest.raises(ValueError, match="lambda2=-1"):
        linear_lambdas(3, 0.1, -1)
