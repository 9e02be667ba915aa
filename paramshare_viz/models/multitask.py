"""``multitask``: hard parameter sharing (Caruana, 1997): one encoder feeds N
task heads. The twin trains N separate encoders, each starting as a copy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from paramshare_viz.models.registry import Footprint, Form, register
from paramshare_viz.models.transformer import check_at_least


@dataclass(frozen=True)
class MultitaskConfig:
    """Sizes of the shared encoder and the task heads."""

    in_features: int = 16
    hidden_size: int = 32
    num_layers: int = 2  # encoder depth: Linear + GELU per layer
    num_tasks: int = 3
    num_labels: int = 4  # outputs of every task head (one size for all, so outputs stack)

    def __post_init__(self) -> None:
        check_at_least(
            1,
            in_features=self.in_features,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            num_labels=self.num_labels,
        )
        if not isinstance(self.num_tasks, int) or self.num_tasks < 2:
            raise ValueError(f"num_tasks={self.num_tasks!r} must be at least 2: with one task nothing is shared")


def _encoder(c: MultitaskConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(c.num_layers):
        layers += [nn.Linear(c.in_features if i == 0 else c.hidden_size, c.hidden_size), nn.GELU()]
    return nn.Sequential(*layers)


class MultitaskModel(nn.Module):
    r"""One encoder with ``num_tasks`` heads (``shared=True``) or one encoder per task (``shared=False``).

    Args:
        config (MultitaskConfig): sizes.
        shared (bool): hard sharing of the encoder (True) or a separate encoder per task.

    Shape:
        - Input: :math:`(*, F)`, ``F = in_features``.
        - Output: :math:`(*, T, K)`: ``T`` tasks, ``K = num_labels`` outputs each.

    Attributes:
        encoder: ``Sequential`` MLP ``F -> H -> ... -> H`` (shared model only).
        encoders: ``ModuleList`` of ``T`` such MLPs (twin only).
        heads: ``ModuleList`` of ``T`` ``Linear(H, K)``.

    Sharing:
        ``P_enc = F H + H + (D - 1)(H^2 + H)`` for depth ``D``, ``P_head = H K + K``;
        ``T (P_enc + P_head) -> P_enc + T P_head``. The shared encoder also runs once, not ``T`` times.
    """

    def __init__(self, config: MultitaskConfig, shared: bool = True) -> None:
        super().__init__()
        c = self.config = config
        if shared:
            self.encoder = _encoder(c)  # one encoder object for every task
        else:
            self.encoders = nn.ModuleList(_encoder(c) for _ in range(c.num_tasks))
        self.heads = nn.ModuleList(nn.Linear(c.hidden_size, c.num_labels) for _ in range(c.num_tasks))
        self.shared = shared

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shared:
            h = self.encoder(x)  # (*, H), computed once for all tasks
            outs = [head(h) for head in self.heads]
        else:
            outs = [head(enc(x)) for enc, head in zip(self.encoders, self.heads, strict=True)]
        return torch.stack(outs, dim=-2)  # (*, T, K)


def param_count(config: MultitaskConfig, shared: bool) -> int:
    """Unique parameters of :class:`MultitaskModel`, the ``Sharing:`` formula."""
    c = config
    H = c.hidden_size
    encoder = c.in_features * H + H + (c.num_layers - 1) * (H * H + H)
    head = H * c.num_labels + c.num_labels
    return (1 if shared else c.num_tasks) * encoder + c.num_tasks * head


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    shared, unshared = cast(MultitaskModel, shared), cast(MultitaskModel, unshared)
    state = shared.encoder.state_dict()
    for encoder in unshared.encoders:
        encoder.load_state_dict(state)
    unshared.heads.load_state_dict(shared.heads.state_dict())


def footprint(config: MultitaskConfig, shared: bool, batch: int) -> Footprint:
    """Costs of building :class:`MultitaskModel` and one forward (see :class:`Footprint`)."""
    c = config
    T, D = c.num_tasks, c.num_layers
    encoder = batch * 2 * D * c.hidden_size  # Linear + GELU per layer
    heads = batch * 2 * T * c.num_labels  # the heads' outputs, stacked
    if shared:
        return Footprint(param_count(c, True), 0, batch * c.in_features, batch * c.in_features + encoder + heads,
                         modules=3 + 2 * D + T, ops=1 + 3 * D + 2 * T)
    return Footprint(param_count(c, False), 0, batch * c.in_features, batch * c.in_features + T * encoder + heads,
                     modules=3 + T * (2 + 2 * D), ops=1 + T * (3 * D + 2))


register(
    Form(
        name="multitask",
        config_cls=MultitaskConfig,
        build=lambda config, shared: MultitaskModel(config, shared),
        example_input=lambda config, batch: torch.randn(batch, config.in_features),
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="Multi-task learning: one encoder feeds N task heads (twin: an encoder per task)",
        in_call_note=lambda c: f"one encoder feeds {c.num_tasks} task heads",
    )
)
