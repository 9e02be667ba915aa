"""Tie health: which sharing groups survive the operations people run on models.

A tie (two names reaching one tensor, or views of one storage) is easy to make
and easy to lose. :func:`check_ties` takes the sharing groups of
:func:`paramshare_viz.analysis.report.analyze` and replays, on copies, the
operations that commonly break them:

==========================  ====================================================
``to_dtype``                ``model.to(torch.float64).to(<original dtype>)``
``state_dict``              ``target.load_state_dict(model.state_dict())`` into a
                            ``copy.deepcopy`` of the model (or a ``target`` you
                            pass): values are copied in place, so a tie holds only
                            if the target ties the tensors itself
``meta_to_empty``           a copy built on ``meta`` (keeping the model's ties),
                            then ``to_empty(device="cpu")``
``torch_save``              ``torch.save(state_dict)`` + ``torch.load(weights_only=True)``:
                            does aliasing survive in the loaded dict?
``safetensors_save_model``  dry run of ``safetensors.torch.save_model``: which
                            names it keeps and which it drops as duplicates
``safetensors_save_file``   dry run of ``safetensors.torch.save_file(state_dict)``:
                            does it refuse (shared or non-contiguous tensors)?
==========================  ====================================================

Nothing is written to disk and the model passed in is never modified.

Models on the ``meta`` device (and models whose unique bytes exceed
``memory_budget``) are never materialised; ``TieHealth.modes`` says which
operation ran how:

* ``to_dtype`` runs on a ``meta`` copy (``Module._apply`` takes the same branch
  meta -> meta as cpu -> cpu: it only looks at object identity and tensor types);
* ``state_dict`` loads into a ``meta`` copy made with ``copy.deepcopy``'s rules
  (each Parameter gets its own storage, plain tensors keep shared storage);
  deepcopy itself is not used on meta because it clones every meta tensor;
* ``meta_to_empty`` runs ``to_empty(device="meta")`` forced onto the branch
  meta -> cpu takes (see below);
* ``torch_save`` is predicted: ``torch.save`` writes each storage once, so
  aliasing within one save survives (on meta it would not, which is not what
  happens to real weights);
* the safetensors dry run re-implements safetensors' storage grouping from
  storage identity, because its own helper skips meta tensors (``data_ptr()``
  is 0 there). Tests check every simulation against the real run on CPU.

``meta_to_empty`` is where same-object ties most often break: ``Module._apply``
keeps a Parameter object only between tensors of compatible types, and meta ->
cpu are not, so every module gets a *new* Parameter and a weight shared by two
modules comes apart (Hugging Face re-ties with ``tie_weights()`` after loading).
A module shared as a whole (``nn.ModuleList([block] * 4)``) is visited once and
stays shared.
"""

from __future__ import annotations

import copy
import io
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import torch
from torch import nn

from paramshare_viz.display import Table, TableRepr, clip, names_cell
from paramshare_viz.units import plural

#: The operations :func:`check_ties` replays, in report order.
OPERATIONS: tuple[str, ...] = (
    "to_dtype",
    "state_dict",
    "meta_to_empty",
    "torch_save",
    "safetensors_save_model",
    "safetensors_save_file",
)

#: Models whose unique bytes exceed this are checked on meta copies only.
DEFAULT_MEMORY_BUDGET = 256 * 1024**2

_PLAIN = {
    "to_dtype": "breaks under .to(dtype)",
    "state_dict": "not tied after load_state_dict into a fresh copy",
    "meta_to_empty": "breaks when built on meta and materialised with to_empty()",
    "torch_save": "aliasing lost by torch.save/torch.load",
}


@dataclass
class GroupHealth:
    """How one sharing group fares under each operation.

    Attributes:
        names: sorted qualified names of the group (as in ``analyze``).
        numel: distinct elements held by the group.
        kind: ``"same-tensor"`` or ``"aliased-storage"``.
        survives: operation -> ``True`` (still one storage, same views),
            ``False`` (split into separate copies, or names dropped), or ``None``
            (not applicable: fewer than two of the names take part, e.g.
            non-persistent buffers are not in a state dict).
        notes: operation -> plain-words detail, only where there is something to say.
    """

    names: list[str]
    numel: int
    kind: str
    survives: dict[str, bool | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


@dataclass
class SafetensorsDryRun:
    """What safetensors would do with ``model.state_dict()``, without writing a file.

    Attributes:
        exact: True when safetensors' own helpers (``_find_shared_tensors``,
            ``_remove_duplicate_names``) gave the answer; False when it was
            simulated from storage identity (meta tensors, or safetensors missing).
        shared: sets of state-dict names that share memory (each sorted, >= 2 names).
        kept: every state-dict name ``save_model`` would write.
        dropped: name ``save_model`` would drop -> the name it keeps instead.
        save_model_error: why ``save_model`` itself would refuse, else None.
        save_file_refuses: whether ``save_file(model.state_dict())`` would raise.
        save_file_reason: the reason, in plain words ("" when it would not refuse).
    """

    exact: bool
    shared: list[list[str]]
    kept: list[str]
    dropped: dict[str, str]
    save_model_error: str | None
    save_file_refuses: bool
    save_file_reason: str


@dataclass
class TieHealth(TableRepr):
    """Result of :func:`check_ties`.

    Attributes:
        model_class: class name of the checked model.
        device: device of its first tensor (``"meta"`` for counted-only models).
        groups: one :class:`GroupHealth` per sharing group of ``analyze``.
        ties_at_risk: one plain sentence per group that some operation breaks,
            naming the operations and what to do.
        modes: operation -> how it was checked (``"run"``, ``"simulated: ..."``,
            ``"predicted: ..."`` or ``"skipped: ..."``).
        safetensors: the safetensors dry run.
    """

    model_class: str
    device: str
    groups: list[GroupHealth]
    ties_at_risk: list[str]
    modes: dict[str, str]
    safetensors: SafetensorsDryRun

    def _as_table(self) -> Table:
        mark = {True: "kept", False: "BROKEN", None: "-"}
        rows = [
            [names_cell(g.names), f"{g.numel:,}"] + [mark[g.survives.get(op)] for op in OPERATIONS]
            for g in self.groups[:8]
        ]
        survives = "every tie survives every operation checked" if self.groups else "no tensor is held under two names here"
        notes = [clip(t) for t in self.ties_at_risk[:2]] or [survives]
        if len(self.groups) > 8:
            notes.append(f"… and {len(self.groups) - 8} more groups (health.groups)")
        if len(self.ties_at_risk) > 2:
            notes.append(f"… and {len(self.ties_at_risk) - 2} more ties at risk (health.ties_at_risk)")
        s = self.safetensors
        if s.dropped:
            first, kept = next(iter(s.dropped.items()))
            notes.append(f"safetensors save_model drops {plural(len(s.dropped), 'name')}, e.g. {first} (kept as {kept})")
        title = f"TieHealth of {self.model_class} on {self.device}: {plural(len(self.groups), 'group')}"
        return Table(title, ["group", "elements", *OPERATIONS], rows, notes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (plain lists, dicts, str, bool, int, None)."""
        return asdict(self)


def check_ties(
    model: nn.Module,
    *,
    target: nn.Module | Callable[[], nn.Module] | None = None,
    report: Any = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> TieHealth:
    """Check which sharing groups of ``model`` survive common operations.

    Args:
        model: any module, on CPU, CUDA or ``meta``. It is not modified.
        target: the module ``state_dict`` is loaded into (or a zero-argument
            factory making it), e.g. a fresh instance of the class you will load
            into. Default: ``copy.deepcopy(model)``.
        report: a precomputed ``analyze(model)`` result (default: computed here).
        memory_budget: models with more unique bytes than this are only checked
            on ``meta`` copies (default 256 MiB).

    Returns:
        :class:`TieHealth`.

    Example:
        >>> emb = nn.Embedding(10, 4); head = nn.Linear(4, 10, bias=False)
        >>> head.weight = emb.weight  # tied
        >>> health = check_ties(nn.ModuleDict({"emb": emb, "head": head}))
        >>> health.groups[0].survives["safetensors_save_model"]
        False
    """
    if report is None:
        from paramshare_viz.analysis.report import analyze

        report = analyze(model)
    tensors = dict(_named_tensors(model))
    on_meta = any(t.is_meta for t in tensors.values())
    held = int(getattr(report, "unique_bytes", 0)) + int(getattr(report, "unique_buffer_bytes", 0))
    heavy = on_meta or held > memory_budget
    why_heavy = (
        "the model is on meta" if on_meta else f"the model is over memory_budget={memory_budget} bytes"
    )
    state = {k: v for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}
    layout = {name: _layout(t) for name, t in {**tensors, **state}.items()}

    modes: dict[str, str] = {}
    after: dict[str, dict[str, torch.Tensor] | None] = {}
    notes: dict[str, str] = {}
    sim = f"simulated on a meta copy ({why_heavy}; same code path, nothing allocated)"

    # .to(dtype) and back, on a copy that keeps the model's ties.
    try:
        clone = _clone_tied(model, torch.device("meta") if heavy else None)
        other = torch.float32 if _main_dtype(tensors) == torch.float64 else torch.float64
        clone.to(other).to(_main_dtype(tensors))
        after["to_dtype"] = dict(_named_tensors(clone))
        modes["to_dtype"] = sim if heavy else "run"
    except Exception as err:  # a model that cannot be copied: say so, check the rest
        after["to_dtype"], modes["to_dtype"] = None, f"skipped: could not copy the model ({err})"

    # state_dict -> load_state_dict into a fresh copy (or the user's target).
    try:
        after["state_dict"], notes["state_dict"] = _state_dict_roundtrip(model, state, target, heavy)
        modes["state_dict"] = sim if heavy and target is None else "run"
    except Exception as err:
        after["state_dict"], modes["state_dict"] = None, f"skipped: {type(err).__name__}: {err}"

    # Copy on meta, then to_empty.
    try:
        skeleton = _clone_tied(model, torch.device("meta"))
        if heavy:
            _to_empty_meta_as_cpu(skeleton)
        else:
            skeleton.to_empty(device="cpu")
        after["meta_to_empty"] = dict(_named_tensors(skeleton))
        modes["meta_to_empty"] = (
            f"simulated: to_empty(device='meta') taking the meta->cpu branch of Module._apply "
            f"({why_heavy}; nothing allocated)"
            if heavy
            else "run"
        )
    except Exception as err:
        after["meta_to_empty"], modes["meta_to_empty"] = None, f"skipped: could not copy the model ({err})"

    # torch.save / torch.load(weights_only=True) of the state dict.
    if heavy:
        after["torch_save"] = state
        modes["torch_save"] = (
            f"predicted: torch.save writes each storage once, so aliasing within one save survives "
            f"(not run: {why_heavy})"
        )
    else:
        buf = io.BytesIO()
        torch.save(state, buf)
        buf.seek(0)
        after["torch_save"] = torch.load(buf, weights_only=True)
        modes["torch_save"] = "run"

    dry = safetensors_dry_run(state)
    how = "safetensors' own helpers" if dry.exact else "simulated from storage identity"
    modes["safetensors_save_model"] = modes["safetensors_save_file"] = f"dry run ({how}; no file written)"

    groups = []
    for g in report.groups:
        if g.kind == "functional":  # a tie written in code: no name to keep, nothing to survive
            continue
        names = sorted(g.names)
        health = GroupHealth(names=names, numel=int(g.numel), kind=str(g.kind))
        for op in OPERATIONS[:4]:
            result = after[op]
            health.survives[op] = None if result is None else _still_tied(names, layout, result)
            if op == "state_dict" and health.survives[op] is False and target is None:
                health.notes[op] = (
                    "copy.deepcopy gives each Parameter its own copy (Parameter.__deepcopy__ clones), "
                    "so views between Parameters come apart before loading; " + notes[op]
                )
            elif op == "state_dict" and notes.get(op) and health.survives[op] is not True:
                health.notes[op] = notes[op]
        _safetensors_verdict(health, state, dry)
        groups.append(health)

    device = str(next(iter(tensors.values())).device) if tensors else "cpu"
    return TieHealth(
        model_class=type(model).__name__,
        device=device,
        groups=groups,
        ties_at_risk=[
            s for s in (_at_risk(h, callable(getattr(model, "tie_weights", None))) for h in groups) if s
        ],
        modes=modes,
        safetensors=dry,
    )


def safetensors_dry_run(state_dict: Mapping[str, torch.Tensor]) -> SafetensorsDryRun:
    """What ``safetensors.torch.save_model`` / ``save_file`` would do with ``state_dict``.

    Uses safetensors' own ``_find_shared_tensors`` and ``_remove_duplicate_names``
    when no tensor is on ``meta`` (the exact answer); otherwise re-implements
    them from storage identity (``untyped_storage()``, offsets and sizes),
    because safetensors skips meta tensors. Nothing is written.
    """
    sd = {k: v for k, v in state_dict.items() if isinstance(v, torch.Tensor)}
    helpers = _safetensors_helpers()
    exact = helpers is not None and not any(v.is_meta for v in sd.values())
    save_model_error: str | None = None
    if exact:
        assert helpers is not None  # exact implies it
        find_shared, remove_duplicates = helpers
        try:
            shared_sets = [set(s) for s in find_shared(sd)]
        except Exception as err:  # e.g. a non-contiguous view: safetensors itself raises
            msg = f"safetensors raises {type(err).__name__}: {_first_line(err)}"
            return SafetensorsDryRun(True, [], [], {}, msg, True, msg)
        try:
            to_remove = remove_duplicates(sd)
        except Exception as err:
            to_remove, save_model_error = {}, f"{type(err).__name__}: {_first_line(err)}"
    else:
        shared_sets = _simulate_find_shared(sd)
        to_remove, save_model_error = _simulate_remove_duplicates(sd, shared_sets)

    shared = sorted(sorted(s) for s in shared_sets if len(s) > 1)
    dropped = {name: keep for keep, names in to_remove.items() for name in names}
    refuses, reason = False, ""
    if shared:
        refuses = True
        reason = (
            "tensors share memory ("
            + "; ".join(" / ".join(s) for s in shared)
            + "): save_file raises RuntimeError; use save_model, which drops the duplicates"
        )
    else:
        bad = sorted(k for k, v in sd.items() if v.layout == torch.strided and not v.is_contiguous())
        if bad:
            refuses, reason = True, f"non-contiguous tensors {bad}: save_file raises ValueError"
    kept = [] if save_model_error else sorted(k for k in sd if k not in dropped)
    return SafetensorsDryRun(exact, shared, kept, dropped, save_model_error, refuses, reason)


# --------------------------------------------------------------------------- helpers


def _named_tensors(model: nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    """Every parameter and buffer name, aliases included (``remove_duplicate=False``)."""
    yield from model.named_parameters(remove_duplicate=False)
    yield from model.named_buffers(remove_duplicate=False)


def _storage_id(t: torch.Tensor) -> tuple[str, int]:
    # The address of the StorageImpl: equal for views of one storage, also on meta
    # (where data_ptr() is 0 for everything).
    return (str(t.device), t.untyped_storage()._cdata)


def _layout(t: torch.Tensor) -> tuple:
    return (_storage_id(t), t.storage_offset(), tuple(t.shape), tuple(t.stride()))


def _still_tied(names: list[str], before: dict[str, tuple], after: Mapping[str, torch.Tensor]) -> bool | None:
    """True if the names present in ``after`` (>= 2) still share one storage with the same views."""
    present = [n for n in names if n in after and n in before]
    if len(present) < 2:
        return None
    lay = {n: _layout(after[n]) for n in present}
    if len({lay[n][0] for n in present}) != 1:
        return False
    return all(lay[n][1:] == before[n][1:] for n in present)


def _main_dtype(tensors: Mapping[str, torch.Tensor]) -> torch.dtype:
    counts: dict[torch.dtype, int] = defaultdict(int)
    for t in tensors.values():
        if t.is_floating_point():
            counts[t.dtype] += t.numel()
    return max(counts, key=counts.__getitem__) if counts else torch.float32


def _clone_tied(model: nn.Module, device: torch.device | None, *, param_views: bool = True) -> nn.Module:
    """A deep copy of ``model`` that keeps its ties, optionally on another device.

    Every storage is copied once and every tensor is rebuilt as the same view of
    its storage's copy, so same-object ties and views survive (unlike
    ``copy.deepcopy``, where ``Parameter.__deepcopy__`` clones each parameter's
    data). With ``param_views=False`` each Parameter object gets its own storage,
    which is what ``copy.deepcopy`` does on CPU. Data is copied only when the
    device is unchanged and not ``meta``.
    """
    memo: dict[int, Any] = {}
    storages: dict[Any, torch.UntypedStorage] = {}
    for module in model.modules():
        for t in [*module._parameters.values(), *module._buffers.values()]:
            if t is None or id(t) in memo:
                continue
            dev = t.device if device is None else device
            key: Any = _storage_id(t)
            if isinstance(t, nn.Parameter) and not param_views:
                key = ("param", id(t))
            if key not in storages:
                src = t.untyped_storage()
                new = torch.empty(src.nbytes(), dtype=torch.uint8, device=dev).untyped_storage()
                if dev == t.device and dev.type != "meta":
                    new.copy_(src)
                storages[key] = new
            data = torch.empty(0, dtype=t.dtype, device=dev).set_(
                storages[key], t.storage_offset(), t.size(), t.stride()
            )
            if isinstance(t, nn.Parameter):
                data = nn.Parameter(data, requires_grad=t.requires_grad)
            memo[id(t)] = data
    return copy.deepcopy(model, memo)


def _to_empty_meta_as_cpu(module: nn.Module) -> None:
    """``module.to_empty(device="meta")`` taking the branch ``to_empty(device="cpu")`` takes.

    ``Module._apply`` keeps a Parameter object (``param.data = new``) only when
    the old and new tensors have compatible shallow-copy types; meta -> cpu are
    not, so every module gets a *new* Parameter and a parameter shared between
    two modules comes apart. meta -> meta would keep it, so the simulation sets
    ``torch.__future__.set_overwrite_module_params_on_conversion(True)``, which
    forces the same replace-the-Parameter branch, and restores the flag (a
    process-wide setting: do not convert modules in other threads meanwhile).
    """
    previous = torch.__future__.get_overwrite_module_params_on_conversion()
    torch.__future__.set_overwrite_module_params_on_conversion(True)
    try:
        module.to_empty(device="meta")
    finally:
        torch.__future__.set_overwrite_module_params_on_conversion(previous)


def _state_dict_roundtrip(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    target: nn.Module | Callable[[], nn.Module] | None,
    heavy: bool,
) -> tuple[dict[str, torch.Tensor], str]:
    note = ""
    if target is None:
        # copy.deepcopy semantics (Parameters cloned one by one, plain tensors keep
        # shared storage), materialised on meta when the model must not be copied.
        fresh = _clone_tied(model, torch.device("meta"), param_views=False) if heavy else copy.deepcopy(model)
    else:
        fresh = target() if callable(target) and not isinstance(target, nn.Module) else target
        if not isinstance(fresh, nn.Module):
            raise ValueError(
                f"target must be an nn.Module or a factory returning one, got {type(fresh).__name__}"
            )
    fresh_tensors = dict(_named_tensors(fresh))
    target_meta = any(t.is_meta for t in fresh_tensors.values())
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # copying into meta parameters is a no-op and says so
        if any(t.is_meta for t in state.values()) and not target_meta:
            note = "values not copied (the model is on meta); ties checked on the target as constructed"
        else:
            result = fresh.load_state_dict(state, strict=False)
            missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
            if missing or unexpected:
                note = f"target key mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}"
    if not note:
        note = "load_state_dict copies values into the target's own tensors: it is tied only if it ties them itself"
    return dict(_named_tensors(fresh)), note


def _safetensors_helpers() -> tuple[Callable, Callable] | None:
    try:
        from safetensors.torch import _find_shared_tensors, _remove_duplicate_names
    except ImportError:
        return None
    return _find_shared_tensors, _remove_duplicate_names


def _byte_span(t: torch.Tensor) -> tuple[int, int]:
    start = cast(int, t.storage_offset()) * t.element_size()  # SymInt only under tracing
    if t.numel() == 0:
        return start, start
    last = sum((size - 1) * stride for size, stride in zip(t.shape, t.stride(), strict=True))
    return start, start + (last + 1) * t.element_size()


def _simulate_find_shared(sd: Mapping[str, torch.Tensor]) -> list[set[str]]:
    """safetensors' ``_find_shared_tensors`` from storage identity instead of pointers.

    Groups names by storage, then splits a storage's names into sets of
    overlapping byte ranges (non-overlapping slices of one storage are saved
    separately).
    """
    by_storage: dict[Any, set[str]] = defaultdict(set)
    for name, t in sd.items():
        nbytes = t.untyped_storage().nbytes()
        if nbytes:
            by_storage[(_storage_id(t), nbytes)].add(name)
    out: list[set[str]] = []
    for names in by_storage.values():
        areas = sorted((*_byte_span(sd[n]), n) for n in names)
        _, last_stop, first = areas[0]
        out.append({first})
        for start, stop, name in areas[1:]:
            if start >= last_stop:
                out.append({name})
            else:
                out[-1].add(name)
            last_stop = stop
    return out


def _simulate_remove_duplicates(
    sd: Mapping[str, torch.Tensor], shared_sets: list[set[str]]
) -> tuple[dict[str, list[str]], str | None]:
    """safetensors' ``_remove_duplicate_names``: keep the sorted-first complete name."""
    to_remove: dict[str, list[str]] = defaultdict(list)
    for names in shared_sets:
        if len(names) < 2:
            continue
        complete = sorted(
            n
            for n in names
            if sd[n].storage_offset() == 0
            and sd[n].numel() * sd[n].element_size() == sd[n].untyped_storage().nbytes()
        )
        if not complete:
            return {}, (
                f"RuntimeError: no name among {sorted(names)} covers the entire storage; "
                "safetensors refuses to save/load the model"
            )
        keep = complete[0]
        to_remove[keep].extend(n for n in sorted(names) if n != keep)
    return dict(to_remove), None


def _safetensors_verdict(
    health: GroupHealth, state: Mapping[str, torch.Tensor], dry: SafetensorsDryRun
) -> None:
    in_state = [n for n in health.names if n in state]
    if len(in_state) < 2:
        health.survives["safetensors_save_model"] = health.survives["safetensors_save_file"] = None
        return
    # A safetensors file holds no aliases: every tie is lost on disk and must be
    # re-made by the module that loads the file.
    health.survives["safetensors_save_model"] = False
    health.survives["safetensors_save_file"] = False
    if dry.save_model_error:
        health.notes["safetensors_save_model"] = f"save_model refuses: {dry.save_model_error}"
    else:
        dropped = [n for n in in_state if n in dry.dropped]
        if dropped:
            kept = sorted({dry.dropped[n] for n in dropped})
            health.notes["safetensors_save_model"] = (
                f"dropped as a separate key by safetensors save_model: {_short(dropped)} "
                f"(kept: {_short(kept)})"
            )
        else:
            health.notes["safetensors_save_model"] = "saved as separate copies: the tie is not stored"
    if dry.save_file_refuses:
        health.notes["safetensors_save_file"] = f"safetensors save_file refuses: {dry.save_file_reason}"
    else:
        health.notes["safetensors_save_file"] = "saved as separate copies: the tie is not stored"


def _at_risk(h: GroupHealth, has_tie_weights: bool) -> str:
    reasons = [_PLAIN[op] for op in OPERATIONS[:4] if h.survives.get(op) is False]
    if h.survives.get("safetensors_save_model") is False:
        reasons.append(h.notes["safetensors_save_model"])
    if h.survives.get("safetensors_save_file") is False and "refuses" in h.notes.get(
        "safetensors_save_file", ""
    ):
        reasons.append("safetensors save_file(state_dict) refuses (tensors share memory)")
    if not reasons:
        return ""
    if has_tie_weights:
        fix = "re-tie after loading or materialising with model.tie_weights()"
    else:
        fix = "re-tie after loading or materialising (re-assign the shared tensor as the model's constructor does)"
    if h.kind != "same-tensor":
        fix += "; views of one storage: re-create the views afterwards"
    return f"{_short(h.names, ' / ')}: " + "; ".join(reasons) + f"; {fix}"


def _short(names: list[str], sep: str = ", ", limit: int = 4) -> str:
    if len(names) <= limit:
        return sep.join(names)
    return sep.join(names[:limit]) + f"{sep}... (+{len(names) - limit} more)"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
