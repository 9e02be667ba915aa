"""HashedNets (Chen et al., 2015) trained on a real task: accuracy against unique parameters.

The first layer of an MLP is the zoo's ``hashednet`` form: a virtual
``(hidden, F)`` weight read from ``K`` shared buckets through a fixed hash.
Compression ``c`` means ``K = hidden * F // c`` buckets; ``c = 1`` is the dense
twin (``nn.Linear``), the same network without hashing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from paramshare_viz import zoo
from paramshare_viz.learn.data import Dataset, accuracy, digits
from paramshare_viz.learn.train import Progress, gradient_step
from paramshare_viz.models.hashednet import HashedLinear

DEFAULT_COMPRESSIONS = (1, 2, 4, 8, 16, 32, 64)


def hashed_mlp(in_features: int, hidden: int, num_classes: int, compression: int, *, seed: int = 0) -> nn.Sequential:
    """``hashed Linear(F -> hidden)``, ReLU, ``Linear(hidden -> classes)``; ``compression=1`` is dense."""
    if not isinstance(compression, int) or compression < 1:
        raise ValueError(f"compression={compression!r} must be a positive integer")
    virtual = in_features * hidden
    first: nn.Module
    if compression == 1:
        first = nn.Linear(in_features, hidden)
    else:
        buckets = virtual // compression
        if buckets < 1:
            raise ValueError(
                f"compression={compression} leaves no bucket for a {hidden}x{in_features} layer "
                f"({virtual} virtual weights); use at most {virtual}"
            )
        first = zoo.build("hashednet", in_features=in_features, out_features=hidden, num_buckets=buckets, seed=seed)
    return nn.Sequential(first, nn.ReLU(), nn.Linear(hidden, num_classes))


@dataclass(frozen=True)
class HashingPoint:
    """One trained network: its compression, buckets, unique parameters (``psv.analyze``) and accuracy."""

    compression: int
    num_buckets: int
    unique_params: int
    virtual_params: int
    test_accuracy: float
    train_loss: float


@dataclass
class HashingTradeoff:
    dataset: str
    hidden: int
    points: list[HashingPoint] = field(default_factory=list)
    stopped: bool = False
    steps_done: int = 0  # steps trained, an unfinished network's included
    total_steps: int = 0  # steps asked for: compressions x steps
    models: dict[int, nn.Sequential] = field(default_factory=dict, repr=False)

    def rows(self) -> list[dict]:
        return [p.__dict__.copy() for p in self.points]


def hashing_tradeoff(
    compressions: Sequence[int] = DEFAULT_COMPRESSIONS,
    *,
    hidden: int = 32,
    steps: int = 300,
    lr: float = 0.5,
    data: Dataset | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> HashingTradeoff:
    """Train one hashed MLP per compression factor on the same data (full batch); stop between steps."""
    from paramshare_viz.analysis.report import analyze

    data = data or digits(seed=seed)
    total = len(compressions) * steps
    result = HashingTradeoff(data.name, hidden, total_steps=total)
    for i, c in enumerate(compressions):
        torch.manual_seed(seed)
        model = hashed_mlp(data.num_features, hidden, data.num_classes, c, seed=seed)
        loss = torch.tensor(float("nan"))
        for step in range(1, steps + 1):
            loss = F.cross_entropy(model(data.x_train), data.y_train)
            gradient_step(list(model.parameters()), loss, lr)
            result.steps_done = i * steps + step
            if progress:
                progress(result.steps_done, total)
            if stop is not None and stop.is_set():
                result.stopped = True
                break
        if result.stopped and step < steps:
            break  # an unfinished network would misstate the trade-off
        with torch.no_grad():
            acc = accuracy(model(data.x_test), data.y_test)
        first = model[0]
        buckets = first.config.num_buckets if isinstance(first, HashedLinear) else data.num_features * hidden
        result.points.append(
            HashingPoint(c, buckets, analyze(model).unique_params, data.num_features * hidden, acc, loss.item())
        )
        result.models[c] = model
    return result


def bucket_members(layer: HashedLinear) -> dict[int, list[tuple[int, int]]]:
    """``{bucket: [(row, col), ...]}``: the virtual weights of a hashed layer that share each bucket."""
    index = layer.index.cpu()
    cols = index.shape[1]
    members: dict[int, list[tuple[int, int]]] = {}
    for flat, bucket in enumerate(index.flatten().tolist()):
        members.setdefault(int(bucket), []).append(divmod(flat, cols))
    return members
