"""Unrolling a shared cell over time or a shared block over depth: what is reused, and its gradient.

A recurrent network calls one cell at every step; ALBERT and the Universal
Transformer call one block at every layer. The shared weight's gradient is the
sum of one contribution per use (the multivariate chain rule). The unshared
twin of :func:`paramshare_viz.zoo.pair` computes the same function with its own
copy per step, so each copy's ``.grad`` *is* that step's contribution:

>>> g = grad_contributions("rnn", steps=4)
>>> part = g.tensor("cell.weight_hh")
>>> torch.testing.assert_close(part.per_step.sum(0), part.grad)

Pure: no widgets. The Unroll tab draws what these functions return.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from paramshare_viz import zoo
from paramshare_viz.models import registry
from paramshare_viz.models.rnn import UnrolledRNN

#: The config field that sets how many times the shared part runs, per form.
STEP_FIELD = {"rnn": "seq_len", "albert": "num_layers", "universal_transformer": "num_layers"}
FORMS = tuple(STEP_FIELD)


def step_label(form: str, t: int) -> str:
    """``t=3`` for time steps, ``layer 3`` for depth (both counted from 0, as the twin's names are)."""
    return f"t={t}" if STEP_FIELD[form] == "seq_len" else f"layer {t}"


def _check_form(form: str) -> str:
    if form not in STEP_FIELD:
        raise ValueError(f"form={form!r} does not unroll; choose one of {list(FORMS)}")
    return STEP_FIELD[form]


def _config(form: str, steps: int | None, overrides: dict[str, Any]) -> Any:
    """The validated config with ``steps`` written into the form's step field."""
    field = _check_form(form)
    if steps is not None:
        if field in overrides and overrides[field] != steps:
            raise ValueError(f"steps={steps!r} and {field}={overrides[field]!r} disagree; pass one of them")
        overrides = {**overrides, field: steps}
    return zoo.make_config(form, **overrides)


@dataclass(frozen=True)
class SharedTensor:
    """One tensor the shared model uses at every step.

    Attributes:
        name: its name in the shared model, e.g. ``cell.weight_hh`` or ``layers.0.ffn.fc1.weight``.
        shape: its shape; every twin copy has the same.
        numel: elements, ``prod(shape)``.
        nbytes: bytes in the chain's dtype.
        twin_names: the twin's copy for each step, in step order (``cells.3.weight_hh``).
    """

    name: str
    shape: tuple[int, ...]
    numel: int
    nbytes: int
    twin_names: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "numel": self.numel, "bytes": self.nbytes,
                "twin_names": list(self.twin_names)}


def shared_uses(form: str, model: nn.Module) -> list[tuple[str, nn.Parameter, tuple[str, ...]]]:
    """``(name, tensor, twin names per step)`` for every tensor the shared ``model`` reuses over steps.

    The RNN's one cell lives at ``cell.*`` and its twin has ``cells.<t>.*``; the
    transformers reach one tensor under ``layers.<l>.*`` (and ``halting.<l>.*``)
    for every layer, the same names their twin holds separate copies under.
    """
    _check_form(form)
    if form == "rnn":
        rnn = cast(UnrolledRNN, model)
        steps = rnn.config.seq_len
        return [(f"cell.{n}", p, tuple(f"cells.{t}.{n}" for t in range(steps))) for n, p in rnn.cell.named_parameters()]
    names: dict[int, list[str]] = {}
    tensors: dict[int, nn.Parameter] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(p), []).append(name)
        tensors[id(p)] = p
    uses = []
    for key, aliases in names.items():
        if len(aliases) > 1:  # reached from several layers: used once per layer
            ordered = tuple(sorted(aliases, key=lambda n: int(re.search(r"\.(\d+)\.", n).group(1))))  # type: ignore[union-attr]
            uses.append((ordered[0], tensors[key], ordered))
    return uses


@dataclass(frozen=True)
class Chain:
    """A ``T``-step (or ``L``-layer) unroll: the steps and the tensors every step reuses.

    Attributes:
        form: ``rnn``, ``albert`` or ``universal_transformer``.
        steps: how many times the shared part runs (``seq_len`` or ``num_layers``).
        step_labels: ``t=0 ..`` or ``layer 0 ..``.
        tensors: the reused tensors of the shared model.
        dtype: the dtype the bytes are counted in.
        unit: what runs at every step, in words (``cell``, ``block``, ALBERT's ``attention sublayer`` or ``FFN sublayer``).

    Sharing:
        The shared model holds ``shared_numel`` reused elements once; the twin
        holds them once per step, ``steps * shared_numel``.
    """

    form: str
    steps: int
    step_labels: tuple[str, ...]
    tensors: tuple[SharedTensor, ...]
    dtype: str
    unit: str = "block"  # what runs at every step: "cell", "block", "attention sublayer", "FFN sublayer"

    @property
    def shared_numel(self) -> int:
        return sum(t.numel for t in self.tensors)

    @property
    def shared_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    @property
    def twin_numel(self) -> int:
        return self.steps * self.shared_numel

    @property
    def twin_bytes(self) -> int:
        return self.steps * self.shared_bytes

    def to_dict(self) -> dict[str, Any]:
        return {"form": self.form, "steps": self.steps, "step_labels": list(self.step_labels),
                "tensors": [t.to_dict() for t in self.tensors], "dtype": self.dtype, "unit": self.unit,
                "shared_numel": self.shared_numel, "twin_numel": self.twin_numel}


def unroll_chain(form: str, steps: int | None = None, *, dtype: torch.dtype = torch.float32, **overrides: Any) -> Chain:
    """The chain of a ``steps``-step unroll of ``form`` (built on the meta device: no memory).

    Args:
        form: ``"rnn"``, ``"albert"`` or ``"universal_transformer"``.
        steps: ``seq_len`` (rnn) or ``num_layers``; ``None`` keeps the config's.
        dtype: the dtype bytes are counted in. Default: ``torch.float32``.
        **overrides: other config fields (``cell="lstm"``, ``share="ffn"``, ``hidden_size=16``).

    Raises:
        ValueError: an unknown form, or a value the config rejects (named with its field).
    """
    config = _config(form, steps, overrides)
    n = getattr(config, STEP_FIELD[form])
    # Sized first: on meta, torch meets a width past int64's bytes with a TypeError or RuntimeError.
    zoo.check_budget(form, config, sides=(True,), device="meta", dtype=dtype)
    with torch.device("meta"):
        model = registry.get(form).build(config, True)
    tensors = tuple(
        SharedTensor(name, tuple(p.shape), p.numel(), p.numel() * dtype.itemsize, twin)
        for name, p, twin in shared_uses(form, model)
    )
    labels = tuple(step_label(form, t) for t in range(n))
    return Chain(form, n, labels, tensors, str(dtype).removeprefix("torch."), reused_part(form, config))


def reused_part(form: str, config: Any) -> str:
    """What runs at every step, in words: ``cell``, ``block``, or the ALBERT sublayer it shares."""
    if form == "rnn":
        return "cell"
    if form == "albert":
        return {"all": "block", "attention": "attention sublayer", "ffn": "FFN sublayer"}[str(config.share)]
    return "block"


@dataclass(frozen=True)
class CountCurve:
    """Unique parameters of the shared model and its twin against the number of steps.

    From the registry's closed-form ``param_count``: nothing is built.
    """

    form: str
    step_field: str
    steps: tuple[int, ...]
    shared: tuple[int, ...]
    twin: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"form": self.form, "step_field": self.step_field, "steps": list(self.steps),
                "shared": list(self.shared), "twin": list(self.twin)}


def count_curve(form: str, steps: Iterable[int], **overrides: Any) -> CountCurve:
    """Counts for every value in ``steps`` (each at least 2), other fields from ``overrides``.

    For ``share="all"`` ALBERT, the Universal Transformer and the RNN the shared
    count is flat and the twin's grows linearly, by one block (cell) per step.
    """
    field = _check_form(form)
    count = registry.get(form).param_count
    values = tuple(steps)
    if not values:
        raise ValueError("steps=() is empty; give at least one step count")
    configs = [_config(form, None, {**overrides, field: s}) for s in values]
    return CountCurve(form, field, values, tuple(count(c, True) for c in configs),
                      tuple(count(c, False) for c in configs))


@dataclass(frozen=True)
class TensorContributions:
    """One reused tensor's gradient, split by the step that used it.

    Attributes:
        name: the tensor's name in the shared model.
        per_step: ``(T, *shape)``: step ``t``'s part, the ``.grad`` of the twin's copy at step ``t``.
        grad: ``(*shape)``: autograd's ``.grad`` of the shared tensor.
    """

    name: str
    per_step: torch.Tensor
    grad: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        """The sum over steps, which equals :attr:`grad`."""
        return self.per_step.sum(0)

    @property
    def step_norms(self) -> list[float]:
        """Frobenius norm of each step's part (norms do not add up: ``Σ ‖g_t‖ >= ‖Σ g_t‖``)."""
        return self.per_step.flatten(1).norm(dim=1).tolist()

    def _split(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(along, across)``, one entry per step, computed in float64."""
        parts = self.per_step.flatten(1).double()  # (T, numel)
        total = self.grad.flatten().double()
        norm = total.norm()
        if norm == 0:  # no direction to project on: every part is remainder
            return torch.zeros(parts.shape[0], dtype=torch.float64), parts.norm(dim=1)
        unit = total / norm
        along = parts @ unit  # (T,)
        return along, (parts - along[:, None] * unit).norm(dim=1)

    @property
    def along(self) -> list[float]:
        """Each step's signed component along ``.grad``, ``⟨g_t, G⟩ / ‖G‖``; they sum to ``‖G‖``.

        ``Σ_t ⟨g_t, G⟩ / ‖G‖ = ⟨Σ_t g_t, G⟩ / ‖G‖ = ⟨G, G⟩ / ‖G‖ = ‖G‖``: unlike the
        norms, these parts add up to the length of the gradient.
        """
        return self._split()[0].tolist()

    @property
    def across(self) -> list[float]:
        """Each step's orthogonal remainder, ``‖g_t − along_t · G/‖G‖‖``: what cancels between steps.

        ``‖g_t‖² = along_t² + across_t²``; the remainders sum to the zero vector, not to a length.
        """
        return self._split()[1].tolist()

    @property
    def max_abs_diff(self) -> float:
        """``max |sum over steps - .grad|`` (float rounding only)."""
        return float((self.total - self.grad).abs().max())


#: The loss the gradient is split for, in words (the page shows it beside the split).
LOSS = "L = ½ Σ (output − y)², summed over every output element; y is a seeded N(0, 1) random target of the output's shape"


def loss(output: torch.Tensor, seed: int) -> torch.Tensor:
    """:data:`LOSS`: half the squared distance of ``output`` from a seeded random target ``y``."""
    target = torch.randn(output.shape, generator=torch.Generator().manual_seed(seed)).to(output)  # y
    return 0.5 * (output - target).pow(2).sum()


@dataclass(frozen=True)
class GradContributions:
    """Every reused tensor's per-step gradient parts, for one seeded input and loss (:data:`LOSS`)."""

    form: str
    steps: int
    step_labels: tuple[str, ...]
    tensors: tuple[TensorContributions, ...]

    def tensor(self, name: str) -> TensorContributions:
        for t in self.tensors:
            if t.name == name:
                return t
        raise ValueError(f"tensor={name!r} is not reused by this {self.form}; choose one of "
                         f"{[t.name for t in self.tensors]}")

    @property
    def max_abs_diff(self) -> float:
        """The largest ``|sum over steps - .grad|`` over every reused tensor."""
        return max(t.max_abs_diff for t in self.tensors)

    def to_dict(self) -> dict[str, Any]:
        return {"form": self.form, "steps": self.steps, "step_labels": list(self.step_labels), "loss": LOSS,
                "max_abs_diff": self.max_abs_diff,
                "tensors": [{"name": t.name, "step_norms": t.step_norms, "along_grad": t.along,
                             "orthogonal_remainder": t.across, "grad_norm": float(t.grad.norm()),
                             "max_abs_diff": t.max_abs_diff} for t in self.tensors]}


def grad_contributions(
    form: str,
    steps: int | None = None,
    *,
    seed: int = 0,
    batch: int = 2,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    **overrides: Any,
) -> GradContributions:
    """Split the shared model's gradient into one part per step, via the unshared twin.

    Args:
        form: ``"rnn"``, ``"albert"`` or ``"universal_transformer"``.
        steps: ``seq_len`` (rnn) or ``num_layers``; ``None`` keeps the config's.
        seed: seeds the weights (``zoo.pair``), the input and the loss's target ``y`` (:data:`LOSS`).
        batch: input batch size ``N``.
        device, dtype: where and in what both models run.
        **overrides: other config fields.

    Shape:
        ``per_step`` of a tensor of shape ``S`` is ``(T, *S)``; ``T`` = steps.

    Sharing:
        ``W.grad == sum_t dLoss/dW_t``, where ``W_t`` is the use at step ``t``;
        the twin's copy at step ``t`` receives exactly ``dLoss/dW_t``.
    """
    config = _config(form, steps, overrides)
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    shared, twin = zoo.pair(form, device=device, dtype=dtype, seed=seed, **fields)
    x = zoo.example_input(form, batch=batch, device=device, seed=seed, **fields)
    loss(shared(x), seed).backward()
    loss(twin(x), seed).backward()
    twin_params = dict(twin.named_parameters())
    parts = []
    for name, p, twin_names in shared_uses(form, shared):
        copies = [twin_params[n] for n in twin_names]
        per_step = torch.stack([c.grad if c.grad is not None else torch.zeros_like(c) for c in copies])
        grad = p.grad if p.grad is not None else torch.zeros_like(p)
        parts.append(TensorContributions(name, per_step.detach(), grad.detach()))
    n = getattr(config, STEP_FIELD[form])
    return GradContributions(form, n, tuple(step_label(form, t) for t in range(n)), tuple(parts))
