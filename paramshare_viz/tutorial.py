"""Small pure helpers the tutorial notebooks call, so every number they state is computed here.

Each function measures or counts one thing the notebooks put into prose: counts of
a form and its twin on the meta device, the cost of training both, short training
runs that show an anti-pattern, and the references the notebooks cite.

>>> from paramshare_viz import tutorial
>>> tutorial.conv_counts(3, 64, 3)["conv"]  # 64 * (3*3*3) weights + 64 biases
1792
"""

from __future__ import annotations

import statistics
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
    "nowlan1992": ("Nowlan & Hinton", 1992, "Simplifying neural networks by soft weight-sharing"),
    "press2017": ("Press & Wolf", 2017, "Using the output embedding to improve language models"),
    "vaswani2017": ("Vaswani et al.", 2017, "Attention is all you need"),
    "dehghani2018": ("Dehghani et al.", 2018, "Universal Transformers"),
    "lan2020": ("Lan et al.", 2020, "ALBERT: a lite BERT for self-supervised learning of language representations "
                "(ICLR 2020)"),
    "zhang2018": ("Zhang et al.", 2018, "Learning to share: simultaneous parameter tying and sparsification "
                  "in deep learning (GrOWL)"),
    "chen2015": ("Chen et al.", 2015, "Compressing neural networks with the hashing trick (HashedNets)"),
    "hu2021": ("Hu et al.", 2021, "LoRA: low-rank adaptation of large language models"),
    "touvron2023": ("Touvron et al.", 2023, "Llama 2: open foundation and fine-tuned chat models"),
    "ainslie2023": ("Ainslie et al.", 2023, "GQA: training generalized multi-query transformer models from "
                    "multi-head checkpoints"),
    "dosovitskiy2021": ("Dosovitskiy et al.", 2021, "An image is worth 16x16 words: transformers for image "
                        "recognition at scale"),
    "bromley1993": ("Bromley et al.", 1993, "Signature verification using a Siamese time delay neural network"),
    "caruana1997": ("Caruana", 1997, "Multitask learning"),
    "gu2022": ("Gu et al.", 2022, "Efficiently modeling long sequences with structured state spaces (S4)"),
    "gu2023": ("Gu & Dao", 2023, "Mamba: linear-time sequence modeling with selective state spaces"),
}

#: Figures the tutorials take from a paper rather than compute: key -> (reference key, where, the figure or
#: statement as the paper gives it, paraphrased where not a number).
QUOTES: dict[str, tuple[str, str, str]] = {
    "albert_table1": ("lan2020", "Table 1",
                      "BERT-base 108M vs ALBERT-base 12M parameters; BERT-large 334M vs ALBERT-large 18M"),
    "press_abstract": ("press2017", "abstract",
                       "weight tying leads to a significant reduction in perplexity on a variety of language "
                       "models, and can reduce the size of neural translation models to less than half"),
    "lora_vram": ("hu2021", "Section 4.2",
                  "on GPT-3 175B, training VRAM falls from 1.2TB to 350GB (about 3x less) with LoRA"),
    "llama2_gqa": ("touvron2023", "Appendix A.2.1, Table 18",
                   "for the 34B and 70B Llama 2 models we chose to use GQA instead of MQA"),
    "gqa_cache": ("ainslie2023", "Section 1",
                  "the memory bandwidth of loading keys and values at every decoding step is what GQA reduces"),
    "mamba_selective": ("gu2023", "Section 3.2",
                        "the selection mechanism makes the SSM parameters Δ, B, C functions of the input"),
    "s4_lti": ("gu2023", "Section 2",
               "structured SSMs such as S4 are linear time-invariant: their parameters are fixed for all time-steps"),
    "nowlan_soft": ("nowlan1992", "abstract",
                    "the distribution of weight values is modelled as a mixture of Gaussians, which clusters "
                    "the weights into subsets of very similar values"),
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


@dataclass(frozen=True)
class Claim:
    """One sentence of a tutorial that states a number or a comparison, and its evidence.

    Either ``value`` and ``where`` (computed: the figure as an output above shows it, and the
    section that computes it) or ``quote`` (a key of :data:`QUOTES`: sourced from a paper).
    """

    text: str
    value: str = ""
    where: str = ""
    quote: str = ""

    def evidence(self) -> str:
        if self.quote:
            key, place, figure = QUOTES[self.quote]
            return f"source: {cite(key)}, {place}: {figure}"  # the source's figure or statement, in our words
        return f"computed in “{self.where}”: `{self.value}`"


def computed(text: str, value: str, where: str) -> Claim:
    """A claim whose figure ``value`` appears in an output of section ``where``."""
    if not value or not where:
        raise ValueError(f"a computed claim needs its value and its section: {text!r}")
    return Claim(text, value=value, where=where)


def sourced(text: str, quote: str) -> Claim:
    """A claim taken from a paper: ``quote`` is a key of :data:`QUOTES`."""
    if quote not in QUOTES:
        raise ValueError(f"quote={quote!r} is not in tutorial.QUOTES")
    return Claim(text, quote=quote)


LEDGER_TITLE = "**Claims in this notebook**"


def ledger_md(claims: Sequence[Claim]) -> str:
    """The claims ledger that ends each tutorial: one row per claim with its evidence."""
    return LEDGER_TITLE + "\n\n" + md_table(["claim", "evidence"], [(c.text, c.evidence()) for c in claims])


@dataclass(frozen=True)
class Spread:
    """Several measurements of one thing (one per seed): median and the range they span."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))  # the mean of the two middle values for an even count

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def overlaps(self, other: Spread) -> bool:
        """Whether the two ranges (min to max over seeds) overlap."""
        return self.low <= other.high and other.low <= self.high

    def minus(self, other: Spread) -> Spread:
        """Seed-by-seed differences ``self - other`` (both measured on the same seeds)."""
        return Spread(tuple(a - b for a, b in zip(self.values, other.values, strict=True)))

    def fmt(self, spec: str = ".3f") -> str:
        """``"0.152 (0.146–0.173)"``: median and the range over seeds."""
        return f"{self.median:{spec}} ({self.low:{spec}}–{self.high:{spec}})"


def seed_verdict(diff: Spread, spec: str = "+.3f") -> str:
    """What seed-by-seed differences show: ``"higher in every seed, by +0.011 (+0.008–+0.013)"``,
    ``"lower in every seed, by ..."`` or ``"higher in some seeds and lower in others: no consistent difference"``.
    """
    if diff.low > 0:
        return f"higher in every seed, by {diff.fmt(spec)}"
    if diff.high < 0:
        return f"lower in every seed, by {diff.fmt(spec)}"
    return "higher in some seeds and lower in others: no consistent difference"


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
    """ALBERT against BERT at one size (Lan et al., 2020, Table 1).

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


#: Lan et al. (2020), Table 1: parameters of BERT and of ALBERT at the same size, as the paper rounds them.
PAPER_ALBERT_COUNTS: dict[str, tuple[int, int]] = {
    "ALBERT-base": (108_000_000, 12_000_000),
    "ALBERT-large": (334_000_000, 18_000_000),
}


def albert_claim(name: str) -> AlbertClaim:
    """Count ALBERT preset ``name`` (``"ALBERT-base"``, ``"ALBERT-large"``...), its twin and BERT, on meta."""
    preset = zoo.presets("albert")[name]
    counts = pair_counts("albert", **preset)
    bert = {**preset, "vocab_size": 30522, "embedding_size": preset["hidden_size"]}
    return AlbertClaim(name, counts.shared, counts.unshared, pair_counts("albert", **bert).unshared)


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


CAPACITY_MODELS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("BERT-style: own block per layer", dict(shared=False)),
    ("ALBERT: one block, LayerNorm per layer", dict(share_layernorm=False)),
    ("ALBERT: one block, LayerNorm shared too (as Hugging Face's ALBERT)", dict(share_layernorm=True)),
)


@dataclass(frozen=True)
class CapacitySeeds:
    """:func:`capacity_runs` over several seeds: per model, its parameters and final losses."""

    label: str
    params: int
    loss: Spread


def capacity_runs(*, steps: int = 30, batch: int = 16, seed: int = 0, **overrides: Any) -> list[CapacityRun]:
    """Fit random targets with BERT-style (no sharing), ALBERT with per-layer LayerNorm, and
    ALBERT sharing everything, LayerNorm included. Same data, steps and optimiser for all three.
    """
    x = zoo.example_input("albert", batch=batch, seed=seed, **overrides)
    with fixed_threads(1):  # tiny models: one thread is fastest and steady on a shared machine
        return [_capacity_run(label, kw, x, steps, seed, overrides) for label, kw in CAPACITY_MODELS]


def capacity_seeds(seeds: Sequence[int], *, steps: int = 30, **overrides: Any) -> list[CapacitySeeds]:
    """:func:`capacity_runs` once per seed (new data, targets and initialisation each time)."""
    per_seed = [capacity_runs(steps=steps, seed=s, **overrides) for s in seeds]
    return [CapacitySeeds(runs[0].label, runs[0].params, Spread(tuple(r.loss for r in runs)))
            for runs in zip(*per_seed, strict=True)]


def _capacity_run(label: str, kw: dict[str, Any], x: Any, steps: int, seed: int,
                  overrides: dict[str, Any]) -> CapacityRun:
    torch.manual_seed(seed)
    model = zoo.build("albert", **{**overrides, **kw})
    with torch.no_grad():
        out = model(x)
    target = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed + 1))
    return CapacityRun(label, analyze(model).unique_params, memorise(model, x, target, steps=steps))


def second_task(data: Dataset, *, related: bool, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and test labels of a second task on the same digit images.

    Related: odd or even (a coarser question about the same digit). Unrelated: a fixed random
    projection of the pixels cut into ten equal-sized bins (a function of the image that
    ignores which digit it is).
    """
    if related:
        return data.y_train % 2, data.y_test % 2
    proj = torch.randn(data.num_features, generator=torch.Generator().manual_seed(1000 + seed))
    score = torch.cat([data.x_train, data.x_test]) @ proj
    edges = torch.quantile(score, torch.linspace(0, 1, 11)[1:-1])
    labels = torch.bucketize(score, edges)
    return labels[: len(data.y_train)], labels[len(data.y_train):]


MULTITASK_SIZES: dict[str, Any] = dict(hidden_size=8, num_layers=2, num_tasks=2, num_labels=10)


def multitask_accuracy(*, shared: bool, related: bool, seed: int = 0, steps: int = 100, lr: float = 0.02,
                       train_size: int = 300) -> float:
    """Mean held-out accuracy over both tasks of the zoo's ``multitask`` model, trained with Adam.

    The same architecture the notebook counts: ``shared=True`` is one encoder with a head per
    task, ``shared=False`` an own encoder per task (same width, so twice the encoder parameters).
    Task A: the digit; task B: :func:`second_task`.
    """
    from paramshare_viz.learn.data import accuracy

    data = digits(seed=seed)
    x, y_a = data.x_train[:train_size], data.y_train[:train_size]
    b_train, b_test = second_task(data, related=related, seed=seed)
    y_b = b_train[:train_size]
    torch.manual_seed(seed)
    model = zoo.build("multitask", shared=shared, in_features=data.num_features, **MULTITASK_SIZES)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    with fixed_threads(1):
        for _ in range(steps):
            opt.zero_grad()
            out = model(x)  # (N, 2 tasks, 10)
            loss = F.cross_entropy(out[:, 0], y_a) + F.cross_entropy(out[:, 1], y_b)
            loss.backward()
            opt.step()
        with torch.no_grad():
            out = model(data.x_test)
    return (accuracy(out[:, 0], data.y_test) + accuracy(out[:, 1], b_test)) / 2


@dataclass(frozen=True)
class ForcedSharing:
    """Held-out accuracy over seeds: an own encoder per task against one encoder for both."""

    separate: Spread
    shared: Spread

    @property
    def cost(self) -> Spread:
        """Accuracy lost by sharing, seed by seed (separate − shared; positive = sharing hurts)."""
        return self.separate.minus(self.shared)


def forced_sharing_verdict(result: ForcedSharing) -> str:
    """``"costs accuracy in every seed (median -5.4 points)"`` and the like, in accuracy points (shared − own)."""
    cost, points = result.cost, -result.cost.median * 100
    if cost.low > 0:
        return f"costs accuracy in every seed (median {points:+.1f} points)"
    if cost.high < 0:
        return f"gains accuracy in every seed (median {points:+.1f} points)"
    return f"changes accuracy by a median of {points:+.1f} points, with seeds on both sides"


def forced_sharing(*, related: bool, seeds: Sequence[int] = (0, 1, 2, 3, 4), steps: int = 100) -> ForcedSharing:
    """:func:`multitask_accuracy` of both sides of ``multitask`` over ``seeds``."""
    runs = {side: Spread(tuple(multitask_accuracy(shared=side, related=related, seed=s, steps=steps) for s in seeds))
            for side in (False, True)}
    return ForcedSharing(separate=runs[False], shared=runs[True])


@dataclass(frozen=True)
class SoftTyingSeeds:
    """Soft-tying sweeps over several seeds.

    Attributes:
        accuracy: per ``lam``, the mean held-out accuracy of the two tasks, one value per seed.
        rows: every seed's ``SoftTyingSweep.rows()``, in seed order (for a figure of one seed).
    """

    accuracy: dict[float, Spread]
    rows: list[list[dict]]


def soft_tying_seeds(lams: Sequence[float], seeds: Sequence[int], *, steps: int = 150) -> SoftTyingSeeds:
    """One :func:`~paramshare_viz.learn.soft_tying.soft_tying_sweep` per seed (data split and initialisation)."""
    from paramshare_viz.learn.soft_tying import SoftTyingConfig, soft_tying_sweep

    acc: dict[float, list[float]] = {lam: [] for lam in lams}
    rows = []
    with fixed_threads(1):
        for seed in seeds:
            rows.append(soft_tying_sweep(lams, SoftTyingConfig(steps=steps, seed=seed)).rows())
            for row in rows[-1]:
                acc[row["lam"]].append((row["test_acc_a"] + row["test_acc_b"]) / 2)
    return SoftTyingSeeds({lam: Spread(tuple(v)) for lam, v in acc.items()}, rows)


def soft_tying_verdict(result: SoftTyingSeeds) -> tuple[float, str]:
    """The ``lam`` with the best median accuracy, and a sentence comparing it with ``lam = 0`` seed by seed."""
    from paramshare_viz.plots.learn import lam_label

    indep = result.accuracy[0.0]
    best = max(result.accuracy, key=lambda lam: result.accuracy[lam].median)
    if best == 0.0:
        return best, "no setting beats independent training by its median"
    gain = result.accuracy[best].minus(indep)
    better = sum(d > 0 for d in gain.values)
    return best, (f"λ = {lam_label(best)} has the best median, better than independent training in {better} of "
                  f"{len(gain.values)} seeds (change {gain.fmt('+.1%')})")


@dataclass(frozen=True)
class SavedPair:
    """Real ``safetensors.torch.save_model`` files of a tied model and its untied twin.

    Attributes:
        tied_bytes, untied_bytes: file sizes.
        tied_keys: the tensor names the tied file holds (``save_model`` writes one name per storage).
        tie_after_load: the tied model, loaded back with ``load_model`` into a fresh instance of
            its class (whose constructor ties), still holds one tensor under several names.
        missing_in_untied: names a model built *without* the tie (the untied twin) lacks when it
            loads the tied file's plain ``load_file`` dict: what is lost when nothing re-ties.
    """

    tied_bytes: int
    untied_bytes: int
    tied_keys: tuple[str, ...]
    tie_after_load: bool
    missing_in_untied: tuple[str, ...]


def save_pair(form: str, directory: str, **overrides: Any) -> SavedPair:
    """Save both sides of ``form`` with safetensors into ``directory`` and load the tied file back two ways."""
    from pathlib import Path

    from safetensors.torch import load_file, load_model, save_model

    tied, untied = zoo.pair(form, **overrides)
    paths = {name: Path(directory) / f"{form}-{name}.safetensors" for name in ("tied", "untied")}
    save_model(tied, str(paths["tied"]))
    save_model(untied, str(paths["untied"]))
    fresh = zoo.build(form, **overrides)
    load_model(fresh, str(paths["tied"]))
    plain = load_file(str(paths["tied"]))
    missing = zoo.build(form, shared=False, **overrides).load_state_dict(plain, strict=False).missing_keys
    return SavedPair(paths["tied"].stat().st_size, paths["untied"].stat().st_size, tuple(sorted(plain)),
                     bool(analyze(fresh).groups), tuple(missing))


def length_transfer(form: str = "rnn", *, trained_on: int = 5, run_on: int = 8, **overrides: Any) -> dict[str, str]:
    """Load each side of ``form`` built for ``trained_on`` steps into one built for ``run_on`` steps.

    The shared model's state dict has no per-step entries, so it loads into a model of
    any length; the twin's has one set per step and does not. Returns ``{"shared": ...,
    "unshared": ...}``: ``"loads"``, or a sentence naming the keys ``load_state_dict`` misses.
    """
    out = {}
    for side, shared in (("shared", True), ("unshared", False)):
        short = zoo.build(form, shared=shared, seq_len=trained_on, **overrides)
        long = zoo.build(form, shared=shared, seq_len=run_on, **overrides)
        try:
            long.load_state_dict(short.state_dict())
            out[side] = "loads"
        except RuntimeError:
            missing = sorted(set(long.state_dict()) - set(short.state_dict()))
            out[side] = (f"does not load: the {run_on}-step model needs {len(missing)} tensors the "
                         f"{trained_on}-step state dict does not have, from `{missing[0]}` to `{missing[-1]}`")
    return out


def formula_counts(form: str, **overrides: Any) -> PairCounts:
    """Both sides' unique parameters from the zoo's closed form (nothing built; tests check it against modules)."""
    from paramshare_viz.models import registry

    config = zoo.make_config(form, **overrides)
    count = registry.get(form).param_count
    return PairCounts(count(config, True), count(config, False))


@dataclass(frozen=True)
class SelectiveSteps:
    """A selective (Mamba-style) SSM's input-dependent B, step by step.

    Attributes:
        params: parameters of the projection that makes B from the input (the same at every step).
        steps: time steps run.
        distinct_b: how many different B matrices those steps used (an S4-style scan uses one).
    """

    params: int
    steps: int
    distinct_b: int


def selective_steps(*, d_model: int = 8, d_state: int = 4, steps: int = 6, seed: int = 0) -> SelectiveSteps:
    """Run one projection ``B_t = W x_t`` (Gu & Dao, 2023, Section 3.2) over ``steps`` random inputs.

    What is shared over time in a selective SSM is the projection ``W``; the SSM parameter
    ``B_t`` it produces differs at every step.
    """
    gen = torch.Generator().manual_seed(seed)
    proj = nn.Linear(d_model, d_state, bias=False)
    with torch.no_grad():
        proj.weight.copy_(torch.randn(d_state, d_model, generator=gen))
        b = proj(torch.randn(steps, d_model, generator=gen))  # (T, N): one B per step
    return SelectiveSteps(proj.weight.numel(), steps, len({tuple(row.tolist()) for row in b}))


@dataclass(frozen=True)
class ModuleCalls:
    """One module object: every name it is reached by and its forward calls in one forward."""

    names: tuple[str, ...]
    kind: str
    calls: int


def calls_per_module(model: nn.Module, calls: dict[str, int]) -> list[ModuleCalls]:
    """Group ``analyze(...).calls`` (per name) by module object, so one block under six names reads as one."""
    names: dict[int, list[str]] = {}
    objects: dict[int, nn.Module] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        names.setdefault(id(module), []).append(name)
        objects[id(module)] = module
    return [ModuleCalls(tuple(ns), type(objects[k]).__name__, calls.get(ns[0], 0)) for k, ns in names.items()]


def training_breakdown(form: str, *, shared: bool, **overrides: Any) -> Any:
    """``training_memory(model, "adam").shared`` of one side of ``form``, built on meta.

    Bytes of parameters (frozen ones included), gradients and Adam's two moments (trainable
    ones only); activations are not counted.
    """
    return training_memory(zoo.build(form, shared=shared, device="meta", **overrides), "adam").shared
