"""Siamese network: one branch applied to both inputs, and its two-branch twin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from paramshare_viz.models.registry import Footprint, Form, register


@dataclass(frozen=True)
class SiameseConfig:
    """A Siamese pair of MLP branches compared by cosine similarity."""

    in_features: int = 8
    hidden_features: int = 16
    embed_dim: int = 4  # size of each embedding compared; at least 2 for a useful cosine
    bias: bool = True

    def __post_init__(self) -> None:
        for name in ("in_features", "hidden_features", "embed_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if self.embed_dim < 2:
            raise ValueError(
                f"embed_dim={self.embed_dim} must be at least 2: the cosine similarity of 1-D embeddings is "
                f"only their sign, with zero gradient"
            )


def _branch(config: SiameseConfig) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(config.in_features, config.hidden_features, bias=config.bias),
        nn.ReLU(),
        nn.Linear(config.hidden_features, config.embed_dim, bias=config.bias),
    )


class Siamese(nn.Module):
    r"""Embed two inputs and return the cosine similarity of the embeddings (Bromley et al., 1993).

    The shared model applies the one ``branch`` module to both inputs (it is
    called twice per forward). The unshared twin has two branches,
    ``branches[0]`` for the first input and ``branches[1]`` for the second.

    Args:
        config (SiameseConfig): ``F`` in_features, ``H`` hidden_features, ``E`` embed_dim, bias.
        shared (bool): one branch (True) or two (False). Default: ``True``.

    Shape:
        - Input: two tensors :math:`(N, F)`, ``N`` batch.
        - Output: :math:`(N,)`, cosine similarity in ``[-1, 1]``.

    Attributes:
        branch: shared model only; ``Linear(F, H)``, ReLU, ``Linear(H, E)``:
            ``0.weight (H, F)``, ``0.bias (H,)``, ``2.weight (E, H)``, ``2.bias (E,)``.
        branches: twin only; two such branches.

    Sharing:
        The branch's four tensors are used for both inputs.
        shared: ``F*H + H + H*E + E``; unshared: ``2*(F*H + H + H*E + E)`` (bias
        terms only with ``bias``). Every term is at least 1, so the twin always
        has strictly more parameters.

    Example:
        >>> m = Siamese(SiameseConfig())
        >>> m(torch.randn(2, 8), torch.randn(2, 8)).shape
        torch.Size([2])
    """

    def __init__(self, config: SiameseConfig, shared: bool = True) -> None:
        super().__init__()
        self.config, self.shared = config, shared
        if shared:
            self.branch = _branch(config)
        else:
            self.branches = nn.ModuleList([_branch(config), _branch(config)])

    def branch_for(self, i: int) -> nn.Module:
        """The branch that embeds input ``i`` (0 or 1): the same object for both when shared."""
        return self.branch if self.shared else self.branches[i]  # one branch, both inputs

    def embed(self, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.branch_for(0)(x1), self.branch_for(1)(x2)  # (N, E) each

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        e1, e2 = self.embed(x1, x2)
        return F.cosine_similarity(e1, e2, dim=-1)  # (N,)


def build(config: SiameseConfig, shared: bool) -> nn.Module:
    return Siamese(config, shared)


def example_input(config: SiameseConfig, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(batch, config.in_features), torch.randn(batch, config.in_features)


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    shared, unshared = cast(Siamese, shared), cast(Siamese, unshared)
    for branch in unshared.branches:
        branch.load_state_dict(shared.branch.state_dict())


def param_count(config: SiameseConfig, shared: bool) -> int:
    f, h, e = config.in_features, config.hidden_features, config.embed_dim
    per_branch = f * h + h * e + (h + e if config.bias else 0)
    return per_branch if shared else 2 * per_branch


def footprint(config: SiameseConfig, shared: bool, batch: int) -> Footprint:
    """Costs of :func:`build` and one forward on ``example_input`` (see :class:`Footprint`)."""
    f, h, e = config.in_features, config.hidden_features, config.embed_dim
    inputs = 2 * batch * f
    return Footprint(param_count(config, shared), 0, inputs, inputs + 2 * batch * (2 * h + e) + 6 * batch,
                     modules=5 if shared else 10, ops=21)


register(
    Form(
        name="siamese",
        config_cls=SiameseConfig,
        build=build,
        example_input=example_input,
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="Siamese network: one branch applied to both inputs vs two branches",
        meta_note=lambda c: "one branch embeds both inputs",
    )
)
