"""Recurrent network: one RNN/GRU/LSTM cell reused at every step, and its per-step twin."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from paramshare_viz.models.registry import Footprint, Form, register


class Cell(enum.StrEnum):
    """The recurrent cell (``torch.nn.RNNCell``, ``GRUCell`` or ``LSTMCell``)."""

    RNN = "rnn"
    GRU = "gru"
    LSTM = "lstm"

    @property
    def gates(self) -> int:
        """How many ``(H, I)`` / ``(H, H)`` weight blocks the cell stacks."""
        return {Cell.RNN: 1, Cell.GRU: 3, Cell.LSTM: 4}[self]


_CELLS = {Cell.RNN: nn.RNNCell, Cell.GRU: nn.GRUCell, Cell.LSTM: nn.LSTMCell}


@dataclass(frozen=True)
class RNNConfig:
    """A single-layer, batch-first recurrent network (``torch.nn.RNN`` names).

    ``cell`` also accepts the plain strings ``"rnn"``, ``"gru"``, ``"lstm"``.
    """

    cell: Cell = Cell.RNN  # the plain tanh cell: the easiest to read in the Unroll tab
    input_size: int = 4
    hidden_size: int = 8
    seq_len: int = 5  # at least 2, or the per-step twin would be the same single cell
    bias: bool = True

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "cell", Cell(self.cell))
        except ValueError:
            raise ValueError(f"cell={self.cell!r} is not one of {[c.value for c in Cell]}") from None
        for name in ("input_size", "hidden_size", "seq_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if self.seq_len < 2:
            raise ValueError(
                f"seq_len={self.seq_len} must be at least 2: with one step the per-step twin is the same "
                f"single cell and shares nothing less"
            )


class UnrolledRNN(nn.Module):
    r"""A recurrent network written as the plain loop of ``torch.nn.RNN``'s docstring.

    ``h_t = cell(x_t, h_{t-1})`` for ``t = 0 .. L-1``, starting from a learned
    initial state ``h0`` (and ``c0`` for the LSTM). The shared model calls the
    one cell object at every step; the unshared twin has its own cell per step.
    The initial state is learned, not zero, so that the twin's first
    ``weight_hh`` matters (with ``h_{-1} = 0`` it would get no gradient).

    Args:
        config (RNNConfig): ``cell``, ``I`` input_size, ``H`` hidden_size, ``L`` seq_len, bias.
        shared (bool): one cell reused (True) or one cell per step (False). Default: ``True``.

    Shape:
        - Input: :math:`(N, L, I)`, ``N`` batch (batch first).
        - Output: :math:`(N, L, H)`, the hidden state after every step.

    Attributes:
        cell: shared model only; ``weight_ih (G*H, I)``, ``weight_hh (G*H, H)``,
            ``bias_ih``, ``bias_hh (G*H,)`` with ``G`` = 1 (rnn), 3 (gru), 4 (lstm).
        cells: twin only; ``L`` cells of the same shapes, one per step.
        h0: ``(H,)``, the initial state; c0: ``(H,)``, the initial cell state (LSTM only).

    Sharing:
        The cell's four tensors are used at all ``L`` steps.
        shared: ``G*(H*I + H*H + 2*H) + S0``; unshared: ``L*G*(H*I + H*H + 2*H) + S0``
        with ``S0 = H`` (``2*H`` for the LSTM) for the initial state, which both
        models have once (``2*H`` terms in the parentheses only with ``bias``).
        The config rejects ``L < 2``, so the twin always has strictly more
        parameters.

    Example:
        >>> m = UnrolledRNN(RNNConfig(cell="gru"))
        >>> m(torch.randn(2, 5, 4)).shape
        torch.Size([2, 5, 8])
    """

    c0: nn.Parameter | None  # registered in __init__ (LSTM only)

    def __init__(self, config: RNNConfig, shared: bool = True) -> None:
        super().__init__()
        self.config, self.shared = config, shared
        make = _CELLS[config.cell]
        if shared:
            self.cell = make(config.input_size, config.hidden_size, bias=config.bias)
        else:
            self.cells = nn.ModuleList(
                make(config.input_size, config.hidden_size, bias=config.bias) for _ in range(config.seq_len)
            )
        bound = 1 / math.sqrt(config.hidden_size)  # the cells' own init scale
        self.h0 = nn.Parameter(torch.empty(config.hidden_size).uniform_(-bound, bound))
        is_lstm = config.cell is Cell.LSTM
        self.register_parameter(
            "c0", nn.Parameter(torch.empty(config.hidden_size).uniform_(-bound, bound)) if is_lstm else None
        )

    def cell_at(self, t: int) -> nn.Module:
        """The cell used at step ``t``: the same object at every step when shared."""
        return self.cell if self.shared else self.cells[t]  # one cell reused over time

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, _ = x.shape
        if length != self.config.seq_len:
            raise ValueError(
                f"input has {length} steps; this model was built for seq_len={self.config.seq_len}"
            )
        h = self.h0.expand(n, -1)  # (N, H)
        c = self.c0.expand(n, -1) if self.c0 is not None else None
        outputs = []
        for t in range(length):
            if self.config.cell is Cell.LSTM:
                h, c = self.cell_at(t)(x[:, t], (h, c))
            else:
                h = self.cell_at(t)(x[:, t], h)
            outputs.append(h)
        return torch.stack(outputs, dim=1)  # (N, L, H)


def build(config: RNNConfig, shared: bool) -> nn.Module:
    return UnrolledRNN(config, shared)


def example_input(config: RNNConfig, batch: int) -> torch.Tensor:
    return torch.randn(batch, config.seq_len, config.input_size)


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    shared, unshared = cast(UnrolledRNN, shared), cast(UnrolledRNN, unshared)
    state = shared.cell.state_dict()
    for cell in unshared.cells:
        cell.load_state_dict(state)
    unshared.h0.copy_(shared.h0)
    if shared.c0 is not None:
        assert unshared.c0 is not None  # same config, so both are LSTMs
        unshared.c0.copy_(shared.c0)


def param_count(config: RNNConfig, shared: bool) -> int:
    i, h = config.input_size, config.hidden_size
    per_cell = config.cell.gates * (h * i + h * h + (2 * h if config.bias else 0))
    initial = 2 * h if config.cell is Cell.LSTM else h  # h0 (and c0), once per model
    return (per_cell if shared else config.seq_len * per_cell) + initial


def footprint(config: RNNConfig, shared: bool, batch: int) -> Footprint:
    """Costs of :func:`build` and one forward on ``example_input`` (see :class:`Footprint`)."""
    c = config
    g, h, steps = c.cell.gates, c.hidden_size, c.seq_len
    inputs = batch * steps * c.input_size
    per_step = batch * (4 * g * h + 2 * h)  # both gate products, their sum, the new state(s)
    ops_per_step, ops_base = {Cell.RNN: (7, 2), Cell.GRU: (17, 2), Cell.LSTM: (16, 3)}[c.cell]  # measured
    return Footprint(
        param_count(c, shared), 0, inputs, inputs + steps * per_step + batch * steps * h,
        modules=2 if shared else 2 + steps, ops=ops_base + ops_per_step * steps,
    )


register(
    Form(
        name="rnn",
        config_cls=RNNConfig,
        build=build,
        example_input=example_input,
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="RNN/GRU/LSTM: one cell reused at every step vs one cell per step",
        meta_note=lambda c: f"one cell reused at {c.seq_len:,} steps",
    )
)
