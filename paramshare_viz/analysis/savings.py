"""What sharing does not save, from the engines: FLOPs, activations, and (GQA) the K/V cache it does.

Sharing cuts parameters; the compute of one forward, the activations it keeps
and hence its time are the same or nearly so (ALBERT runs its one block L
times: L blocks' FLOPs and activations). :func:`not_saved` gathers, for one zoo
form's two sides, the figures that say so without building anything new:

* forward FLOPs counted by :func:`~paramshare_viz.analysis.flops.count_flops`
  (``None`` on the meta device, where Explore runs no forward: then the
  closed-form count of tensor ops per forward stands in);
* activations: the closed-form estimate of :func:`paramshare_viz.models.budget.footprint`
  (elements of every tensor one forward creates, at its batch; an upper estimate
  of what the pass holds), in bytes of the dtype; Compare shows the measured
  allocation of a pass beside it;
* GQA: the K/V cache at inference (:func:`~paramshare_viz.analysis.kv_cache.kv_cache`)
  at :data:`KV_CONTEXT` tokens and batch 1 in the chosen dtype, the saving that matters;
* LoRA: the frozen base's parameters and its share of the forward FLOPs, which
  it still costs although it gets no gradient or optimizer state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from paramshare_viz.analysis.kv_cache import KVCache, kv_cache
from paramshare_viz.analysis.report import SharingReport
from paramshare_viz.units import fmt_bytes

#: Cached tokens per sequence for the K/V cache figure (a common context length).
KV_CONTEXT = 4096
#: A twin ÷ shared ratio above this is a saving; at or below it, sharing did not save that quantity.
SAVED_ABOVE = 1.1

#: (what, twin ÷ shared or None, noisy)
Figure = tuple[str, float | None, bool]


def verdict(figures: list[Figure], fmt: Callable[[float], str]) -> str:
    """``"Saves: parameters 59.2x. Does not save: forward FLOPs 1x."``: each figure by its twin ÷ shared
    ratio (above :data:`SAVED_ABOVE`: saved), noisy ones apart, absent ones left out.

    >>> verdict([("parameters", 9.4, False), ("FLOPs", 1.0, False), ("time", 0.9, True)], lambda r: f"{r:.2g}x")
    'Saves: parameters 9.4x. Does not save: FLOPs 1x. Too noisy to say: time 0.9x.'
    """
    groups: dict[str, list[str]] = {"Saves": [], "Does not save": [], "Too noisy to say": []}
    for what, ratio, noisy in figures:
        if ratio is None:
            continue
        key = "Too noisy to say" if noisy else "Saves" if ratio > SAVED_ABOVE else "Does not save"
        groups[key].append(f"{what} {fmt(ratio)}")
    return " ".join(f"{key}: {'; '.join(items)}." for key, items in groups.items() if items)


@dataclass(frozen=True)
class NotSaved:
    """What one form's shared model still costs beside its twin.

    Attributes:
        flops: forward FLOPs ``(shared, twin)``, or ``None`` when no forward ran (meta).
        ops: ``(shared, twin)`` tensor ops one forward dispatches (closed form, ``budget.footprint``).
        activation_bytes: ``(shared, twin)`` closed-form estimate of one forward's tensors, in bytes.
        batch: batch of the activation estimate.
        kv: the K/V cache at inference (GQA only).
        frozen_params: parameters that get no gradient (LoRA's base), 0 elsewhere.
        frozen_flops: forward FLOPs of LoRA's frozen ``base``, when counted.
    """

    flops: tuple[int, int] | None
    ops: tuple[int, int]
    activation_bytes: tuple[int, int]
    batch: int
    kv: KVCache | None = None
    frozen_params: int = 0
    frozen_flops: int | None = None

    def flops_ratio(self) -> float | None:
        """Forward FLOPs twin ÷ shared."""
        if self.flops is None or not self.flops[0]:
            return None
        return self.flops[1] / self.flops[0]

    def figures(self) -> list[Figure]:
        """FLOPs (or, without them, ops), activations and the K/V cache, each as twin ÷ shared."""
        a, b = self.activation_bytes
        out: list[Figure] = []
        if self.flops is not None:
            out.append(("forward FLOPs", self.flops_ratio(), False))
        else:
            out.append(("ops per forward", self.ops[1] / self.ops[0] if self.ops[0] else None, False))
        out.append(("activations + temporaries", b / a if a else None, False))
        if self.kv is not None:
            out.append(("K/V cache at inference", self.kv.twin_over_shared, False))
        return out

    def lines(self) -> list[str]:
        """The figures in words, one per line, each saying what it counts."""
        out = []
        if self.flops is not None:
            out.append(f"forward FLOPs {self.flops[0]:,} vs twin {self.flops[1]:,} (counted)")
        else:
            out.append(
                f"ops per forward {self.ops[0]:,} vs twin {self.ops[1]:,} (closed form; FLOPs are counted "
                "when the models are built on cpu or cuda)"
            )
        a, b = self.activation_bytes
        out.append(
            f"activations + temporaries ≈ {fmt_bytes(a)} vs twin {fmt_bytes(b)} "
            f"(closed-form estimate of every tensor one forward creates, batch {self.batch})"
        )
        if self.frozen_params:
            share = "" if self.frozen_flops is None else f" ({self.frozen_flops:,} FLOPs)"
            out.append(
                f"frozen base: {self.frozen_params:,} parameters with no gradient or optimizer state, "
                f"yet it runs every forward{share} and its activations are kept"
            )
        return out

    def kv_line(self, dtype: str) -> str:
        """The K/V cache in words, its conditions first (``dtype``: the cache's dtype, named)."""
        if self.kv is None:
            return ""
        k = self.kv
        return (
            f"keys + values kept for {k.context:,} tokens, batch {k.batch}, {dtype}, {k.num_layers} layer: "
            f"{fmt_bytes(k.shared_bytes)} vs twin {fmt_bytes(k.twin_bytes)}"
        )


def gqa_kv_cache(config: Any, dtype: torch.dtype, *, context: int = KV_CONTEXT, batch: int = 1) -> KVCache:
    """The K/V cache of the zoo's one-layer GQA (``groups`` K/V heads) and of its multi-head twin."""
    return kv_cache(
        num_layers=1,
        num_heads=config.num_heads,
        num_kv_heads=config.groups,
        head_dim=config.hidden_size // config.num_heads,
        context=context,
        batch=batch,
        dtype=dtype,
    )


def not_saved(
    form: str, config: Any, shared: SharingReport, unshared: SharingReport, dtype: torch.dtype
) -> NotSaved:
    """:class:`NotSaved` of ``form`` at ``config`` from both sides' reports (see the module docstring)."""
    from paramshare_viz.models import budget

    size = torch.empty((), dtype=dtype).element_size()
    prints = [budget.footprint(form, config, side) for side in (True, False)]
    acts = [f.activations * size for f in prints]
    flops = None
    if shared.flops is not None and unshared.flops is not None:
        flops = (shared.flops.forward, unshared.flops.forward)
    frozen_flops = None
    if form == "lora" and shared.flops is not None:
        frozen_flops = shared.flops.per_module.get("base")  # the frozen Linear every task runs
    return NotSaved(
        flops=flops,
        ops=(prints[0].ops, prints[1].ops),
        activation_bytes=(acts[0], acts[1]),
        batch=budget.BATCH,
        kv=gqa_kv_cache(config, dtype) if form == "gqa" else None,
        frozen_params=shared.frozen_params,
        frozen_flops=frozen_flops,
    )
