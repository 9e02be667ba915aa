"""One line of why, where a predicted figure and a measured one point different ways.

The ledger (parameters + buffers + gradients + optimizer state) and the FLOP
count predict which side needs more; the measured peak and time say which side
did. When they disagree in direction, these functions say why from the same
row's numbers (buffers, what the pass allocated, bytes moved), so the CLI and
the page print the same sentence. Each returns ``""`` when there is nothing to
explain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paramshare_viz.units import fmt_bytes

SIDES = ("shared", "unshared")
NAMES = {"shared": "the shared model", "unshared": "the twin"}


def _more(row: Mapping[str, Any], stem: str) -> str | None:
    """Which side holds more of ``<stem>_shared`` / ``<stem>_unshared`` (``None``: equal or absent)."""
    a, b = row.get(f"{stem}_shared"), row.get(f"{stem}_unshared")
    if a is None or b is None or a == b:
        return None
    return "shared" if a > b else "unshared"


def memory_note(row: Mapping[str, Any]) -> str:
    """Why the measured peak and the training ledger disagree on which side needs more memory.

    >>> memory_note({"train_mem_shared": 7, "train_mem_unshared": 12, "peak_shared": 13, "peak_unshared": 6,
    ...              "buffer_bytes_shared": 6_272_000, "buffer_bytes_unshared": 0,
    ...              "peak_pass_shared": 6_276_008, "peak_pass_unshared": 3_140_008})  # doctest: +NORMALIZE_WHITESPACE
    'The ledger predicts the twin needs more memory, yet the shared model measured the larger peak:
     the shared model holds 6.0 MiB more buffers (counted in both), and its forward + backward allocated
     6.0 MiB vs 3.0 MiB (activations, temporaries, gradients: not in the ledger).'
    """
    predicted, measured = _more(row, "train_mem"), _more(row, "peak")
    if predicted is None or measured is None or predicted == measured:
        return ""
    big, small = measured, predicted
    why = []
    extra = (row.get(f"buffer_bytes_{big}") or 0) - (row.get(f"buffer_bytes_{small}") or 0)
    if extra > 0:
        why.append(f"{NAMES[big]} holds {fmt_bytes(extra)} more buffers (counted in both)")
    a, b = row.get(f"peak_pass_{big}"), row.get(f"peak_pass_{small}")
    if a is not None and b is not None and a > b:
        pronoun = "its" if why else f"{NAMES[big]}'s"
        why.append(
            f"{pronoun} forward + backward allocated {fmt_bytes(a)} vs {fmt_bytes(b)} "
            "(activations, temporaries, gradients: not in the ledger)"
        )
    if not why:
        why.append("the ledger counts no activations, and the peak counts no optimizer state")
    return (
        f"The ledger predicts {NAMES[predicted]} needs more memory, yet {NAMES[measured]} measured the larger "
        f"peak: {', and '.join(why)}."
    )


def time_note(row: Mapping[str, Any], kind: str = "fwd") -> str:
    """Why the side with no more FLOPs took longer (a trusted, not noisy, time ratio only).

    >>> time_note({"flops_fwd_shared": 10, "flops_fwd_unshared": 10, "time_fwd_twin_over_shared": 0.06,
    ...            "time_fwd_noise": "", "bytes_moved_shared": 19_700_000, "bytes_moved_unshared": 3_140_000,
    ...            "buffer_bytes_shared": 6_272_000, "buffer_bytes_unshared": 0})  # doctest: +NORMALIZE_WHITESPACE
    'The shared model runs no more FLOPs yet took 16.7x as long: FLOPs count matmul-like ops only; it moves
     18.8 MiB per forward vs 3.0 MiB (indexing its 6.0 MiB of buffers, gathers, elementwise work).'
    """
    ratio = row.get(f"time_{kind}_twin_over_shared")
    fa, fb = row.get("flops_fwd_shared"), row.get("flops_fwd_unshared")
    if ratio is None or fa is None or fb is None or row.get(f"time_{kind}_noise"):
        return ""
    if ratio < 1 and fa <= fb:
        slow, fast = "shared", "unshared"
        factor = 1 / ratio
    elif ratio > 1 and fb <= fa:
        slow, fast = "unshared", "shared"
        factor = ratio
    else:
        return ""
    if factor < 1.25:  # within the noise rule's band: no story to tell
        return ""
    what = []
    buffers = row.get(f"buffer_bytes_{slow}") or 0
    if buffers > (row.get(f"buffer_bytes_{fast}") or 0):
        what.append(f"indexing its {fmt_bytes(buffers)} of buffers")
    what += ["gathers", "elementwise work"]
    moved = ""
    a, b = row.get(f"bytes_moved_{slow}"), row.get(f"bytes_moved_{fast}")
    if a is not None and b is not None and a > b:
        moved = f"; it moves {fmt_bytes(a)} per forward vs {fmt_bytes(b)}"
    return (
        f"{NAMES[slow].capitalize()} runs no more FLOPs yet took {factor:.3g}x as long: FLOPs count "
        f"matmul-like ops only{moved} ({', '.join(what)})."
    )
