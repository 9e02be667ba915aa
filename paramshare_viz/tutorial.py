"""Small pure helpers the tutorial notebooks call, so every number they state is computed here.

Each function measures or counts one thing the notebooks put into prose: counts of
a form and its twin on the meta device, the cost of training both, short training
runs that show an anti-pattern, and the references the notebooks cite.

>>> from paramshare_viz import tutorial
>>> tutorial.conv_counts(3, 64, 3)["conv"]  # 64 * (3*3*3) weights + 64 biases
1792
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from paramshare_viz import zoo
from paramshare_viz.analysis.flops import count_flops
from paramshare_viz.analysis.memory import training_memory
from paramshare_viz.analysis.report import analyze
from paramshare_viz.bench._workload import fixed_threads
from paramshare_viz.learn.data import Dataset, digits
from paramshare_viz.models.conv import conv_param_counts

#: The papers the tutorials cite: key -> (authors, year, title).
REFERENCES: dict[str, tuple[str, int, str]] = {
    "fukushima1980": ("Fukushima", 1980, "Neocognitron: a self-organizing neural network model for a mechanism "
                      "of pattern recognition unaffected by shift in position"),
    "lecun1989": ("LeCun et al.", 1989, "Backpropagation applied to handwritten zip code recognition"),
    "press2017": ("Press & Wolf", 2017, "Using the output embedding to improve language models"),
    "vaswani2017": ("Vaswani et al.", 2017, "Attention is all you need"),
    "dehghani2018": ("Dehghani et al.", 2018, "Universal Transformers"),
    "lan2019": ("Lan et al.", 2019, "ALBERT: a lite BERT for self-supervised learning of language representations"),
    "zhang2018": ("Zhang et al.", 2018, "Learning to share: simultaneous parameter tying and sparsification "
                  "in deep learning (GrOWL)"),
    "chen2015": ("Chen et al.", 2015, "Compressing neural networks with the hashing trick (HashedNets)"),
    "hu2021": ("Hu et al.", 2021, "LoRA: low-rank adaptation of large language models"),
    "ainslie2023": ("Ainslie et al.", 2023, "GQA: training generalized multi-query transformer models from "
                    "multi-head checkpoints"),
    "dosovitskiy2021": ("Dosovitskiy et al.", 2021, "An image is worth 16x16 words: transformers for image "
                        "recognition at scale"),
    "bromley1993": ("Bromley et al.", 1993, "Signature verification using a Siamese time delay neural network"),
    "caruana1997": ("Caruana", 1997, "Multitask learning"),
    "gu2023": ("Gu & Dao", 2023, "Mamba: linear-time sequence modeling with selective state spaces"),
}


def cite(key: str) -> str:
    """``"LeCun et al. (1989)"`` for a key of :data:`REFERENCES`."""
    authors, year, _ = REFERENCES[key]
    return f"{authors} ({year})"


def references_md(keys: Sequence[str]) -> str:
    """A Markdown list of the given references, in the order given."""
    return "\n".join(f"- {REFERENCES[k][0]} ({REFERENCES[k][1]}). *{REFERENCES[k][2]}.*" for k in keys)


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; ints get thousands separators, floats 3 significant digits."""

    def cell(v: Any) -> str:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return str(v).replace("|", "\\|")
        return f"{v:,}" if isinstance(v, int) else f"{v:.3g}"

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# --- counting -----------------------------------------------------------------------------------


def conv_counts(in_channels: int, out_channels: int, kernel_size: int, *, image_size: int = 32,
                padding: int = 1) -> dict[str, int]:
    """Parameters of a conv, its locally connected twin and the dense layer of the same map.

    Counted by building the conv for real (``conv``) and from the zoo's closed form for the
    others, which tests/test_zoo checks against built modules.
    """
    cfg = zoo.make_config("conv", in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size,
                          image_size=image_size, padding=padding)
    counts = conv_param_counts(cfg)
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding)
    counts["conv"] = sum(p.numel() for p in conv.parameters())
    return counts


@dataclass(frozen=True)
class PairCounts:
    """Unique parameters of a form's shared model and its twin, counted on the meta device."""

    shared: int
    unshared: int

    @property
    def ratio(self) -> float:
        """``unshared / shared``: how many times fewer parameters sharing holds."""
        return self.unshared / self.shared

    @property
    def saved(self) -> int:
        return self.unshared - self.shared


def pair_counts(form: str, **overrides: Any) -> PairCounts:
    """``analyze(...).unique_params`` of both sides of ``form``, built on ``meta`` (nothing allocated)."""
    shared = analyze(zoo.build(form, device="meta", **overrides)).unique_params
    unshared = analyze(zoo.build(form, shared=False, device="meta", **overrides)).unique_params
    return PairCounts(shared, unshared)


def preset_counts(form: str, names: Sequence[str] | None = None) -> dict[str, PairCounts]:
    """:func:`pair_counts` of each published preset of ``form`` (all of them by default)."""
    presets = zoo.presets(form)
    return {name: pair_counts(form, **presets[name]) for name in (names or list(presets))}


@dataclass(frozen=True)
class TrainingCost:
    """What one training step of a model costs, counted (not timed).

    Attributes:
        params: unique parameters.
        memory_bytes: parameters + gradients + Adam state (:func:`training_memory`).
        flops: forward + backward FLOPs of one step on the example batch.
    """

    params: int
    memory_bytes: int
    flops: int


def training_cost(form: str, *, shared: bool, batch: int = 2, **overrides: Any) -> TrainingCost:
    """:class:`TrainingCost` of one side of ``form``, on the meta device."""
    model = zoo.build(form, shared=shared, device="meta", **overrides)
    x = zoo.example_input(form, batch=batch, device="meta", **overrides)
    flops = count_flops(model, x, backward=True)
    return TrainingCost(analyze(model).unique_params, training_memory(model, "adam").shared.total,
                        flops.forward + (flops.backward or 0))


@dataclass(frozen=True)
class AlbertClaim:
    """ALBERT against BERT at one size (Lan et al., 2019, Table 1).

    Attributes:
        albert: ALBERT's parameters (one shared block, factorised embedding E = 128).
        not_shared: the same model with an own block per layer (the paper's "not-shared" row).
        bert: BERT of the same width and depth (E = H, BERT's 30,522-token vocabulary).
    """

    name: str
    albert: int
    not_shared: int
    bert: int

    @property
    def vs_not_shared(self) -> float:
        return self.not_shared / self.albert

    @property
    def vs_bert(self) -> float:
        return self.bert / self.albert


def albert_claim(name: str) -> AlbertClaim:
    """Count ALBERT preset ``name`` (``"ALBERT-base"``, ``"ALBERT-large"``...), its twin and BERT, on meta."""
    preset = zoo.presets("albert")[name]
    counts = pair_counts("albert", **preset)
    bert = {**preset, "vocab_size": 30522, "embedding_size": preset["hidden_size"]}
    return AlbertClaim(name, counts.shared, counts.unshared, pair_counts("albert", **bert).unshared)


def arxiv_date(text: str) -> tuple[int, int]:
    """``(year, month)`` of the first new-style arXiv id (``YYMM.NNNNN``) in ``text``.

    >>> arxiv_date("https://arxiv.org/abs/1706.03762")
    (2017, 6)
    """
    match = re.search(r"arxiv\.org/abs/(\d{2})(\d{2})\.\d{4,5}", text)
    if match is None:
        raise ValueError("text holds no arxiv.org/abs/YYMM.NNNNN link")
    return 2000 + int(match.group(1)), int(match.group(2))


# --- short training runs ------------------------------------------------------------------------


def memorise(model: nn.Module, x: torch.Tensor, target: torch.Tensor, *, steps: int = 30,
             lr: float = 3e-3, seed: int = 0) -> float:
    """Final mean squared error of ``model(x)`` fitted to ``target`` by ``steps`` Adam steps.

    A memorisation task: the random target has no structure, so only capacity helps.
    """
    torch.manual_seed(seed)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(model(x), target)
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(F.mse_loss(model(x), target))


@dataclass(frozen=True)
class CapacityRun:
    """One model of :func:`capacity_runs`: its label, unique parameters and final loss."""

    label: str
    params: int
    loss: float


def capacity_runs(*, steps: int = 30, batch: int = 16, seed: int = 0, **overrides: Any) -> list[CapacityRun]:
    """Fit random targets with BERT-style (no sharing), ALBERT with per-layer LayerNorm, and
    ALBERT sharing everything, LayerNorm included. Same data, steps and optimiser for all three.
    """
    x = zoo.example_input("albert", batch=batch, seed=seed, **overrides)
    models = [
        ("BERT-style: own block per layer", dict(shared=False)),
        ("ALBERT: one block, LayerNorm per layer", dict(share_layernorm=False)),
        ("ALBERT: one block, LayerNorm shared too", dict(share_layernorm=True)),
    ]
    runs = []
    with fixed_threads(1):  # tiny models: one thread is fastest and steady on a shared machine
        runs += [_capacity_run(label, kw, x, steps, seed, overrides) for label, kw in models]
    return runs


def _capacity_run(label: str, kw: dict[str, Any], x: Any, steps: int, seed: int,
                  overrides: dict[str, Any]) -> CapacityRun:
    torch.manual_seed(seed)
    model = zoo.build("albert", **{**overrides, **kw})
    with torch.no_grad():
        out = model(x)
    target = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed + 1))
    return CapacityRun(label, analyze(model).unique_params, memorise(model, x, target, steps=steps))


def unrelated_digit_tasks(*, train_size: int = 300, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Digits (A) and an unrelated task (B): the same pixels in a fixed random order, labels shifted by 5."""
    base = digits(seed=seed)
    perm = torch.randperm(64, generator=torch.Generator().manual_seed(seed))
    a, b = slice(0, train_size), slice(train_size, 2 * train_size)
    task_a = Dataset("digits", base.x_train[a], base.y_train[a], base.x_test, base.y_test, 10)
    task_b = Dataset("scrambled digits", base.x_train[b][:, perm], (base.y_train[b] + 5) % 10,
                     base.x_test[:, perm], (base.y_test + 5) % 10, 10)
    return task_a, task_b


def forced_sharing(*, hidden: int = 16, steps: int = 40, lr: float = 0.5, related: bool = False,
                   seed: int = 0) -> dict[str, float]:
    """Held-out accuracy on both tasks: two separate MLPs vs one MLP forced to serve both.

    ``related=False`` pairs digits with scrambled digits (:func:`unrelated_digit_tasks`);
    ``related=True`` with mirrored digits. Returns ``{"separate": acc, "shared": acc}``,
    each the mean of the two tasks' accuracies.
    """
    from paramshare_viz.learn.soft_tying import SoftTyingConfig, related_digit_tasks, train_soft_tied

    tasks = related_digit_tasks(train_size=300, seed=seed) if related else unrelated_digit_tasks(seed=seed)
    out = {}
    for name, lam in (("separate", 0.0), ("shared", math.inf)):
        cfg = SoftTyingConfig(lam=lam, hidden=hidden, steps=steps, lr=lr, train_size=300, record_every=steps,
                              seed=seed)
        with fixed_threads(1):
            run = train_soft_tied(cfg, tasks)
        out[name] = (run.test_acc_a + run.test_acc_b) / 2
    return out


def lower_or_higher(a: float, b: float) -> str:
    """``"lower"`` when ``a < b``, ``"higher"`` when ``a > b``, else ``"equal"``: prose that follows the numbers."""
    return "lower" if a < b else "higher" if a > b else "equal"


@dataclass(frozen=True)
class SavedPair:
    """Real ``safetensors.torch.save_model`` files of a tied model and its untied twin.

    Attributes:
        tied_bytes, untied_bytes: file sizes.
        tie_after_load: the tied model, loaded back with ``load_model`` into a fresh
            instance, still holds one tensor under several names.
    """

    tied_bytes: int
    untied_bytes: int
    tie_after_load: bool


def save_pair(form: str, directory: str, **overrides: Any) -> SavedPair:
    """Save both sides of ``form`` with safetensors into ``directory`` and load the tied one back."""
    from pathlib import Path

    from safetensors.torch import load_model, save_model

    tied, untied = zoo.pair(form, **overrides)
    sizes = []
    for name, model in (("tied", tied), ("untied", untied)):
        path = Path(directory) / f"{form}-{name}.safetensors"
        save_model(model, str(path))
        sizes.append(path.stat().st_size)
    fresh = zoo.build(form, **overrides)
    load_model(fresh, str(Path(directory) / f"{form}-tied.safetensors"))
    return SavedPair(sizes[0], sizes[1], bool(analyze(fresh).groups))


def length_transfer(form: str = "rnn", *, trained_on: int = 5, run_on: int = 8, **overrides: Any) -> dict[str, str]:
    """Load each side of ``form`` built for ``trained_on`` steps into one built for ``run_on`` steps.

    The shared model's state dict has no per-step entries, so it loads into a model of
    any length; the twin's has one set per step and does not. Returns ``{"shared": ...,
    "unshared": ...}``: ``"loads"`` or the error ``load_state_dict`` raised (first line).
    """
    out = {}
    for side, shared in (("shared", True), ("unshared", False)):
        short = zoo.build(form, shared=shared, seq_len=trained_on, **overrides)
        long = zoo.build(form, shared=shared, seq_len=run_on, **overrides)
        try:
            long.load_state_dict(short.state_dict())
            out[side] = "loads"
        except RuntimeError as e:
            lines = [ln.strip() for ln in str(e).strip().splitlines()]
            out[side] = " ".join(lines[:2])[:200]  # "Error(s) in loading ...: Unexpected key(s) ..."
    return out


def formula_counts(form: str, **overrides: Any) -> PairCounts:
    """Both sides' unique parameters from the zoo's closed form (nothing built; tests check it against modules)."""
    from paramshare_viz.models import registry

    config = zoo.make_config(form, **overrides)
    count = registry.get(form).param_count
    return PairCounts(count(config, True), count(config, False))
