"""Soft tying: two models pulled together by ``lam * ||w_A - w_B||^2`` on every parameter pair.

``lam = 0`` trains two independent models; as ``lam`` grows the pair approaches
hard sharing, which the zoo's ``siamese`` form does by identity (one branch
object). Training is full-batch proximal gradient descent: a gradient step on
each model's own loss, then the exact prox of the penalty, which keeps each
pair's mean and shrinks its difference by ``1 / (1 + 4 * lr * lam)`` — stable
for any ``lam``, and ``lam = inf`` is exact hard sharing.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from paramshare_viz.learn.data import Dataset, accuracy, digits
from paramshare_viz.learn.train import Progress, gradient_step


@dataclass(frozen=True)
class SoftTyingConfig:
    """Two MLPs ``F -> hidden -> classes`` trained together.

    Attributes:
        lam: penalty weight on ``||w_A - w_B||^2`` summed over every parameter
            pair; ``0`` = independent, ``math.inf`` = hard sharing.
        hidden: hidden width of both MLPs.
        steps: full-batch gradient steps.
        lr: step size.
        train_size: training examples per task (small, where tying pays).
        same_init: start B as a copy of A (else each draws its own weights).
        record_every: steps between recorded losses and distances.
        seed: initialisation and data split.
    """

    lam: float = 0.01
    hidden: int = 32
    steps: int = 300
    lr: float = 0.5
    train_size: int = 150
    same_init: bool = False
    record_every: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.lam >= 0):
            raise ValueError(f"lam={self.lam} must be non-negative (math.inf for hard sharing)")
        for name in ("hidden", "steps", "train_size", "record_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if not (0 < self.lr < 10):
            raise ValueError(f"lr={self.lr} must be between 0 and 10")


def related_digit_tasks(*, train_size: int = 150, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Two related tasks: digits as drawn (A) and mirrored left-right (B), disjoint training sets."""
    base = digits(seed=seed)
    if 2 * train_size > len(base.y_train):
        raise ValueError(f"train_size={train_size} is too large: the two tasks share {len(base.y_train)} examples")

    def mirrored(x: torch.Tensor) -> torch.Tensor:
        return x.view(-1, 8, 8).flip(-1).reshape(-1, 64)

    a = slice(0, train_size)
    b = slice(train_size, 2 * train_size)
    task_a = Dataset("digits", base.x_train[a], base.y_train[a], base.x_test, base.y_test, 10)
    task_b = Dataset(
        "digits mirrored", mirrored(base.x_train[b]), base.y_train[b], mirrored(base.x_test), base.y_test, 10
    )
    return task_a, task_b


def mlp(in_features: int, hidden: int, out_features: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, out_features))


@dataclass
class SoftTyingRun:
    """What one soft-tying run measured.

    Attributes:
        steps: the steps at which losses and distances were recorded.
        loss_a, loss_b: training loss of each task at those steps.
        distance: ``{layer: [||w_A - w_B|| at each recorded step]}`` (weight and bias together).
        test_loss_a, test_loss_b, test_acc_a, test_acc_b: held-out results at the end.
        stopped: the run was stopped early; everything above covers the steps done.
        total_steps: the steps asked for (``steps[-1]`` is the steps trained).
    """

    lam: float
    steps: list[int] = field(default_factory=list)
    loss_a: list[float] = field(default_factory=list)
    loss_b: list[float] = field(default_factory=list)
    distance: dict[str, list[float]] = field(default_factory=dict)
    test_loss_a: float = math.nan
    test_loss_b: float = math.nan
    test_acc_a: float = math.nan
    test_acc_b: float = math.nan
    stopped: bool = False
    total_steps: int = 0
    models: tuple[nn.Module, nn.Module] | None = field(default=None, repr=False)

    @property
    def steps_done(self) -> int:
        """Steps trained: the last recorded step (a stopped run records the step it stopped at)."""
        return self.steps[-1] if self.steps else 0

    @property
    def final_distance(self) -> float:
        """``||w_A - w_B||`` over every parameter at the end."""
        return math.sqrt(sum(d[-1] ** 2 for d in self.distance.values())) if self.steps else math.nan

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "models"}
        out["final_distance"] = self.final_distance
        return out


def layer_names(model: nn.Sequential) -> dict[str, str]:
    """``{"0": "layer 1 (64→32)", ...}`` for the Linear layers of an MLP."""
    linears = [(name, m) for name, m in model.named_children() if isinstance(m, nn.Linear)]
    return {name: f"layer {i} ({m.in_features}→{m.out_features})" for i, (name, m) in enumerate(linears, 1)}


@torch.no_grad()
def _distances(a: nn.Module, b: nn.Module, labels: dict[str, str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        label = labels[name.split(".")[0]]
        out[label] = math.sqrt(out.get(label, 0.0) ** 2 + float((pa - pb).pow(2).sum()))
    return out


@torch.no_grad()
def tie_prox(a: nn.Module, b: nn.Module, shrink: float) -> None:
    """Keep each pair's mean, multiply its difference by ``shrink`` (``0`` = identical)."""
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        mean, half_diff = (pa + pb) / 2, (pa - pb) / 2 * shrink
        pa.copy_(mean + half_diff)
        pb.copy_(mean - half_diff)


def train_soft_tied(
    config: SoftTyingConfig,
    tasks: tuple[Dataset, Dataset] | None = None,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> SoftTyingRun:
    """Train models A and B on their tasks with the soft-tying penalty; see the module docstring."""
    task_a, task_b = tasks or related_digit_tasks(train_size=config.train_size, seed=config.seed)
    torch.manual_seed(config.seed)
    model_a = mlp(task_a.num_features, config.hidden, task_a.num_classes)
    model_b = mlp(task_b.num_features, config.hidden, task_b.num_classes)
    if config.same_init:
        model_b.load_state_dict(model_a.state_dict())
    labels = layer_names(model_a)
    shrink = 0.0 if math.isinf(config.lam) else 1.0 / (1.0 + 4.0 * config.lr * config.lam)
    run = SoftTyingRun(lam=config.lam, distance={label: [] for label in labels.values()}, total_steps=config.steps,
                       models=(model_a, model_b))
    params = list(model_a.parameters()) + list(model_b.parameters())
    for step in range(1, config.steps + 1):
        loss_a = F.cross_entropy(model_a(task_a.x_train), task_a.y_train)
        loss_b = F.cross_entropy(model_b(task_b.x_train), task_b.y_train)
        gradient_step(params, loss_a + loss_b, config.lr)
        tie_prox(model_a, model_b, shrink)
        stopping = stop is not None and stop.is_set()
        if step % config.record_every == 0 or step == config.steps or stopping:  # the last step is always recorded
            run.steps.append(step)
            run.loss_a.append(loss_a.item())
            run.loss_b.append(loss_b.item())
            for label, d in _distances(model_a, model_b, labels).items():
                run.distance[label].append(d)
        if progress:
            progress(step, config.steps)
        if stopping:
            run.stopped = step < config.steps
            break
    if not run.steps:  # stopped before the first record
        run.steps.append(0)
        run.loss_a.append(float("nan"))
        run.loss_b.append(float("nan"))
        for label, d in _distances(model_a, model_b, labels).items():
            run.distance[label].append(d)
    with torch.no_grad():
        out_a, out_b = model_a(task_a.x_test), model_b(task_b.x_test)
        run.test_loss_a = float(F.cross_entropy(out_a, task_a.y_test))
        run.test_loss_b = float(F.cross_entropy(out_b, task_b.y_test))
        run.test_acc_a, run.test_acc_b = accuracy(out_a, task_a.y_test), accuracy(out_b, task_b.y_test)
    return run


@dataclass
class SoftTyingSweep:
    """The trade-off over ``lam``: one finished (or stopped) run per value."""

    runs: list[SoftTyingRun]
    stopped: bool = False  # stopped before every value of lam finished
    total_steps: int = 0  # steps asked for, over every value of lam

    @property
    def steps_done(self) -> int:
        return sum(r.steps_done for r in self.runs)

    def rows(self) -> list[dict]:
        return [
            {
                "lam": r.lam,
                "final_distance": r.final_distance,
                "test_loss_a": r.test_loss_a,
                "test_loss_b": r.test_loss_b,
                "test_acc_a": r.test_acc_a,
                "test_acc_b": r.test_acc_b,
            }
            for r in self.runs
        ]


DEFAULT_LAMS = (0.0, 0.001, 0.01, 0.1, 1.0, math.inf)


def soft_tying_sweep(
    lams: Sequence[float] = DEFAULT_LAMS,
    config: SoftTyingConfig | None = None,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> SoftTyingSweep:
    """Train one pair per ``lam`` on the same tasks and initialisation; stops between runs on ``stop``."""
    config = config or SoftTyingConfig()
    tasks = related_digit_tasks(train_size=config.train_size, seed=config.seed)
    total = len(lams) * config.steps
    sweep = SoftTyingSweep([], total_steps=total)
    for i, lam in enumerate(lams):
        if stop is not None and stop.is_set():
            sweep.stopped = True
            break
        one = SoftTyingConfig(**{**config.__dict__, "lam": lam})
        done = i * config.steps

        def step_progress(step: int, _total: int, done: int = done) -> None:
            if progress:
                progress(done + step, total)

        sweep.runs.append(train_soft_tied(one, tasks, progress=step_progress, stop=stop))
        sweep.stopped = sweep.runs[-1].stopped
    return sweep
