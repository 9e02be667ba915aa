"""``load_model(spec)``: a model from a short spec string, for ``inspect`` and the dashboard.

=============================================  ==================================================
spec                                           what it loads
=============================================  ==================================================
``zoo:<form>``                                 ``psv.zoo.build(form)``; query overrides
``zoo:albert?num_layers=4&share=attention``    (ints, floats, ``true``/``false``, ``none``,
                                               strings); ``shared``, ``device`` and ``dtype``
                                               go to ``build`` itself
``hf:<model-type>`` (``hf:gpt2``, ``hf:t5``)   ``transformers.AutoConfig.for_model(type)``, built
                                               on the ``meta`` device: counts, no download, no
                                               memory
``hf:path/to/config.json`` or ``hf:dir``       ``AutoConfig.from_pretrained`` on the local file,
                                               ``trust_remote_code=False``, ``local_files_only``
``path.pt`` / ``.pth`` / ``.bin``              ``torch.load(weights_only=True)`` of a state dict
``path.safetensors``                           ``safetensors.torch.load_file``
``package.module:factory``                     ``import package.module``; ``factory()``
=============================================  ==================================================

Hugging Face models get the class with a head, where embeddings are tied:
sequence-to-sequence LM (T5, BART), else masked LM (BERT, ALBERT, RoBERTa),
else causal LM (GPT-2, Llama), else the bare ``AutoModel``.

A state dict (from ``.pt`` or ``.safetensors``) is wrapped in a
:class:`StateDictModule` exposing each tensor under its dotted name. Entries
that share storage in the file share it in the module (one Parameter object
for entries that are the same view), so ``analyze`` finds the ties the file
kept. ``torch.load`` runs with ``weights_only=True`` only: a pickle that would
build arbitrary objects (a whole ``nn.Module``, or a hostile payload) is
refused before anything in it runs.

The ``module:factory`` form imports and runs the user's own code, by their
explicit request; file specs are recognised first.
"""

from __future__ import annotations

import difflib
import importlib
import os
import pickle
import re
import sys
import typing
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import torch
from torch import nn

from paramshare_viz.display import natural_sorted

#: File suffixes read with ``torch.load(weights_only=True)``.
TORCH_SUFFIXES = (".pt", ".pth", ".bin")

#: Buffer (not parameter) names in a bare state dict, besides non-float tensors.
BUFFER_NAMES = frozenset({"running_mean", "running_var", "num_batches_tracked", "position_ids", "inv_freq"})

_HF_COMMON = ("gpt2", "bert", "albert", "t5", "llama", "bart", "roberta", "mistral", "qwen2", "vit")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def load_model(spec: str, *, max_bytes: int | None = None) -> nn.Module:
    """Load or build the model described by ``spec`` (see the module docstring).

    Args:
        spec: ``"zoo:<form>[?k=v&...]"``, ``"hf:<model-type>"``, ``"hf:<config.json or dir>"``,
            a ``.pt``/``.pth``/``.bin``/``.safetensors`` path, or ``"package.module:factory"``.
        max_bytes: refuse a file larger than this before reading it (``None``: no limit),
            e.g. for files that visitors upload to a public dashboard.

    Returns:
        The module (``eval()`` mode for zoo models; Hugging Face models on ``meta``).

    Raises:
        ValueError: a bad spec, a missing, empty or too large (``max_bytes``) file, a file that is not a state dict
            (or would need arbitrary code to unpickle), an unknown model type, or a
            factory that does not return an ``nn.Module``. The message names the spec.

    Example:
        >>> type(load_model("zoo:albert?num_layers=4")).__name__
        'Albert'
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"spec={spec!r} is empty; {_FORMS_HELP}")
    spec = spec.strip()
    if spec.startswith("zoo:"):
        return _load_zoo(spec)
    if spec.startswith("hf:"):
        return _load_hf(spec)
    lower = spec.lower()
    if lower.endswith(TORCH_SUFFIXES):
        return _load_torch_file(spec, max_bytes)
    if lower.endswith(".safetensors"):
        return _load_safetensors(spec, max_bytes)
    if os.path.isdir(spec):
        raise ValueError(f"spec={spec!r} is a directory; point to a .pt/.pth/.bin/.safetensors file")
    if os.path.exists(spec):
        raise ValueError(
            f"spec={spec!r}: unsupported file type; use {', '.join(TORCH_SUFFIXES)} (a torch state dict) or .safetensors"
        )
    if ":" in spec:
        return _load_factory(spec)
    raise ValueError(f"spec={spec!r} is not a model spec; {_FORMS_HELP}")


_FORMS_HELP = (
    "use 'zoo:<form>', 'hf:<model-type or config.json>', a .pt/.pth/.bin/.safetensors file, "
    "or 'package.module:factory'"
)


# --------------------------------------------------------------------------- zoo


def parse_zoo_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"zoo:albert?num_layers=4&tie=true"`` -> ``("albert", {"num_layers": 4, "tie": True})``.

    Values are read as int, then float, then ``true``/``false``/``none``
    (any case), else kept as strings. ``dtype=float64`` becomes ``torch.float64``.
    """
    body = spec[len("zoo:") :]
    form, _, query = body.partition("?")
    form = form.strip()
    if not form:
        raise ValueError(f"spec={spec!r} names no form; use e.g. 'zoo:conv' or 'zoo:albert?num_layers=4'")
    overrides: dict[str, Any] = {}
    if query:
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise ValueError(
                f"spec={spec!r}: cannot parse the query {query!r}; use 'key=value&key=value'"
            ) from None
        for key, raw in pairs:
            if key in overrides:
                raise ValueError(f"spec={spec!r}: {key!r} is given twice")
            overrides[key] = _parse_value(key, raw, spec)
    return form, overrides


def _parse_value(key: str, raw: str, spec: str) -> Any:
    if key == "dtype":
        dtype = getattr(torch, raw, None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(
                f"spec={spec!r}: dtype={raw!r} is not a torch dtype (e.g. float32, float64, bfloat16)"
            )
        return dtype
    return parse_value(raw)


def parse_value(raw: str) -> Any:
    """A config value typed by hand: ``"16" -> 16``, ``"0.5" -> 0.5``, ``"True" -> True``,
    ``"none" -> None``; anything else (``"lstm"``) stays a string."""
    for number in (int, float):
        try:
            return number(raw)
        except ValueError:
            pass
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    return raw


def _load_zoo(spec: str) -> nn.Module:
    from paramshare_viz import zoo

    form, overrides = parse_zoo_spec(spec)
    if form not in zoo.forms():
        close = difflib.get_close_matches(form, zoo.forms(), n=3)
        hint = f"did you mean {close}? " if close else ""
        raise ValueError(f"spec={spec!r}: {form!r} is not a sharing form; {hint}choose one of {zoo.forms()}")
    try:
        return zoo.build(form, **overrides)
    except (TypeError, ValueError) as err:  # the zoo's message names the field and the value
        raise ValueError(f"spec={spec!r}: {err}") from err


# --------------------------------------------------------------------------- Hugging Face


def _load_hf(spec: str) -> nn.Module:
    try:
        import transformers
    except ImportError:
        raise ValueError(
            f"spec={spec!r} needs the transformers package: pip install 'paramshare-viz[hf]'"
        ) from None
    target = spec[len("hf:") :].strip()
    if not target:
        raise ValueError(f"spec={spec!r} names no model type; use e.g. 'hf:gpt2' or 'hf:path/to/config.json'")
    from transformers import AutoConfig
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    looks_like_path = target.endswith(".json") or os.sep in target or "/" in target
    looks_like_path = looks_like_path or (target not in CONFIG_MAPPING_NAMES and os.path.exists(target))
    if looks_like_path:
        if not os.path.exists(target):
            raise ValueError(_missing_hf_target(spec, target, list(CONFIG_MAPPING_NAMES)))
        try:
            config = AutoConfig.from_pretrained(target, trust_remote_code=False, local_files_only=True)
        except Exception as err:  # malformed json, unknown model_type, remote code requested...
            raise ValueError(
                f"spec={spec!r}: cannot read a Hugging Face config from {target!r}: {_first_line(err)}"
            ) from None
    else:
        if target not in CONFIG_MAPPING_NAMES:
            close = close_model_types(target, list(CONFIG_MAPPING_NAMES))
            raise ValueError(
                f"spec={spec!r}: {target!r} is not a Hugging Face model type; "
                + (f"close by name: {', '.join('hf:' + t for t in close)}; " if close else "")
                + f"common types: {', '.join('hf:' + t for t in _HF_COMMON)}"
            )
        config = AutoConfig.for_model(target)
    auto_cls = _hf_auto_class(transformers, config.model_type)
    try:
        with torch.device("meta"):
            model = auto_cls.from_config(config, trust_remote_code=False)
    except Exception as err:
        raise ValueError(
            f"spec={spec!r}: cannot build {auto_cls.__name__} for {config.model_type!r}: {_first_line(err)}"
        ) from None
    _ensure_hf_ties(model, config)
    return model.eval()


def _hf_auto_class(transformers: Any, model_type: str) -> Any:
    """The Auto class with a head whose weights are tied, by mapping membership."""
    from transformers.models.auto import modeling_auto as ma

    for names, auto in (
        (ma.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES, transformers.AutoModelForSeq2SeqLM),
        (ma.MODEL_FOR_MASKED_LM_MAPPING_NAMES, transformers.AutoModelForMaskedLM),
        (ma.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, transformers.AutoModelForCausalLM),
    ):
        if model_type in names:
            return auto
    return transformers.AutoModel


def _ensure_hf_ties(model: nn.Module, config: Any) -> None:
    """Make sure the output head is tied to an embedding when the config says so.

    Reads the flag transformers 5 reads: the model's own top-level
    ``config.tie_word_embeddings`` (``PreTrainedModel.get_expanded_tied_weights_keys``:
    ``getattr(self.config, "tie_word_embeddings", False)``), not the text config's.
    transformers ties in ``post_init``; if a model class did not, call its
    ``tie_weights()`` and check again. A head tied to another embedding than
    ``get_input_embeddings()`` (T5Gemma's decoder embedding) counts as tied.
    """
    if not getattr(config, "tie_word_embeddings", False):
        return
    get_in = getattr(model, "get_input_embeddings", None)
    get_out = getattr(model, "get_output_embeddings", None)
    if get_in is None or get_out is None:
        return

    def tied() -> bool:
        try:
            emb_in, emb_out = get_in(), get_out()
            if emb_out is None or emb_in is None:
                return True
            embeddings = [emb_in, *(m for m in model.modules() if isinstance(m, nn.Embedding))]
            return any(m.weight is emb_out.weight for m in embeddings)
        except (AttributeError, NotImplementedError):  # no embedding pair to compare
            return True

    tie_weights = getattr(model, "tie_weights", None)
    if not tied() and tie_weights is not None:
        tie_weights()
    if not tied():
        warnings.warn(
            f"{type(model).__name__}: config.tie_word_embeddings is set but the output head is not the "
            "input embedding, even after tie_weights(); the report shows the model as built",
            stacklevel=3,
        )


# --------------------------------------------------------------------------- files


class StateDictModule(nn.Module):
    """A module holding a bare state dict, each tensor under its dotted name.

    Floating-point tensors become Parameters, other dtypes and the usual statistics names
    (:data:`BUFFER_NAMES`) become buffers. Entries that are the same view of
    one storage become one Parameter object; other entries keep the storage
    they had, so views stay views.

    It has no ``forward``: it holds weights, not a computation.

    Attributes:
        _source: where the tensors came from (the file path).

    Raises:
        ValueError: a key that cannot be a dotted module path (``"a..b"``, a key
            that is both a tensor and a prefix of another key, ``"training"``).
    """

    def __init__(self, tensors: Mapping[str, torch.Tensor], source: str = "") -> None:
        super().__init__()
        self._source = source
        same_view: dict[tuple, torch.Tensor] = {}
        for name, t in tensors.items():
            owner, leaf = self._owner(name)
            key = (
                t.untyped_storage()._cdata,
                t.device,
                t.dtype,
                t.storage_offset(),
                tuple(t.shape),
                tuple(t.stride()),
            )
            as_buffer = not (t.is_floating_point() or t.is_complex()) or leaf in BUFFER_NAMES
            if key in same_view and (as_buffer == (not isinstance(same_view[key], nn.Parameter))):
                obj = same_view[key]
            else:
                obj = t if as_buffer else nn.Parameter(t)
                same_view.setdefault(key, obj)
            try:
                if as_buffer:
                    owner.register_buffer(leaf, obj)
                else:
                    # not as_buffer, so obj is a Parameter (same_view's or the new one)
                    owner.register_parameter(leaf, typing.cast(nn.Parameter, obj))
            except KeyError as err:  # e.g. a key named "training" or "forward"
                raise ValueError(f"state dict key {name!r} cannot be registered on a module: {err}") from None

    def _owner(self, name: str) -> tuple[nn.Module, str]:
        *path, leaf = name.split(".")
        if not leaf or any(not part for part in path):
            raise ValueError(f"state dict key {name!r} is not a dotted name")
        module: nn.Module = self
        for part in path:
            child = module._modules.get(part)
            if child is None:
                if hasattr(module, part):
                    raise ValueError(f"state dict key {name!r} clashes with another key at {part!r}")
                child = nn.Module()
                module.add_module(part, child)
            module = child
        if leaf in module._modules or leaf in module._parameters or leaf in module._buffers:
            raise ValueError(f"state dict key {name!r} clashes with another key")
        return module, leaf

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(
            f"{self._source or 'this model'} is a bare state dict: it has weights but no forward to run"
        )


def module_from_state_dict(tensors: Mapping[str, Any], source: str = "") -> StateDictModule:
    """Wrap a (possibly nested) mapping of tensors in a :class:`StateDictModule`.

    Nested mappings (``{"model": {...}, "optimizer": {...}}``) are flattened
    with dotted names; non-tensor leaves (epoch counters, config dicts) are skipped.

    Raises:
        ValueError: no tensor found.
    """
    flat: dict[str, torch.Tensor] = {}

    def walk(prefix: str, obj: Mapping[str, Any]) -> None:
        for key, value in obj.items():
            name = f"{prefix}{key}"
            if isinstance(value, torch.Tensor):
                flat[name] = value
            elif isinstance(value, Mapping):
                walk(name + ".", value)

    walk("", tensors)
    if not flat:
        raise ValueError(f"{source or 'the mapping'} holds no tensors")
    return StateDictModule(flat, source=source)


def _existing_file(spec: str, max_bytes: int | None = None) -> Path:
    path = Path(spec).expanduser()
    if not path.exists():
        raise ValueError(f"spec={spec!r}: no such file")
    if not path.is_file():
        raise ValueError(f"spec={spec!r}: not a file")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"spec={spec!r}: the file is empty (0 bytes)")
    if max_bytes is not None and size > max_bytes:  # checked before a byte is read into memory
        raise ValueError(
            f"spec={spec!r}: the file is {size / 2**20:,.1f} MiB, over the limit of "
            f"{max_bytes / 2**20:,.1f} MiB (max_bytes={max_bytes})"
        )
    return path


def _wrap(spec: str, tensors: Mapping[str, Any], path: Path) -> StateDictModule:
    try:
        return module_from_state_dict(tensors, source=str(path))
    except ValueError as err:
        raise ValueError(f"spec={spec!r}: {err}") from None


def _load_torch_file(spec: str, max_bytes: int | None = None) -> nn.Module:
    path = _existing_file(spec, max_bytes)
    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as err:  # the weights-only unpickler refused: nothing in it ran
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        detail = re.search(r"WeightsUnpickler error: \s*(.+)", str(err))
        if found:
            what = f" (it needs {found.group(1)}"
            what += ": a whole pickled module)" if found.group(1).startswith("torch.nn.") else ")"
        else:
            what = f" ({detail.group(1).strip()})" if detail else ""
        raise ValueError(
            f"spec={spec!r}: cannot be loaded with torch.load(weights_only=True){what}. Only tensors and "
            "plain containers are loaded; full-module pickles and other objects are not loaded for safety, "
            "since unpickling them can run arbitrary code. Save model.state_dict() with torch.save instead."
        ) from None
    except Exception as err:  # not a torch file, truncated zip, ...
        raise ValueError(f"spec={spec!r}: not a readable torch checkpoint: {_first_line(err)}") from None
    if isinstance(obj, nn.Module):  # cannot happen with weights_only, kept for clarity
        raise ValueError(f"spec={spec!r}: holds a whole module; save model.state_dict() instead")
    if not isinstance(obj, Mapping):
        raise ValueError(
            f"spec={spec!r}: holds a {type(obj).__name__}, not a state dict (a mapping of names to tensors)"
        )
    return _wrap(spec, obj, path)


def _load_safetensors(spec: str, max_bytes: int | None = None) -> nn.Module:
    path = _existing_file(spec, max_bytes)
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise ValueError(
            f"spec={spec!r} needs the safetensors package: pip install 'paramshare-viz[hf]'"
        ) from None
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as err:
        raise ValueError(f"spec={spec!r}: not a readable safetensors file: {_first_line(err)}") from None
    # safetensors stores names sorted as text (layers.10 before layers.2): build the modules in natural order
    return _wrap(spec, {name: tensors[name] for name in natural_sorted(tensors)}, path)


# --------------------------------------------------------------------------- factory


#: ``org/name`` (optionally ``@revision``): the shape of a Hugging Face Hub id, not a local path.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w.-]+)?$")


def is_hub_id(target: str) -> bool:
    """Whether ``target`` has the shape of a Hugging Face Hub id (``org/name``), not of a file."""
    return bool(_HUB_ID.match(target)) and not target.lower().endswith((".json", *TORCH_SUFFIXES, ".safetensors"))


def type_in_name(name: str, model_types: Sequence[str]) -> str:
    """The model type that is a word (or two joined words) of ``name``, the longest, else ``""``.

    The model type is usually a word of a repo name: ``openai-community/gpt2`` -> ``gpt2``,
    ``flan-t5-small`` -> ``t5``, ``gpt-neo-125M`` -> ``gpt_neo``.
    """
    words = re.split(r"[-_.]", name.split("/")[-1].split("@")[0].lower())
    pairs = [sep.join(words[i : i + 2]) for i in range(len(words) - 1) for sep in ("_", "-")]
    return max((w for w in [*words, *pairs] if w in model_types), key=len, default="")


#: Words that end many model type names (``xclip_text_model``): close matches ignore them, or
#: ``nonexistent_model`` would be "close" to every ``*_text_model``.
_GENERIC_WORDS = frozenset({"model", "text", "vision", "audio", "encoder", "decoder"})


def close_model_types(target: str, model_types: Sequence[str], n: int = 4) -> list[str]:
    """Model types whose names are close to ``target``'s, by name only (nothing is downloaded).

    First a type that is a word of ``target`` (``t5-small`` -> ``t5``), then ``difflib`` close
    matches (ratio >= 0.75) between the names with their generic words (``model``, ``text``...)
    left out, one type per such name (``mllama``, not also ``mllama_text_model``). Empty when
    nothing is close: no suggestion beats an unrelated one.
    """
    def core(name: str) -> str:
        return "_".join(w for w in re.split(r"[-_.]", name.lower()) if w and w not in _GENERIC_WORDS)

    found = [t] if (t := type_in_name(target, model_types)) else []
    by_core: dict[str, list[str]] = {}
    for name in model_types:
        by_core.setdefault(core(name) or name, []).append(name)
    want = core(target)
    close = difflib.get_close_matches(want, list(by_core), n=n, cutoff=0.75) if want else []
    found += [name for c in close for name in [min(by_core[c], key=len)] if name not in found]  # one per core
    return found[:n]


def _missing_hf_target(spec: str, target: str, model_types: Sequence[str]) -> str:
    """The message for an ``hf:`` target that is no local file: a hub id gets what to pass instead."""
    if not is_hub_id(target):
        return f"spec={spec!r}: no such file or directory {target!r}"
    guess = type_in_name(target, model_types)
    instead = f"'hf:{guess}' (likely its model type)" if guess else "'hf:<model type>' (e.g. 'hf:gpt2')"
    return (
        f"spec={spec!r}: {target!r} looks like a Hugging Face Hub id, and paramshare-viz never downloads; "
        f"pass {instead}, built from that type's default config on the meta device, or the model's "
        f"config.json saved locally ('hf:path/to/config.json')"
    )


def _import_like_python_m(module_name: str) -> Any:
    """``importlib.import_module``, also finding modules in the current directory as ``python -m``
    does (a console script's ``sys.path`` starts at its own folder instead)."""
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_name)
    finally:
        if added:
            sys.path.remove(cwd)


def _load_factory(spec: str) -> nn.Module:
    module_name, _, attr = spec.partition(":")
    if not _DOTTED.match(module_name) or not _DOTTED.match(attr):
        raise ValueError(
            f"spec={spec!r}: expected 'package.module:factory' (dotted Python names), "
            "or a file path ending in .pt/.pth/.bin/.safetensors"
        )
    try:
        module = _import_like_python_m(module_name)
    except ImportError as err:
        raise ValueError(f"spec={spec!r}: cannot import {module_name!r}: {err}") from None
    factory: Any = module
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise ValueError(f"spec={spec!r}: {module_name!r} has no attribute {attr!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise ValueError(f"spec={spec!r}: {attr!r} is not callable")
    if isinstance(factory, nn.Module):
        raise ValueError(
            f"spec={spec!r}: {attr!r} is a module instance; point to a function or class that builds one"
        )
    try:
        model = factory()
    except Exception as err:
        raise ValueError(f"spec={spec!r}: {attr}() raised {type(err).__name__}: {_first_line(err)}") from err
    if not isinstance(model, nn.Module):
        raise ValueError(f"spec={spec!r}: {attr}() returned {type(model).__name__}, not an nn.Module")
    return model


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


# --------------------------------------------------------------------------- inputs


def example_input_for(spec: str, model: nn.Module, input_shape: Sequence[int] | None = None) -> Any:
    """An input to run ``model`` (loaded from ``spec``) once, for calls and FLOPs.

    * ``zoo:`` specs without ``input_shape``: ``psv.zoo.example_input`` with the
      spec's config overrides (so every zoo model is run automatically).
    * ``hf:`` specs with ``input_shape``: random token ids ``(N, L)`` below the
      vocabulary size, as ``{"input_ids": ...}`` (plus ``decoder_input_ids`` for
      encoder-decoder models), on the model's device.
    * anything else with ``input_shape``: ``torch.randn(input_shape)`` in the
      model's floating dtype, on the model's device.
    * otherwise ``None`` (static analysis only).

    Raises:
        ValueError: a non-positive dimension, or a bare state dict (no forward).
    """
    if input_shape is not None:
        shape = tuple(int(d) for d in input_shape)
        if not shape or any(d < 1 for d in shape):
            raise ValueError(f"input shape {shape} must be one or more positive sizes, e.g. 2,3,32,32")
        if isinstance(model, StateDictModule):
            raise ValueError(f"spec={spec!r} is a bare state dict: it has weights but no forward to run")
    first: torch.Tensor | None = next(iter(model.parameters()), None)
    if first is None:
        first = next(iter(model.buffers()), None)
    device = first.device if first is not None else torch.device("cpu")
    if spec.startswith("zoo:") and input_shape is None:
        from paramshare_viz import zoo

        form, overrides = parse_zoo_spec(spec)
        dtype = overrides.pop("dtype", None)
        config = {k: v for k, v in overrides.items() if k not in ("shared", "device", "memory_budget")}
        x = zoo.example_input(form, device=device, **config)
        if dtype is not None:
            x = tuple(_cast(t, dtype) for t in x) if isinstance(x, tuple) else _cast(x, dtype)
        return x
    if input_shape is None:
        return None
    if spec.startswith("hf:"):
        hf_config = getattr(model, "config", None)
        vocab = getattr(hf_config, "vocab_size", None) if hf_config is not None else None
        if vocab:
            ids = torch.randint(0, int(vocab), shape, device=device)
            if getattr(hf_config, "is_encoder_decoder", False):
                return {"input_ids": ids, "decoder_input_ids": ids}
            return {"input_ids": ids}
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.get_default_dtype()
    return torch.randn(shape, dtype=dtype, device=device)


def _cast(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return t.to(dtype) if t.is_floating_point() else t
