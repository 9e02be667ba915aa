"""Ties a saved file may have lost or duplicated, told from its names and values.

A state dict saved by ``safetensors.torch.save_model`` keeps one name of each
tie (GPT-2's ``lm_head.weight`` is dropped beside ``transformer.wte.weight``),
and one saved after a tie came apart holds two equal but separate copies. In
either file no tensor is held under two names, so :func:`check_ties` finds
nothing at risk, yet the model it came from shared a tensor. :func:`tie_hints`
says where the names or the values point to such a tie, naming the tensors.
It reads the tensors only (no model code), and never on the meta device
(no values there).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from paramshare_viz.display import natural_key, natural_sorted

#: ``(marker, tied names, architecture)`` of known architectures (Hugging Face names): in a file
#: with a name starting with ``marker``, some tied names present and others absent mean the tie
#: was saved under fewer names (safetensors' ``save_model`` keeps one; for GPT-2 it keeps
#: ``lm_head.weight`` and drops ``transformer.wte.weight``).
KNOWN_TIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("transformer.h.", ("transformer.wte.weight", "lm_head.weight"), "GPT-2"),
    ("model.layers.", ("model.embed_tokens.weight", "lm_head.weight"), "Llama/Mistral/Qwen (when tied)"),
    ("bert.", ("bert.embeddings.word_embeddings.weight", "cls.predictions.decoder.weight"), "BERT"),
    ("albert.", ("albert.embeddings.word_embeddings.weight", "predictions.decoder.weight"), "ALBERT"),
    ("encoder.block.", ("shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"), "T5"),
    ("model.encoder.layers.",
     ("model.shared.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"), "BART"),
)

#: Names of input embeddings that language models commonly tie to their output head.
_EMBEDDING = re.compile(r"(^|\.)(wte|embed_tokens|word_embeddings|embed|embedding|tok_embeddings)\.weight$")
#: Names of output heads (any of these in the file: the head may be there, say nothing).
_HEAD = re.compile(r"(^|\.)(lm_head|head|decoder|output|classifier|out_proj|unembed)\.weight$")


@dataclass(frozen=True)
class TieHints:
    """What the names and values of a state dict suggest about ties it lost or duplicated.

    Attributes:
        missing: sentences naming a tied name absent beside its partner (a tie saved once).
        equal: groups of names whose tensors are bit-identical (same shape, dtype and bytes)
            but held in separate storage: a tie saved as copies, or a coincidence.
        constant_groups: further equal groups left out because every element is the same
            value (fresh LayerNorm weights are all ones, biases all zeros).
        checked_values: whether values were compared (not on the meta device).
        lines: the sentences to show: ``missing``, then one per ``equal`` group.
    """

    missing: tuple[str, ...] = ()
    equal: tuple[tuple[str, ...], ...] = ()
    constant_groups: int = 0
    checked_values: bool = True
    lines: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tie_hints(model: nn.Module) -> TieHints:
    """Ties that the parameter and buffer names of ``model``, and their values, suggest were lost.

    ``model`` is typically a :class:`~paramshare_viz.analysis.loading.StateDictModule` read
    from a file. Names held by one tensor (a tie the file kept) are not hints.

    Returns:
        A :class:`TieHints`; ``lines`` are the sentences to show, each naming the tensors.
    """
    tensors = dict(model.state_dict(keep_vars=True))
    missing = _missing(tensors)
    values = [t for t in tensors.values() if not t.is_meta]
    equal, constant = _equal(tensors) if values else ((), 0)
    lines = list(missing)
    for names in equal:
        shown = (", ".join(names[:3]) + f" and {len(names) - 3} more") if len(names) > 4 else (
            ", ".join(names[:-1]) + " and " + names[-1])
        lines.append(
            f"{shown} are equal bit for bit (same shape and dtype) but stored separately: a tie saved as "
            "copies (they would now train apart), or two tensors that happen to be equal"
        )
    return TieHints(tuple(missing), equal, constant, bool(values), tuple(lines))


def _missing(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    names = set(tensors)
    out = []
    for marker, tied, arch in KNOWN_TIES:
        if not any(n.startswith(marker) for n in names):
            continue
        here = [n for n in tied if n in names]
        absent = [n for n in tied if n not in names]
        if here and absent:
            verb = "is" if len(absent) == 1 else "are"
            out.append(
                f"{' and '.join(here)} {'is' if len(here) == 1 else 'are'} here but {' and '.join(absent)} "
                f"{verb} not: {arch} ties {', '.join(tied[:-1])} and {tied[-1]}, so the tie was saved under fewer names "
                "(safetensors' save_model keeps one); re-tie after loading (tie_weights())"
            )
    if out:
        return out
    for name in natural_sorted(names):
        if "." in name and name.endswith(".bias") and name[: -len("bias")] + "weight" not in names:
            out.append(
                f"{name} is here but {name[: -len('bias')]}weight is not: that weight was saved under "
                "another name, likely a tie (safetensors' save_model keeps one name of a tie)"
            )
    embeddings = [n for n in natural_sorted(names) if _EMBEDDING.search(n)]
    if not out and embeddings and not any(_HEAD.search(n) for n in names):
        out.append(
            f"{embeddings[0]} looks like an input embedding and no output head is here: if the model "
            "ties its head to it, the head was saved under this one name and must be re-tied after loading"
        )
    return out


def _equal(tensors: Mapping[str, torch.Tensor]) -> tuple[tuple[tuple[str, ...], ...], int]:
    """Groups of names with bit-identical tensors in separate storage, and how many were constant."""
    by_storage: dict[tuple, str] = {}
    by_value: dict[tuple, list[str]] = {}
    for name, t in tensors.items():
        if t.is_meta or t.numel() == 0:
            continue
        where = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.stride()), tuple(t.shape), t.dtype)
        if where in by_storage:
            continue  # another name of a tensor already seen: a tie the file kept, not a copy
        by_storage[where] = name
        data = t.detach().contiguous().view(-1).view(torch.uint8).numpy().tobytes()
        by_value.setdefault((tuple(t.shape), t.dtype, hashlib.sha256(data).digest()), []).append(name)
    equal, constant = [], 0
    for (_shape, _dtype, _digest), names in by_value.items():
        if len(names) < 2:
            continue
        first = tensors[names[0]].detach().reshape(-1)
        if bool((first == first[0]).all()):  # all ones or all zeros: equal by initialisation
            constant += 1
            continue
        equal.append(tuple(natural_sorted(names)))
    return tuple(sorted(equal, key=lambda g: natural_key(g[0]))), constant
