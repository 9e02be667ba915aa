"""Diagonal state-space scan: one (a, B, C, D) for every step, and a time-varying twin."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from paramshare_viz.models.registry import Footprint, Form, register


@dataclass(frozen=True)
class SSMConfig:
    """A single-layer linear state-space model (Mamba / S4D names)."""

    d_model: int = 4  # input and output channels
    d_state: int = 8  # size of the diagonal state h_t
    seq_len: int = 6  # at least 2, or the per-step twin would be the same single step

    def __post_init__(self) -> None:
        for name in ("d_model", "d_state", "seq_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if self.seq_len < 2:
            raise ValueError(
                f"seq_len={self.seq_len} must be at least 2: with one step the time-varying twin has "
                f"exactly the shared parameters"
            )


class DiagonalSSM(nn.Module):
    r"""A linear recurrence with a diagonal, stable state matrix.

    .. math::
        h_t = a \odot h_{t-1} + B x_t, \quad y_t = C h_t + D \odot x_t, \quad h_{-1} = h_0,

    with ``a = exp(-exp(log_a))`` in ``(0, 1)`` (always stable, as in S4D /
    Mamba's ``A_log``). The shared model is time-invariant: the same
    ``(log_a, B, C, D)`` at every step. The unshared twin is time-varying:
    its own ``(log_a_t, B_t, C_t, D_t)`` for each of the ``L`` steps. The
    initial state ``h0`` is learned (once per model), so that the twin's first
    decay ``a_0`` matters (with ``h_{-1} = 0`` it would get no gradient).

    Args:
        config (SSMConfig): ``d`` d_model, ``S`` d_state, ``L`` seq_len.
        shared (bool): time-invariant (True) or per-step parameters (False). Default: ``True``.

    Shape:
        - Input: :math:`(N, L, d)`, ``N`` batch.
        - Output: :math:`(N, L, d)`.

    Attributes:
        log_a: ``(S,)``; decay ``a = exp(-exp(log_a))``, initialised in ``[0.5, 0.95]``.
        B: ``(S, d)``, input projection.
        C: ``(d, S)``, readout.
        D: ``(d,)``, skip connection, initialised to ones.
        h0: ``(S,)``, the initial state (not per step in the twin either).
        The twin stacks each with a leading ``L``: ``(L, S)``, ``(L, S, d)``, ``(L, d, S)``, ``(L, d)``.

    Sharing:
        All four tensors are used at all ``L`` steps.
        shared: ``S + S*d + d*S + d + S``; unshared: ``L*(S + 2*S*d + d) + S``
        (the last ``S`` is ``h0``). The config rejects ``L < 2``, so the twin
        always has strictly more parameters.

    Example:
        >>> m = DiagonalSSM(SSMConfig())
        >>> m(torch.randn(2, 6, 4)).shape
        torch.Size([2, 6, 4])
    """

    def __init__(self, config: SSMConfig, shared: bool = True) -> None:
        super().__init__()
        self.config, self.shared = config, shared
        d, s = config.d_model, config.d_state
        lead = () if shared else (config.seq_len,)  # the twin: one set per step
        a0 = torch.empty(*lead, s).uniform_(0.5, 0.95)
        self.log_a = nn.Parameter(torch.log(-torch.log(a0)))
        self.B = nn.Parameter(torch.randn(*lead, s, d) / math.sqrt(d))
        self.C = nn.Parameter(torch.randn(*lead, d, s) / math.sqrt(s))
        self.D = nn.Parameter(torch.ones(*lead, d))
        self.h0 = nn.Parameter(torch.randn(s) / math.sqrt(s))

    def params_at(self, t: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(a, B, C, D)`` used at step ``t``: the same tensors at every step when shared."""
        if self.shared:
            return torch.exp(-torch.exp(self.log_a)), self.B, self.C, self.D  # time-invariant
        return torch.exp(-torch.exp(self.log_a[t])), self.B[t], self.C[t], self.D[t]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, _ = x.shape
        if length != self.config.seq_len:
            raise ValueError(
                f"input has {length} steps; this model was built for seq_len={self.config.seq_len}"
            )
        h = self.h0.expand(n, -1)  # (N, S)
        ys = []
        for t in range(length):
            a, b, c, d = self.params_at(t)
            h = a * h + x[:, t] @ b.t()  # (N, S)
            ys.append(h @ c.t() + d * x[:, t])  # (N, d)
        return torch.stack(ys, dim=1)  # (N, L, d)


def build(config: SSMConfig, shared: bool) -> nn.Module:
    return DiagonalSSM(config, shared)


def example_input(config: SSMConfig, batch: int) -> torch.Tensor:
    return torch.randn(batch, config.seq_len, config.d_model)


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    for name in ("log_a", "B", "C", "D", "h0"):
        twin = getattr(unshared, name)
        twin.copy_(getattr(shared, name).expand_as(twin))


def param_count(config: SSMConfig, shared: bool) -> int:
    d, s = config.d_model, config.d_state
    per_step = s + 2 * s * d + d
    return (per_step if shared else config.seq_len * per_step) + s  # + h0


def footprint(config: SSMConfig, shared: bool, batch: int) -> Footprint:
    """Costs of :func:`build` and one forward on ``example_input`` (see :class:`Footprint`)."""
    c = config
    d, s, steps = c.d_model, c.d_state, c.seq_len
    inputs = batch * steps * d
    per_step = 2 * s + 3 * batch * s + 3 * batch * d  # the decay, the state update, the readout
    ops = 2 + (13 if shared else 17) * steps  # measured per step
    return Footprint(param_count(c, shared), 0, inputs, 2 * inputs + steps * per_step, modules=1, ops=ops)


register(
    Form(
        name="ssm",
        config_cls=SSMConfig,
        build=build,
        example_input=example_input,
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="State-space scan: time-invariant (a, B, C, D) vs its own per step",
        in_call_note=lambda c: f"(a, B, C, D) reused at {c.seq_len:,} steps",
    )
)
