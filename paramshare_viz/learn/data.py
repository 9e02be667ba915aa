"""Small data sets for learned tying: scikit-learn's bundled digits and planted correlated features.

Both are built in memory (no download): the digits ship inside scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Dataset:
    """A classification data set split into train and held-out parts.

    Attributes:
        name: what it is, for captions.
        x_train, x_test: ``(N, F)`` float32 features.
        y_train, y_test: ``(N,)`` int64 class labels in ``0..num_classes-1``.
        num_classes: number of classes.
        groups: for planted data, the group of each feature (``-1`` for a noise
            feature that carries no signal); ``None`` where the truth is unknown.
    """

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    num_classes: int
    groups: tuple[int, ...] | None = None

    @property
    def num_features(self) -> int:
        return self.x_train.shape[1]


def _split(
    x: Tensor, y: Tensor, test_fraction: float, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction={test_fraction} must be between 0 and 1")
    order = torch.randperm(len(y), generator=generator)
    n_test = max(1, int(len(y) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def digits(*, test_fraction: float = 0.3, seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 handwritten 8x8 digits, pixels scaled to ``[0, 1]``, 10 classes."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.data, dtype=torch.float32) / 16.0  # pixel values are 0..16
    y = torch.tensor(bunch.target, dtype=torch.int64)
    g = torch.Generator().manual_seed(seed)
    x_train, y_train, x_test, y_test = _split(x, y, test_fraction, g)
    return Dataset("digits (8x8, scikit-learn)", x_train, y_train, x_test, y_test, num_classes=10)


def planted_groups(
    *,
    num_groups: int = 4,
    group_size: int = 4,
    num_noise: int = 8,
    num_samples: int = 800,
    num_classes: int = 3,
    noise: float = 0.1,
    test_fraction: float = 0.3,
    seed: int = 0,
) -> Dataset:
    """Features in planted correlated groups; the class depends on the groups' shared signals.

    Group ``g`` holds ``group_size`` noisy copies of one latent signal ``z_g``
    (correlation about ``1 / (1 + noise**2)``), and ``num_noise`` independent
    features carry nothing. The label is ``argmax(z @ A)`` for a fixed random
    ``A``, so every group matters and no noise feature does: a method that
    finds the structure keeps every group, ties each group's features, and
    removes the noise.
    """
    for name, value in (("num_groups", num_groups), ("group_size", group_size), ("num_classes", num_classes)):
        if value < 1:
            raise ValueError(f"{name}={value} must be at least 1")
    if num_noise < 0 or num_samples < 10 or noise < 0:
        raise ValueError(f"num_noise={num_noise}, num_samples={num_samples}, noise={noise}: need >= 0, >= 10, >= 0")
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(num_samples, num_groups, generator=g)
    copies = z.repeat_interleave(group_size, dim=1)  # (N, G * size): feature f is a copy of z[f // size]
    signal = copies + noise * torch.randn(copies.shape, generator=g)
    junk = torch.randn(num_samples, num_noise, generator=g)
    x = torch.cat([signal, junk], dim=1)
    mixing = torch.randn(num_groups, num_classes, generator=g)
    y = (z @ mixing).argmax(dim=1)
    groups = tuple(f // group_size for f in range(num_groups * group_size)) + (-1,) * num_noise
    x_train, y_train, x_test, y_test = _split(x, y, test_fraction, g)
    return Dataset(
        f"planted: {num_groups} groups x {group_size} correlated features + {num_noise} noise",
        x_train,
        y_train,
        x_test,
        y_test,
        num_classes=num_classes,
        groups=groups,
    )


def standardized(data: Dataset) -> Dataset:
    """``data`` with every feature scaled to mean 0 and standard deviation 1 on the training part.

    The test part is scaled with the training part's mean and deviation. A feature
    that is constant in training (a digit's always-blank corner pixel) is only centred.
    A penalty on input neurons (GrOWL, L1) then means the same on every data set:
    with raw digit pixels in ``[0, 1]`` the λ that removes planted noise removes every pixel.
    """
    import dataclasses

    mean, std = data.x_train.mean(0), data.x_train.std(0)
    scale = torch.where(std > 1e-6, std, torch.ones_like(std))
    return dataclasses.replace(data, x_train=(data.x_train - mean) / scale, x_test=(data.x_test - mean) / scale)


def accuracy(logits: Tensor, y: Tensor) -> float:
    return float((logits.argmax(dim=1) == y).float().mean())
