"""The tie atlas: every model type the installed transformers knows, with its ties.

Each model type in transformers' auto config mapping is built from its default
config on the ``meta`` device (``load_model("hf:<type>")``: no download, no
memory), then counted with :func:`~paramshare_viz.analysis.report.analyze`
and dry-run through safetensors' ``save_model`` with
:func:`~paramshare_viz.analysis.ties.safetensors_dry_run`. One
:class:`AtlasRow` per type; a type that cannot be built from its default
config gets a row that says why, in plain words.

Building hundreds of models takes minutes, so :func:`iter_atlas` yields one
row at a time, checks a stop flag between rows, and appends each row to a
JSON-lines cache keyed by the transformers version (a second run reads it
back at once). :func:`select_rows` searches and sorts rows.

Each built row also carries the tie audit of
:mod:`~paramshare_viz.analysis.tie_audit`: what the config declares
(``tie_word_embeddings``, top level and text config), what the class declares
(``_tied_weights_keys``), and a verdict on whether they and the built ties
agree; ``select_rows(..., disagreements=True)`` keeps only the rows that do not.

>>> row = atlas_row("gpt2")
>>> row.tied, row.dropped
([['lm_head.weight', 'transformer.wte.weight']], {'transformer.wte.weight': 'lm_head.weight'})
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from paramshare_viz.analysis.tie_audit import Verdict, audit_model

#: Bump when :class:`AtlasRow` or the way rows are computed changes (old caches are then ignored).
SCHEMA = 2

#: Sort keys offered by :func:`select_rows` (and the dashboard's sort choice).
SORT_KEYS: dict[str, str] = {
    "type": "model type (A-Z)",
    "naive": "parameters, naive (most first)",
    "unique": "parameters, unique (most first)",
    "saving": "saved by sharing (most first)",
    "tied": "tied groups (most first)",
    "dropped": "dropped by save_model (most first)",
}


@dataclass(frozen=True)
class AtlasRow:
    """One model type, built from its default config on ``meta``.

    Attributes:
        model_type: the transformers model type, e.g. ``"gpt2"``.
        model_class: the class built (``"GPT2LMHeadModel"``); ``""`` when it failed.
        naive_params: sum of ``numel`` over every parameter name, ties counted per name.
        unique_params: distinct parameter elements held (``analyze``'s ``unique_params``).
        tied: the sharing groups of ``analyze``: each a sorted list of names
            (parameters and buffers) that reach one storage.
        dropped: state-dict name safetensors ``save_model`` would drop -> the name it keeps.
        error: why the type could not be built, in plain words; ``""`` when it was.
        seconds: time to build and count it.
        config_tie, text_config_tie, class_ties, head, embedding, head_model, head_model_tie,
        head_params, verdict, detail:
            the tie audit (:class:`~paramshare_viz.analysis.tie_audit.TieAudit`'s fields);
            ``verdict`` is ``""`` for a type that did not build.
    """

    model_type: str
    model_class: str = ""
    naive_params: int = 0
    unique_params: int = 0
    tied: list[list[str]] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    config_tie: bool | None = None
    text_config_tie: bool | None = None
    class_ties: dict[str, str] = field(default_factory=dict)
    head: str = ""
    embedding: str = ""
    head_model: str = ""
    head_model_tie: bool | None = None
    head_params: int = 0
    verdict: str = ""
    detail: str = ""

    @property
    def saving(self) -> int:
        """Parameters a naive count adds on top of what is held."""
        return self.naive_params - self.unique_params

    @property
    def disagrees(self) -> bool:
        """The audit found the config, the class or the built model saying different things."""
        return bool(self.verdict) and self.verdict != Verdict.AGREES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AtlasRow:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def transformers_version() -> str:
    """The installed transformers version, or ``""`` when it is not installed."""
    try:
        import transformers
    except ImportError:
        return ""
    return str(transformers.__version__)


def model_types() -> list[str]:
    """Every model type of the installed transformers (its auto config mapping), sorted A-Z in any case."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return sorted(CONFIG_MAPPING_NAMES, key=str.lower)


def build_default(model_type: str) -> nn.Module:
    """``model_type`` built from its default config on ``meta`` (nothing downloaded or allocated).

    ``load_model("hf:<type>")`` first (the Auto class with a head). Many types are
    parts of larger models (``clip_text_model``, ``sam_mask_decoder``) that no Auto
    class maps; for those, the one model class of transformers whose
    ``config_class`` is that config's class is built instead.

    Raises:
        ValueError: neither works; the message is :func:`plain_reason`'s.
    """
    from paramshare_viz.analysis.loading import load_model

    with _quiet():
        try:
            return load_model(f"hf:{model_type}")
        except ValueError as err:
            if "Unrecognized configuration class" not in str(err):
                raise ValueError(plain_reason(err)) from None
            first = err
        try:
            model = _build_by_config_class(model_type)
        except Exception as err:  # whatever the model's own __init__ raises
            raise ValueError(plain_reason(err)) from None
        if model is None:
            raise ValueError(plain_reason(first))
        return model.eval()


def _build_by_config_class(model_type: str) -> nn.Module | None:
    """The model class whose ``config_class`` is exactly ``model_type``'s config class, built on meta."""
    import importlib
    import inspect

    import torch
    from transformers import AutoConfig, PreTrainedModel

    config = AutoConfig.for_model(model_type)
    try:
        module = importlib.import_module(type(config).__module__.replace(".configuration_", ".modeling_"))
    except ImportError:
        return None
    found = [
        cls
        for name, cls in vars(module).items()
        if inspect.isclass(cls)
        and issubclass(cls, PreTrainedModel)
        and cls.__module__ == module.__name__
        and getattr(cls, "config_class", None) is type(config)
        and "PreTrainedModel" not in name
    ]
    if not found:
        return None
    found.sort(key=lambda c: (not c.__name__.endswith("Model"), len(c.__name__), c.__name__))
    with torch.device("meta"):
        return found[0](config)


def atlas_row(model_type: str) -> AtlasRow:
    """Build ``model_type`` from its default config on ``meta`` and describe its ties.

    Never raises for a model that fails to build: the row's ``error`` says why.
    """
    from paramshare_viz.analysis.report import analyze
    from paramshare_viz.analysis.ties import safetensors_dry_run

    start = time.perf_counter()
    try:
        model = build_default(model_type)
        with _quiet():
            report = analyze(model)
            state = {k: v for k, v in model.state_dict().items() if hasattr(v, "untyped_storage")}
            dry = safetensors_dry_run(state)
            tied = [list(g.names) for g in report.groups]
            audit = audit_model(model, tied, model_type)
    except ValueError as err:  # build_default's reason, already in plain words
        return AtlasRow(model_type, error=str(err), seconds=time.perf_counter() - start)
    except Exception as err:  # one row per type, whatever transformers raises
        return AtlasRow(model_type, error=plain_reason(err), seconds=time.perf_counter() - start)
    return AtlasRow(
        model_type,
        model_class=type(model).__name__,
        naive_params=int(report.naive_params),
        unique_params=int(report.unique_params),
        tied=tied,
        dropped=dict(sorted(dry.dropped.items())),
        seconds=time.perf_counter() - start,
        config_tie=audit.config_tie,
        text_config_tie=audit.text_config_tie,
        class_ties=audit.class_ties,
        head=audit.head,
        embedding=audit.embedding,
        head_model=audit.head_model,
        head_model_tie=audit.head_model_tie,
        head_params=audit.head_params,
        verdict=str(audit.verdict),
        detail=audit.detail,
    )


# Patterns in transformers' messages -> what they mean for a visitor; first match wins.
# The last field says whether the original line adds anything to the meaning.
_REASONS: list[tuple[str, str, bool]] = [
    (r"requires the (\S+) librar|(\S+) is not installed|No module named '([\w.]+)'",
     "needs the {0} package, which is not installed here", False),
    (r"(encoder and decoder|text_config and vision_config|sub-?configs?|has to be (?:initialized|"
     r"instantiated) with|must be (?:initialized|instantiated) with|requires? (?:a|an|the) \w+_config)",
     "a composite model: its default config names no sub-models to build (use a real config.json)", True),
    (r"Unrecognized configuration class|does not appear to have",
     "transformers maps no model class to this config type (often a part of a larger model)", False),
    (r"out of memory|Cannot allocate memory", "too large to build here", True),
]


def plain_reason(err: BaseException) -> str:
    """Why a default config did not build, in plain words (with transformers' own line where it helps)."""
    text = str(err).strip()
    line = text.splitlines()[0] if text else type(err).__name__
    # load_model names the spec and the Auto class; the row says which type already
    line = re.sub(r"^spec='hf:[^']*':\s*(cannot build \w+ for '[^']*':\s*)?", "", line)
    for pattern, meaning, with_line in _REASONS:
        found = re.search(pattern, text)
        if found:
            what = meaning.format(next((g for g in found.groups() if g), "").strip(".,`'"))
            return f"{what}: {line}" if with_line else what
    return f"its default config does not build: {line}"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence transformers' warnings and log lines while one model builds."""
    logger = logging.getLogger("transformers")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


# --------------------------------------------------------------------------- cache


def cache_dir() -> Path:
    """``$PSV_CACHE_DIR``, else ``$XDG_CACHE_HOME/paramshare_viz``, else ``~/.cache/paramshare_viz``."""
    if os.environ.get("PSV_CACHE_DIR"):
        return Path(os.environ["PSV_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "paramshare_viz"


def cache_path(directory: Path | None = None) -> Path:
    """The atlas cache for the installed transformers version (one JSON object per line)."""
    version = re.sub(r"[^\w.+-]", "_", transformers_version() or "none")
    return (directory or cache_dir()) / f"tie-atlas-v{SCHEMA}-transformers-{version}.jsonl"


def read_cache(path: Path) -> dict[str, AtlasRow]:
    """Rows cached at ``path`` by model type (a later line wins; unreadable lines are skipped)."""
    rows: dict[str, AtlasRow] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return rows
    for line in lines:
        try:
            row = AtlasRow.from_dict(json.loads(line))
        except (ValueError, TypeError):  # a line cut short by a stopped kernel
            continue
        rows[row.model_type] = row
    return rows


def _append(path: Path, row: AtlasRow) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:  # one short write per line: appends do not interleave
            out.write(json.dumps(row.to_dict()) + "\n")
    except OSError:  # a read-only home: the atlas still works, only uncached
        pass


# --------------------------------------------------------------------------- the atlas


@dataclass(frozen=True)
class AtlasProgress:
    """Where a run of :func:`iter_atlas` stands, after ``row``."""

    row: AtlasRow
    done: int  # rows so far, cached ones included
    total: int
    from_cache: bool


def iter_atlas(
    types: Iterable[str] | None = None,
    *,
    stop: threading.Event | None = None,
    cache: Path | None | bool = True,
) -> Iterator[AtlasProgress]:
    """Yield one :class:`AtlasProgress` per model type, cached rows first.

    Args:
        types: model types to describe (default: :func:`model_types`).
        stop: checked before each build; once set, no new model is built
            (rows already cached are still yielded: they cost nothing).
        cache: ``True`` for :func:`cache_path`, a path, or ``False``/``None`` for none.
            Each newly built row is appended to it at once, so a stopped run resumes.
    """
    names = list(model_types() if types is None else types)
    path = cache_path() if cache is True else (cache or None)
    cached = read_cache(path) if path else {}
    todo = [t for t in names if t not in cached]
    done = 0
    for name in names:
        if name in cached:
            done += 1
            yield AtlasProgress(cached[name], done, len(names), True)
    for name in todo:
        if stop is not None and stop.is_set():
            return
        row = atlas_row(name)
        if path:
            _append(path, row)
        done += 1
        yield AtlasProgress(row, done, len(names), False)


def select_rows(
    rows: Iterable[AtlasRow],
    query: str = "",
    sort: str = "type",
    *,
    errors: bool = True,
    disagreements: bool = False,
) -> list[AtlasRow]:
    """Rows matching every word of ``query``, sorted by ``sort`` (a :data:`SORT_KEYS` key).

    A word matches a row when it is in its type, class, tied or dropped names,
    error or audit verdict (case-insensitive). Numbers sort most first; ties in the sort key
    and rows that failed to build fall back to model-type order (failures last
    for numeric keys). ``errors=False`` leaves out rows that failed to build;
    ``disagreements=True`` keeps only rows whose tie audit is not "agrees".

    Raises:
        ValueError: an unknown ``sort``.
    """
    if sort not in SORT_KEYS:
        raise ValueError(f"sort={sort!r} is not one of {list(SORT_KEYS)}")
    words = query.lower().split()
    picked = [
        r for r in rows
        if (errors or not r.error) and (r.disagrees or not disagreements) and all(w in _haystack(r) for w in words)
    ]
    picked.sort(key=lambda r: r.model_type.lower())
    if sort != "type":
        value = {
            "naive": lambda r: r.naive_params,
            "unique": lambda r: r.unique_params,
            "saving": lambda r: r.saving,
            "tied": lambda r: len(r.tied),
            "dropped": lambda r: len(r.dropped),
        }[sort]
        picked.sort(key=lambda r: (bool(r.error), -value(r)))
    return picked


def _haystack(row: AtlasRow) -> str:
    names = " ".join(n for g in row.tied for n in g) + " " + " ".join(row.dropped)
    return f"{row.model_type} {row.model_class} {names} {row.error} {row.verdict}".lower()
