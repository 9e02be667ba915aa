"""``lora``: one frozen base layer shared by N tasks, each with its own
low-rank adapter (LoRA, Hu et al., 2021). The twin is N fully fine-tuned
copies of the layer, each starting at the merged weight ``W + (alpha/r) B A``.

Counts include frozen parameters: ``param_count`` and
``sum(p.numel() for p in model.parameters())`` both count the frozen base.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from paramshare_viz.models.registry import Footprint, Form, register
from paramshare_viz.models.transformer import check_at_least


@dataclass(frozen=True)
class LoRAConfig:
    """Sizes of the base layer and the adapters."""

    in_features: int = 32
    out_features: int = 32
    rank: int = 4
    alpha: float = 8.0  # adapter scaling alpha / rank = 2
    num_tasks: int = 3
    bias: bool = True  # bias of the (frozen) base layer; adapters never carry one
    # PEFT's name. True: the standard init, B = 0, so every adapter starts as a
    # no-op. False (the zoo default): B is drawn at random like A, so the twin
    # equivalence tests a non-trivial merged weight.
    init_lora_weights: bool = False

    def __post_init__(self) -> None:
        check_at_least(1, in_features=self.in_features, out_features=self.out_features, rank=self.rank)
        if not isinstance(self.num_tasks, int) or self.num_tasks < 2:
            raise ValueError(f"num_tasks={self.num_tasks!r} must be at least 2: with one task nothing is shared")
        if self.rank > min(self.in_features, self.out_features):
            raise ValueError(
                f"rank={self.rank!r} exceeds min(in_features, out_features)="
                f"{min(self.in_features, self.out_features)}: the update would not be low-rank"
            )
        if not self.alpha > 0:
            raise ValueError(f"alpha={self.alpha!r} must be positive")
        if param_count(self, True) >= param_count(self, False):
            raise ValueError(
                f"rank={self.rank!r} with in_features={self.in_features!r}, out_features={self.out_features!r}: "
                f"the base plus {self.num_tasks} adapters hold {param_count(self, True)} parameters, not fewer "
                f"than {self.num_tasks} full copies ({param_count(self, False)}); use a smaller rank or wider features"
            )


class MultiTaskLoRA(nn.Module):
    r"""A frozen base ``Linear`` with one LoRA adapter per task (or the twin: one ``Linear`` per task).

    Task ``t`` computes ``base(x) + (alpha / r) * x A_t^T B_t^T``; forward returns every task.

    Args:
        config (LoRAConfig): sizes, scaling and init.
        shared (bool): frozen base + adapters (True) or ``T`` independent full layers (False).

    Shape:
        - Input: :math:`(*, F_{in})`.
        - Output: :math:`(*, T, F_{out})`, one slice per task.

    Attributes:
        base: ``Linear(F_in, F_out)``, ``requires_grad=False`` (shared model only).
        lora_A: ``T`` ``Linear(F_in, r, bias=False)``, weight ``A_t`` ``(r, F_in)`` (shared only).
        lora_B: ``T`` ``Linear(r, F_out, bias=False)``, weight ``B_t`` ``(F_out, r)`` (shared only).
        tasks: ``T`` trainable ``Linear(F_in, F_out)`` (twin only).

    Sharing:
        ``T (F_in F_out + b) -> F_in F_out + b + T r (F_in + F_out)``, ``b = F_out`` with bias
        (frozen base included); only ``T r (F_in + F_out)`` of them train.
    """

    def __init__(self, config: LoRAConfig, shared: bool = True) -> None:
        super().__init__()
        c = self.config = config
        self.shared = shared
        self.scaling = c.alpha / c.rank
        if not shared:
            self.tasks = nn.ModuleList(
                nn.Linear(c.in_features, c.out_features, bias=c.bias) for _ in range(c.num_tasks)
            )
            return
        self.base = nn.Linear(c.in_features, c.out_features, bias=c.bias).requires_grad_(False)  # one for all tasks
        self.lora_A = nn.ModuleList(nn.Linear(c.in_features, c.rank, bias=False) for _ in range(c.num_tasks))
        self.lora_B = nn.ModuleList(nn.Linear(c.rank, c.out_features, bias=False) for _ in range(c.num_tasks))
        if c.init_lora_weights:
            for b in self.lora_B:
                nn.init.zeros_(cast(nn.Linear, b).weight)  # the standard LoRA init: adapters start as a no-op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.shared:
            return torch.stack([task(x) for task in self.tasks], dim=-2)  # (*, T, F_out)
        y = self.base(x)  # (*, F_out), computed once for all tasks
        outs = [y + self.scaling * b(a(x)) for a, b in zip(self.lora_A, self.lora_B, strict=True)]
        return torch.stack(outs, dim=-2)  # (*, T, F_out)


def param_count(config: LoRAConfig, shared: bool) -> int:
    """Unique parameters of :class:`MultiTaskLoRA` (frozen ones included), the ``Sharing:`` formula."""
    c = config
    full = c.in_features * c.out_features + (c.out_features if c.bias else 0)
    if not shared:
        return c.num_tasks * full
    return full + c.num_tasks * c.rank * (c.in_features + c.out_features)


def _linears(layers: nn.ModuleList) -> list[nn.Linear]:
    return [cast(nn.Linear, m) for m in layers]


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    shared, unshared = cast(MultiTaskLoRA, shared), cast(MultiTaskLoRA, unshared)
    layers = zip(_linears(unshared.tasks), _linears(shared.lora_A), _linears(shared.lora_B), strict=True)
    for task, a, b in layers:
        task.weight.copy_(shared.base.weight + shared.scaling * b.weight @ a.weight)  # merged W + (alpha/r) B A
        if task.bias is not None:
            task.bias.copy_(shared.base.bias)


def footprint(config: LoRAConfig, shared: bool, batch: int) -> Footprint:
    """Costs of building :class:`MultiTaskLoRA` and one forward (see :class:`Footprint`)."""
    c = config
    T, o, inputs = c.num_tasks, c.out_features, batch * c.in_features
    if shared:
        activations = inputs + batch * (o + T * (c.rank + 4 * o))
        return Footprint(param_count(c, True), 0, inputs, activations, modules=4 + 2 * T, ops=3 + 6 * T)
    return Footprint(param_count(c, False), 0, inputs, inputs + 2 * batch * T * o, modules=2 + T, ops=1 + 2 * T)


register(
    Form(
        name="lora",
        config_cls=LoRAConfig,
        build=lambda config, shared: MultiTaskLoRA(config, shared),
        example_input=lambda config, batch: torch.randn(batch, config.in_features),
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="LoRA: a frozen base layer shared by N tasks, a low-rank adapter each (twin: N full copies)",
        in_call_note=lambda c: f"one frozen base shared by {c.num_tasks} tasks",
    )
)
