"""GrOWL's two-stage procedure (Zhang et al., 2018): learn which input neurons to drop and to tie, then retrain.

Stage 1 trains an MLP by proximal gradient descent with the GrOWL penalty on
the first layer's *input neurons*: neuron ``f``'s outgoing weights (column
``f`` of ``nn.Linear``'s ``(out, in)`` weight) form one group. The prox zeroes
unimportant neurons and pulls the groups of strongly correlated neurons to a
common value. Stage 2 clusters the surviving groups, ties each cluster to one
``nn.Parameter`` object (so ``psv.analyze`` sees the sharing by identity),
drops the removed neurons, and retrains with that structure enforced.
Plain L1 (elementwise soft thresholding, Lasso's prox) is offered beside it.
Features are standardized first (training mean and deviation,
:func:`~paramshare_viz.learn.data.standardized`), so one λ means the same on
every data set; the returned model reads standardized features.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from paramshare_viz.learn.data import Dataset, accuracy, planted_groups, standardized
from paramshare_viz.learn.owl import growl_prox, linear_lambdas, spike_lambdas
from paramshare_viz.learn.soft_tying import mlp
from paramshare_viz.learn.train import Progress, gradient_step

PENALTIES = ("growl", "l1")
WEIGHTS = ("linear", "spike")
CLUSTERINGS = ("threshold", "affinity")


@dataclass(frozen=True)
class GrowlConfig:
    """The two-stage procedure's settings.

    Attributes:
        penalty: ``"growl"`` (group OWL on input neurons) or ``"l1"`` (elementwise, Lasso).
        weights: GrOWL's weight sequence, ``"linear"`` (OSCAR-like) or ``"spike"``.
        lambda1: the sparsity part (every lambda_i includes it; L1's only weight).
        lambda2: the tying part (linear: slope per rank; spike: extra weight of the largest group).
        hidden: width of the hidden layer.
        steps, retrain_steps: full-batch steps of stage 1 and stage 2.
        lr: step size of both stages.
        tie_tolerance: surviving neurons whose weight vectors differ by at most this
            fraction of their mean norm are tied (``cluster="threshold"``).
        cluster: ``"threshold"`` (complete linkage at ``tie_tolerance``) or
            ``"affinity"`` (affinity propagation, as the paper does).
        seed: initialisation.
    """

    penalty: str = "growl"
    weights: str = "linear"
    lambda1: float = 0.05  # zeroes the planted noise neurons, keeps every signal group
    lambda2: float = 0.002
    hidden: int = 16
    steps: int = 600
    retrain_steps: int = 300
    lr: float = 0.3
    tie_tolerance: float = 0.15
    cluster: str = "threshold"
    seed: int = 0

    def __post_init__(self) -> None:
        for name, options in (("penalty", PENALTIES), ("weights", WEIGHTS), ("cluster", CLUSTERINGS)):
            if getattr(self, name) not in options:
                raise ValueError(f"{name}={getattr(self, name)!r} must be one of {list(options)}")
        for name in ("lambda1", "lambda2", "tie_tolerance"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name}={getattr(self, name)} must be non-negative")
        for name in ("hidden", "steps"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be a positive integer")
        if not isinstance(self.retrain_steps, int) or self.retrain_steps < 0:
            raise ValueError(f"retrain_steps={self.retrain_steps!r} must be a non-negative integer")
        if not (0 < self.lr < 10):
            raise ValueError(f"lr={self.lr} must be between 0 and 10")


class TiedInputLinear(nn.Module):
    """``nn.Linear`` over the kept input neurons, whose weight columns are tied in clusters.

    ``columns`` holds one entry per kept input neuron; neurons of one cluster
    hold the *same* ``nn.Parameter`` object (sharing by identity), so the
    layer stores one ``(out,)`` vector per cluster.

    Shape:
        - Input: ``(N, F)``, all ``F`` original features (removed ones are skipped).
        - Output: ``(N, out)``.

    Sharing:
        ``out * clusters + out`` parameters instead of ``out * F + out``.
    """

    kept: Tensor

    def __init__(self, centres: list[Tensor], cluster_of: list[int], kept: list[int], bias: Tensor) -> None:
        super().__init__()
        shared = [nn.Parameter(c.detach().clone()) for c in centres]
        self.columns = nn.ParameterList([shared[c] for c in cluster_of])  # tied by identity
        self.register_buffer("kept", torch.tensor(kept, dtype=torch.long))
        self.bias = nn.Parameter(bias.detach().clone())

    def weight(self) -> Tensor:
        return torch.stack(list(self.columns), dim=1)  # (out, kept)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x[:, self.kept], self.weight(), self.bias)


@dataclass
class GrowlResult:
    """What the two stages did.

    Attributes:
        column_norms: norm of each input neuron's weight group after stage 1.
        removed: input neurons zeroed by stage 1.
        clusters: ``{cluster id: [input neurons]}`` of the kept neurons (singletons included).
        tied_groups: clusters with at least two neurons.
        acc_dense, acc_stage1, acc_retrained: held-out accuracy of the plainly trained
            model (same steps, no penalty), after stage 1, after stage 2.
        unique_before, unique_after, naive_after: ``psv.analyze`` counts of the
            stage-1 model and of the tied, retrained model.
        kept_per_group: planted data only: ``{group: neurons kept}``.
        ari: planted data only: adjusted Rand index of (removed + clusters) vs the planted groups.
        stopped: stopped early; the result covers the steps done.
        num_features, num_classes: of the data set (``1 / num_classes`` is chance accuracy).
        steps_done, total_steps: full-batch steps trained (plain model, stage 1, stage 2) and planned;
            stage 2 is skipped when stage 1 removes every input neuron or the run is stopped.
    """

    config: GrowlConfig
    dataset: str
    column_norms: list[float] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    clusters: dict[int, list[int]] = field(default_factory=dict)
    acc_dense: float = float("nan")
    acc_stage1: float = float("nan")
    acc_retrained: float = float("nan")
    unique_before: int = 0
    unique_after: int = 0
    naive_after: int = 0
    kept_per_group: dict[int, int] | None = None
    ari: float | None = None
    losses: list[float] = field(default_factory=list)
    stopped: bool = False
    num_features: int = 0
    num_classes: int = 0
    steps_done: int = 0
    total_steps: int = 0
    columns: Tensor | None = field(default=None, repr=False)  # (F, hidden) after stage 1
    model: nn.Module | None = field(default=None, repr=False)

    @property
    def tied_groups(self) -> list[list[int]]:
        return [members for members in self.clusters.values() if len(members) > 1]

    @property
    def chance(self) -> float:
        """Accuracy of guessing, ``1 / num_classes``."""
        return 1 / self.num_classes if self.num_classes else float("nan")

    @property
    def collapsed(self) -> str:
        """Why the run collapsed, in words, or ``""``: every input removed, or final accuracy near chance.

        Near chance: less than a tenth of the way from chance to 100%
        (digits: below 19%, three planted classes: below 40%).
        """
        reasons = []
        if self.num_features and len(self.removed) == self.num_features:
            reasons.append(f"stage 1 removed all {self.num_features} input neurons, so the model ignores its input")
        if self.num_classes and self.acc_retrained < self.chance + 0.1 * (1 - self.chance):
            reasons.append(f"held-out accuracy {self.acc_retrained:.1%} is near chance ({self.chance:.1%}, "
                           f"1 in {self.num_classes})")
        return "; ".join(reasons)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("columns", "model", "config")}
        out["config"] = dict(self.config.__dict__)
        out["tied_groups"] = self.tied_groups
        out["collapsed"] = self.collapsed
        return out


def penalty_prox(W: Tensor, config: GrowlConfig, step: float) -> Tensor:
    """The stage-1 prox on a first-layer weight ``W`` of shape ``(out, F)``, for step size ``step``."""
    if config.penalty == "l1":
        return torch.sign(W) * (W.abs() - step * config.lambda1).clamp_min(0)
    make = linear_lambdas if config.weights == "linear" else spike_lambdas
    lambdas = make(W.shape[1], step * config.lambda1, step * config.lambda2)
    return growl_prox(W.T, lambdas).T  # groups are input neurons: columns of W


def cluster_columns(columns: Tensor, config: GrowlConfig) -> list[int]:
    """Cluster label of each row of ``columns`` (the kept neurons' weight vectors)."""
    n = columns.shape[0]
    if n <= 1:
        return [0] * n
    if config.cluster == "affinity":
        from sklearn.cluster import AffinityPropagation

        similarity = -torch.cdist(columns, columns).pow(2).numpy()
        ap = AffinityPropagation(affinity="precomputed", random_state=config.seed).fit(similarity)
        return [int(c) for c in ap.labels_]
    from scipy.cluster.hierarchy import fcluster, linkage

    scale = float(columns.norm(dim=1).mean())
    tree = linkage(columns.numpy() / scale, method="complete")
    return [int(c) - 1 for c in fcluster(tree, t=config.tie_tolerance, criterion="distance")]


def _train(model: nn.Module, data: Dataset, steps: int, lr: float, after_step, progress, offset, total, stop):
    """Full-batch steps; ``progress(offset + step, total)`` after each; ``(losses, stopped)``."""
    losses = []
    for step in range(1, steps + 1):
        loss = F.cross_entropy(model(data.x_train), data.y_train)
        gradient_step(list(model.parameters()), loss, lr)
        if after_step:
            with torch.no_grad():
                after_step()
        losses.append(loss.item())
        if progress:
            progress(offset + step, total)
        if stop is not None and stop.is_set():
            return losses, True
    return losses, False


def two_stage(
    config: GrowlConfig | None = None,
    data: Dataset | None = None,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> GrowlResult:
    """Run GrOWL (or L1) stage 1, cluster and tie, retrain; see the module docstring."""
    from sklearn.metrics import adjusted_rand_score

    from paramshare_viz.analysis.report import analyze

    config = config or GrowlConfig()
    data = standardized(data or planted_groups(seed=config.seed))  # one λ for every data set's scale
    total = 2 * config.steps + config.retrain_steps
    result = GrowlResult(config, data.name, num_features=data.num_features, num_classes=data.num_classes,
                         total_steps=total)

    torch.manual_seed(config.seed)
    dense = mlp(data.num_features, config.hidden, data.num_classes)
    model = mlp(data.num_features, config.hidden, data.num_classes)
    model.load_state_dict(dense.state_dict())
    plain, stopped = _train(dense, data, config.steps, config.lr, None, progress, 0, total, stop)
    first = cast(nn.Linear, model[0])

    def prox() -> None:
        first.weight.copy_(penalty_prox(first.weight, config, config.lr))

    result.losses, stopped2 = _train(model, data, config.steps, config.lr, prox, progress, len(plain), total, stop)
    result.steps_done = len(plain) + len(result.losses)  # progress counted the same steps
    result.stopped = stopped or stopped2
    with torch.no_grad():
        result.acc_dense = accuracy(dense(data.x_test), data.y_test)
        result.acc_stage1 = accuracy(model(data.x_test), data.y_test)
    columns = first.weight.detach().T.clone()  # (F, hidden): one row per input neuron
    norms = columns.norm(dim=1)
    result.columns = columns
    result.column_norms = norms.tolist()
    result.unique_before = analyze(model).unique_params
    kept = [f for f in range(data.num_features) if norms[f] > 1e-8]
    result.removed = [f for f in range(data.num_features) if norms[f] <= 1e-8]
    labels = cluster_columns(columns[kept], config) if kept else []
    for f, label in zip(kept, labels, strict=True):
        result.clusters.setdefault(label, []).append(f)
    result.clusters = {i: members for i, members in enumerate(sorted(result.clusters.values()))}

    if data.groups is not None:
        result.kept_per_group = {g: sum(1 for f in kept if data.groups[f] == g) for g in sorted(set(data.groups)) if g >= 0}
        predicted = [-1] * data.num_features
        for cid, members in result.clusters.items():
            for f in members:
                predicted[f] = cid
        result.ari = float(adjusted_rand_score(list(data.groups), predicted))

    if not kept or result.stopped:
        result.model = model
        result.acc_retrained = result.acc_stage1
        result.unique_after = result.naive_after = result.unique_before
        return result
    # Stage 2: one Parameter per cluster (its members' mean), the removed neurons dropped.
    cluster_of = {f: cid for cid, members in result.clusters.items() for f in members}
    centres = [columns[members].mean(dim=0) for _, members in sorted(result.clusters.items())]
    tied = nn.Sequential(
        TiedInputLinear(centres, [cluster_of[f] for f in kept], kept, first.bias), nn.ReLU(), cast(nn.Linear, model[2])
    )
    retrained, result.stopped = _train(tied, data, config.retrain_steps, config.lr, None, progress,
                                       result.steps_done, total, stop)
    result.steps_done += len(retrained)
    with torch.no_grad():
        result.acc_retrained = accuracy(tied(data.x_test), data.y_test)
    after = analyze(tied)
    result.unique_after, result.naive_after = after.unique_params, after.naive_params
    result.model = tied
    return result
