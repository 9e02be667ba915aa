"""OWL and GrOWL proximal operators against brute force, closed forms, and bad weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from paramshare_viz.learn.owl import growl_prox, linear_lambdas, owl_prox, spike_lambdas


def owl_norm(x: np.ndarray, lam: np.ndarray) -> float:
    return float(np.sort(np.abs(x))[::-1] @ lam)


def brute_force_prox(v: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Solve min 0.5||x - v||^2 + OWL(x) as a smooth QP with SLSQP.

    OWL(x) = sum_k (lam_k - lam_{k+1}) * top_k(|x|), and the sum of the k largest
    |x_i| is min_t k*t + sum_i max(|x_i| - t, 0): variables x, a >= |x|, t_k, u_ik >= a_i - t_k, u >= 0.
    """
    n = len(v)
    c = lam - np.append(lam[1:], 0.0)  # >= 0 for non-increasing lam

    def split(z):
        return z[:n], z[n : 2 * n], z[2 * n : 3 * n], z[3 * n :].reshape(n, n)

    def objective(z):
        x, _a, t, u = split(z)
        return 0.5 * np.sum((x - v) ** 2) + sum(c[k] * ((k + 1) * t[k] + u[:, k].sum()) for k in range(n))

    constraints = [
        {"type": "ineq", "fun": lambda z: split(z)[1] - split(z)[0]},
        {"type": "ineq", "fun": lambda z: split(z)[1] + split(z)[0]},
        {"type": "ineq", "fun": lambda z: (split(z)[3] - split(z)[1][:, None] + split(z)[2][None, :]).ravel()},
        {"type": "ineq", "fun": lambda z: split(z)[3].ravel()},
    ]
    z0 = np.concatenate([v, np.abs(v), np.zeros(n), np.zeros(n * n)])
    best = minimize(objective, z0, method="SLSQP", constraints=constraints, options={"ftol": 1e-14, "maxiter": 1000})
    assert best.success, best.message
    return split(best.x)[0]


@pytest.mark.parametrize("seed", range(8))
def test_owl_prox_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    v = rng.normal(scale=2.0, size=n)
    lam = np.sort(rng.uniform(0, 1.5, size=n))[::-1].copy()
    ours = owl_prox(torch.tensor(v), torch.tensor(lam)).numpy()
    brute = brute_force_prox(v, lam)
    objective = lambda x: 0.5 * np.sum((x - v) ** 2) + owl_norm(x, lam)  # noqa: E731
    # The prox is the unique minimiser: ours is never worse, and it is the same point.
    assert objective(ours) <= objective(brute) + 1e-7
    np.testing.assert_allclose(ours, brute, atol=1e-5)


def test_equal_lambdas_are_soft_thresholding():
    v = torch.tensor([3.0, -1.5, 0.2, -0.7])
    # Soft thresholding at 0.5: sign(v) * max(|v| - 0.5, 0).
    torch.testing.assert_close(owl_prox(v, torch.full((4,), 0.5)), torch.tensor([2.5, -1.0, 0.0, -0.2]))


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
