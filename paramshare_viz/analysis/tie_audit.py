"""A tie audit of one transformers model: what its config says, what its class declares, what it holds.

transformers 5 ties a model's output head to its input embedding when the
config of the model that holds the head says ``tie_word_embeddings``
(``PreTrainedModel.get_expanded_tied_weights_keys`` reads ``getattr(self.config,
"tie_word_embeddings", False)``, once per sub-model, each with its own config:
the top level for ``GPT2LMHeadModel``, the decoder's for the head of an
``EncoderDecoderModel``) and that model's class lists the pair in
``_tied_weights_keys``. A user reads the
config, often the text config of a composite model. The audit puts the three
side by side and says whether they agree:

- :attr:`Verdict.AGREES`: the flag transformers reads for the head, and the
  text config's, equal what the built model holds (or there is no head).
- :attr:`Verdict.CONFIG_ONLY`: a flag says tie, but the head is not the input
  embedding: its parameters, which a user trusting the config believes are
  shared, are held twice.
- :attr:`Verdict.CLASS_ONLY`: the head is the input embedding (the class ties
  it), but a flag the config states says no tie.
- :attr:`Verdict.BY_DESIGN`: one of the two above, explained in transformers'
  own source (:data:`BY_DESIGN` quotes the file).

:func:`tie_verdict` is the pure rule; :func:`audit_model` reads its inputs
off a built model.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn


class Verdict(enum.StrEnum):
    """How a model's config, class and built tensors agree on tying the head to the embedding."""

    AGREES = "agrees"
    CONFIG_ONLY = "config says tie, model does not"
    CLASS_ONLY = "declared by class, not by config"
    BY_DESIGN = "by design"


#: Disagreements that transformers' source explains, by model type, quoting it (transformers 5).
BY_DESIGN: dict[str, str] = {
    "cpmant": (
        "models/cpmant/modeling_cpmant.py, CpmAntForCausalLM: \"The head is a vocab-sized slice of "
        "`input_embedding.weight`, so a whole-tensor tie would be shape-mismatched; the checkpoint ships "
        "`lm_head.weight` explicitly.\" (_tied_weights_keys = {})"
    ),
    "t5gemma": (
        "models/t5gemma/modeling_t5gemma.py, T5GemmaForConditionalGeneration: _tied_weights_keys = "
        "{\"lm_head.out_proj.weight\": \"model.decoder.embed_tokens.weight\"} and \"The tying happens from "
        "decoder to lm-head\", while get_input_embeddings() returns the encoder's: the head is the decoder's "
        "embedding, not the encoder's"
    ),
    "encoder-decoder": (
        "models/encoder_decoder/modeling_encoder_decoder.py, EncoderDecoderModel: get_input_embeddings() "
        "returns self.encoder.get_input_embeddings() and get_output_embeddings() returns "
        "self.decoder.get_output_embeddings(): two separate models, the decoder's head tied to the decoder's "
        "own embedding by the decoder's config"
    ),
}


@dataclass(frozen=True)
class TieVerdict:
    """A verdict and its reason in plain words."""

    verdict: Verdict
    detail: str


def _flag(value: bool | None) -> str:
    return "not set" if value is None else str(value)


def tie_verdict(
    config_tie: bool | None,
    text_config_tie: bool | None,
    class_ties: Mapping[str, str],
    tied: Iterable[Iterable[str]],
    head: str,
    embedding: str,
    *,
    head_model: str = "",
    head_model_tie: bool | None = None,
    head_params: int = 0,
    by_design: str = "",
) -> TieVerdict:
    """Whether the config's flags, the class's declared ties and the built ties agree.

    Args:
        config_tie: the top-level config's ``tie_word_embeddings`` (``None``: the config has none;
            transformers then reads False).
        text_config_tie: the text config's flag (``None``: no separate text config, or no flag).
        head_model: name of the sub-model that holds the head (``""``: the top level).
        head_model_tie: that sub-model's config flag, the one transformers reads for the head
            (used instead of ``config_tie`` when ``head_model`` is not ``""``).
        class_ties: the class's declared ties, tied name -> source name.
        tied: the built model's groups of names that reach one storage.
        head: the output embedding's weight name (``""``: no output head).
        embedding: the input embedding's weight name (``""``: none).
        head_params: elements of the head's weight, for the detail line.
        by_design: transformers' reason for a disagreement, quoted (see :data:`BY_DESIGN`).
    """
    if not head or not embedding:
        return TieVerdict(Verdict.AGREES, "no output head and input embedding pair to tie")
    held = any(head in g and embedding in g for g in map(set, tied))
    where, read = (f"{head_model} config", head_model_tie) if head_model else ("config", config_tie)
    stated = {where: read, "text config": text_config_tie}
    wrong = [f"{w} says {_flag(v)}" for w, v in stated.items() if v is not None and v != held]
    if read is None and held:  # transformers reads a missing flag as False
        wrong.insert(0, f"{where} has no flag (read as False)")
    if not wrong:
        how = f"{head} is {embedding}" if held else f"{head} and {embedding} are separate"
        return TieVerdict(Verdict.AGREES, how)
    if held:
        declared = f" as the class declares ({head} -> {class_ties[head]})" if head in class_ties else ""
        detail = f"{'; '.join(wrong)}, but {head} is {embedding}{declared}"
        verdict = Verdict.CLASS_ONLY
    else:
        partners = sorted(n for g in map(set, tied) if head in g for n in g if n != head)
        if partners:  # tied, to another tensor than the input embedding
            detail = f"{'; '.join(wrong)}, but {head} is not {embedding}: it is {partners[0]}"
        else:
            others = "" if head in class_ties else f"; the class declares no tie for {head}"
            detail = (
                f"{'; '.join(wrong)}, but {head} is not {embedding}{others}: {head_params:,} parameters a "
                "reader of the config believes are shared are held twice"
            )
        verdict = Verdict.CONFIG_ONLY
    if by_design:
        return TieVerdict(Verdict.BY_DESIGN, f"{detail}. Source: {by_design}")
    return TieVerdict(verdict, detail)


@dataclass(frozen=True)
class TieAudit:
    """What one built transformers model's config, class and tensors say about tying.

    Attributes:
        config_tie: top-level ``tie_word_embeddings`` (the flag transformers reads); ``None`` when unset.
        text_config_tie: the text config's flag, ``None`` when there is no separate text config.
        class_ties: declared ties, tied name -> source name, over every sub-model (prefixed), expanded
            with ``get_expanded_tied_weights_keys`` where transformers expands them.
        head: the output embedding's weight name, ``""`` when the model has none.
        head_model, head_model_tie: the innermost sub-model holding the head (``""``: the top level)
            and its config's flag, which transformers reads for the head.
        embedding: the input embedding's weight name, ``""`` when it has none.
        head_params: elements of the head's weight (0 without a head).
        verdict, detail: :func:`tie_verdict` of the above and the built ties.
    """

    config_tie: bool | None
    text_config_tie: bool | None
    class_ties: dict[str, str]
    head: str
    embedding: str
    head_model: str
    head_model_tie: bool | None
    head_params: int
    verdict: Verdict
    detail: str


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def declared_ties(model: nn.Module) -> dict[str, str]:
    """The class's ``_tied_weights_keys`` over every sub-model, prefixed, expanded where transformers can.

    transformers expands patterns only for a sub-model whose config asks for ties;
    elsewhere the class's own (possibly pattern) keys are given as written.
    """
    from transformers import PreTrainedModel

    out: dict[str, str] = {}
    for prefix, sub in model.named_modules(remove_duplicate=False):
        if not isinstance(sub, PreTrainedModel):
            continue
        keys = dict(getattr(sub, "_tied_weights_keys", None) or {})
        expand = getattr(sub, "get_expanded_tied_weights_keys", None)
        if keys and expand is not None:
            try:
                keys = dict(expand(all_submodels=False)) or keys
            except ValueError:  # a pattern that matches nothing in this default build
                pass
        dot = f"{prefix}." if prefix else ""
        out.update({f"{dot}{k}": f"{dot}{v}" for k, v in keys.items()})
    return out


def _weight_name(model: nn.Module, getter: str) -> tuple[str, int]:
    """``(name, numel)`` of the weight of ``model.<getter>()`` under its module's first name; ``("", 0)``."""
    try:
        module = getattr(model, getter)()
        numel = int(module.weight.numel())
    except (AttributeError, NotImplementedError, TypeError):  # no such module on this model
        return "", 0
    for name, sub in model.named_modules(remove_duplicate=False):
        if sub is module:
            return f"{name}.weight" if name else "weight", numel
    return "", 0


def audit_model(model: nn.Module, tied: Iterable[Iterable[str]], model_type: str = "") -> TieAudit:
    """Audit a built transformers model; ``tied`` are its sharing groups (``analyze(model).groups`` names)."""
    config: Any = model.config
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    config_tie = _bool(getattr(config, "tie_word_embeddings", None))
    text_tie = None if text is config else _bool(getattr(text, "tie_word_embeddings", None))
    class_ties = declared_ties(model)
    head, head_params = _weight_name(model, "get_output_embeddings")
    embedding, _ = _weight_name(model, "get_input_embeddings")
    owner, owner_tie = _head_model(model, head)
    found = tie_verdict(config_tie, text_tie, class_ties, tied, head, embedding, head_model=owner,
                        head_model_tie=owner_tie, head_params=head_params, by_design=BY_DESIGN.get(model_type, ""))
    return TieAudit(config_tie, text_tie, class_ties, head, embedding, owner, owner_tie, head_params,
                    found.verdict, found.detail)


def _head_model(model: nn.Module, head: str) -> tuple[str, bool | None]:
    """The innermost transformers sub-model whose name prefixes ``head``, and its config's flag."""
    from transformers import PreTrainedModel

    best = ""
    for prefix, sub in model.named_modules(remove_duplicate=False):
        if prefix and isinstance(sub, PreTrainedModel) and head.startswith(prefix + ".") and len(prefix) > len(best):
            best = prefix
    if not best:
        return "", None
    return best, _bool(getattr(model.get_submodule(best).config, "tie_word_embeddings", None))
