"""What a dashboard visitor may load: model types, zoo forms and uploaded files, never code.

``load_model`` serves the CLI and notebooks, where the user runs their own
code on their own files. A dashboard visitor is someone else: they must not
import modules on the server (``package.module:factory``), read its files
(``hf:/etc/...``, ``weights.pt``), or make it run code hidden in a file.
So the dashboard goes through this module:

* :func:`load_visitor_spec`: ``hf:<model type>`` (or a bare model type) and
  ``zoo:<form>[?k=v]`` only;
* :func:`load_upload`: the bytes of an uploaded ``config.json``, ``.pt`` /
  ``.pth`` / ``.bin`` state dict (``torch.load(weights_only=True)``: a pickle
  that would build arbitrary objects is refused before anything in it runs)
  or ``.safetensors`` file, at most :data:`MAX_UPLOAD_BYTES`. A config must
  name a known ``model_type``, ask for no custom code (``auto_map``) and stay
  under :data:`MAX_LAYERS` layers / experts, so building it cannot take the
  kernel hostage.

Every refusal is a ``ValueError`` whose message names the field and the value.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from torch import nn

#: The largest upload accepted; larger files belong to the CLI (``paramshare-viz inspect FILE``).
#: The dashboard's servers accept websocket messages up to 64 MiB (``voila.json``), so a
#: larger upload still reaches the panel and is refused in words instead of vanishing.
MAX_UPLOAD_BYTES = 8 * 1024**2

#: Config fields that multiply modules (layers, experts) above this are refused: too large to build.
MAX_LAYERS = 1024

#: Config fields that size position tables (built eagerly by some models, even on meta) above this.
MAX_POSITIONS = 1 << 20

STATE_DICT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")
UPLOAD_SUFFIXES = (".json", *STATE_DICT_SUFFIXES)

_LAYERS = re.compile(r"(layers?|n_layer|depths?|experts?|blocks?)$")
_POSITIONS = re.compile(r"(positions?|n_ctx|max_len\w*|seq_length|context_length)$")


def visitor_spec(text: str) -> str:
    """The spec a visitor typed, normalised: ``"gpt2"`` -> ``"hf:gpt2"``; others refused.

    Raises:
        ValueError: empty, a ``module:factory`` spec, a path, or an unknown model type.
    """
    spec = (text or "").strip()
    if not spec:
        raise ValueError("spec is empty; type a model type such as hf:gpt2, hf:albert or hf:t5, or zoo:albert")
    if spec.startswith("zoo:"):
        return spec
    target = spec[len("hf:") :].strip() if spec.startswith("hf:") else spec
    from paramshare_viz.analysis.atlas import model_types
    from paramshare_viz.analysis.loading import close_model_types, is_hub_id, type_in_name

    if is_hub_id(target):
        guess = type_in_name(target, model_types())
        instead = f"type hf:{guess} (likely its model type)" if guess else "type its model type, e.g. hf:gpt2"
        raise ValueError(
            f"spec={spec!r} is a Hugging Face Hub id; the dashboard never downloads, it builds a model from "
            f"its type's default config on the meta device: {instead}, or upload the model's config.json"
        )
    if "/" in target or "\\" in target or target.endswith(".json") or target.lower().endswith(UPLOAD_SUFFIXES):
        raise ValueError(
            f"spec={spec!r} is a file path; the dashboard does not read files on the server: "
            "upload the config.json or weights file instead"
        )
    if ":" in spec and not spec.startswith("hf:"):
        raise ValueError(
            f"spec={spec!r} looks like 'module:factory'; the dashboard never imports or runs code "
            "(use the CLI or a notebook for your own factory: paramshare-viz inspect module:factory)"
        )
    known = model_types()
    if target not in known:
        close = close_model_types(target, known)
        hint = f"; close by name: {', '.join('hf:' + c for c in close)}" if close else ""
        raise ValueError(f"spec={spec!r}: {target!r} is not a model type of the installed transformers{hint}")
    return f"hf:{target}"


def load_visitor_spec(text: str) -> tuple[nn.Module, str]:
    """Build the model a visitor's spec names, on ``meta`` for Hugging Face types.

    Returns:
        ``(model, spec)`` with the normalised spec.

    Raises:
        ValueError: see :func:`visitor_spec`, or the model does not build (plain words).
    """
    from paramshare_viz.analysis.atlas import build_default
    from paramshare_viz.analysis.loading import load_model

    spec = visitor_spec(text)
    if spec.startswith("zoo:"):
        return load_model(spec), spec
    try:
        return build_default(spec[len("hf:") :]), spec
    except ValueError as err:
        raise ValueError(f"spec={spec!r}: {err}") from None


def load_upload(name: str, content: bytes) -> nn.Module:
    """The model in an uploaded file: a state dict, or a ``config.json`` built on ``meta``.

    Args:
        name: the file's name as the browser gave it (only its suffix is used).
        content: its bytes.

    Raises:
        ValueError: wrong suffix, empty, too large, not readable, a pickle that
            needs more than tensors and containers, or a config refused by
            :func:`config_problem`.
    """
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ValueError(
            f"file {name!r}: {suffix or 'no suffix'} is not supported; upload a config.json, "
            f"or a state dict ({', '.join(STATE_DICT_SUFFIXES)})"
        )
    if not content:
        raise ValueError(f"file {name!r} is empty (0 bytes)")
    if len(content) > MAX_UPLOAD_BYTES:
        raise ValueError(
            f"file {name!r} is {len(content) / 1024**2:.1f} MiB, over the dashboard's "
            f"{MAX_UPLOAD_BYTES // 1024**2} MiB limit; run 'paramshare-viz inspect FILE' on your machine instead"
        )
    if suffix == ".json":
        return _load_config(name, content)
    if suffix != ".safetensors" and not content.startswith((b"PK\x03\x04", b"\x80")):
        raise ValueError(
            f"file {name!r} is not a torch checkpoint: neither torch.save's zip format nor a pickle"
        )
    from paramshare_viz.analysis.loading import load_model

    with tempfile.TemporaryDirectory(prefix="psv-upload-") as scratch:
        path = Path(scratch) / f"upload{suffix}"  # never the visitor's name: no path tricks
        path.write_bytes(content)
        try:
            return load_model(str(path))
        except ValueError as err:  # the message names the temporary path; name the upload instead
            raise ValueError(str(err).replace(f"spec={str(path)!r}", f"file {name!r}")) from None


def _load_config(name: str, content: bytes) -> nn.Module:
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"file {name!r} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"file {name!r} holds a JSON {type(data).__name__}, not a config object")
    problem = config_problem(data)
    if problem:
        raise ValueError(f"file {name!r}: {problem}")
    from paramshare_viz.analysis.loading import load_model

    with tempfile.TemporaryDirectory(prefix="psv-upload-") as scratch:
        path = Path(scratch) / "config.json"
        path.write_bytes(content)
        try:
            return load_model(f"hf:{path}")
        except ValueError as err:
            raise ValueError(str(err).replace(f"spec='hf:{path}'", f"file {name!r}")) from None


def config_problem(data: dict[str, Any]) -> str:
    """Why a Hugging Face config (parsed ``config.json``) must not be built here; ``""`` if it may.

    Refused: no or unknown ``model_type``, custom code (``auto_map``), and fields
    that would make the build take minutes even on ``meta``: more than
    :data:`MAX_LAYERS` layers or experts, position tables over :data:`MAX_POSITIONS`.
    Nested sub-configs (``text_config``, ``encoder``...) are checked too.
    """
    from paramshare_viz.analysis.atlas import model_types

    kind = data.get("model_type")
    if not isinstance(kind, str) or not kind:
        return "the config has no model_type; add one, e.g. \"model_type\": \"gpt2\""
    if kind not in model_types():
        return f"model_type={kind!r} is not a model type of the installed transformers"
    if "auto_map" in data:
        return "the config asks for custom code (auto_map); the dashboard never runs code from a file"
    return _too_large(data, "")


def _too_large(data: Any, prefix: str) -> str:
    if isinstance(data, dict):
        for key, value in data.items():
            field = f"{prefix}{key}"
            if isinstance(value, bool):
                continue
            if isinstance(value, int):
                if value > 2**40:
                    return f"{field}={value:,} is too large to build"
                if _LAYERS.search(str(key)) and value > MAX_LAYERS:
                    return f"{field}={value:,} is too large to build here (at most {MAX_LAYERS:,} layers or experts)"
                if _POSITIONS.search(str(key)) and value > MAX_POSITIONS:
                    return f"{field}={value:,} is too large to build here (at most {MAX_POSITIONS:,} positions)"
            elif isinstance(value, list) and _LAYERS.search(str(key)) and len(value) > MAX_LAYERS:
                return f"{field} lists {len(value):,} entries, too many to build here (at most {MAX_LAYERS:,})"
            else:
                found = _too_large(value, f"{field}.")
                if found:
                    return found
    return ""
