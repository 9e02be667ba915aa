"""Plain-text rendering of a :class:`SharingReport` (and its tie health) for the CLI.

:func:`format_summary` is a pure function returning a string; it never prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paramshare_viz.analysis.report import uses_sentence
from paramshare_viz.analysis.tie_hints import TieHints
from paramshare_viz.analysis.ties import OPERATIONS, TieHealth
from paramshare_viz.display import natural_key, natural_sorted
from paramshare_viz.units import plural

#: Column headings of the tie-health table, in :data:`OPERATIONS` order.
OPERATION_LABELS = {
    "to_dtype": ".to(dtype)",
    "state_dict": "state_dict",
    "meta_to_empty": "meta->to_empty",
    "torch_save": "torch.save",
    "safetensors_save_model": "st.save_model",
    "safetensors_save_file": "st.save_file",
}

_MARK = {True: "kept", False: "BROKEN", None: "-"}


def format_summary(
    report: Any,
    health: TieHealth | None = None,
    *,
    title: str = "",
    top_modules: int = 10,
    max_names: int = 6,
    max_groups: int = 12,
    hints: TieHints | None = None,
) -> str:
    """A readable multi-line summary of ``report`` (and ``health`` when given).

    Sections: totals (naive vs unique parameters and bytes, the saving),
    sharing groups with names and sizes, the modules holding the most unique
    parameters (with forward calls and FLOPs when the report has them), modules
    called more than once, tensor uses (reuse, borrowing, applications inside a
    fused call; with an input), and tie health (per-group table and ties at risk).

    Args:
        report: a ``SharingReport`` from ``analyze``.
        health: a :class:`TieHealth` from ``check_ties``, or ``None`` to omit that section.
        title: first line, e.g. ``"GPT2LMHeadModel (hf:gpt2, meta)"``.
        top_modules: rows in the module table (default 10).
        max_names: names listed per group before "... and N more" (default 6).
        max_groups: groups (and ties at risk) listed before "... and N more" (default 12).
        hints: a :class:`TieHints` from ``tie_hints``: what the names and values suggest about
            ties lost or copied (listed after the tie health), or ``None``.

    Returns:
        The summary, ending with a newline.
    """
    lines: list[str] = []
    if title:
        lines += [title, "=" * len(title)]
    lines += _totals(report)
    lines += _groups(report, max_names, max_groups)
    lines += _modules(report, top_modules)
    lines += _calls(report)
    lines += _uses(report)
    if health is not None:
        lines += _health(health, max_names, max_groups)
    if hints is not None and hints.lines:
        lines += ["Signs of a tie lost or copied (from the names and values):"]
        lines += [f"  - {line}" for line in hints.lines[:max_groups]] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _num(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GiB"  # pragma: no cover


def _totals(r: Any) -> list[str]:
    rows = [
        ("", "naive", "unique", "saving"),
        (
            "parameters",
            _num(r.naive_params),
            _num(r.unique_params),
            f"{_num(r.naive_params - r.unique_params)} ({_pct(r.naive_params - r.unique_params, r.naive_params)})",
        ),
        (
            "bytes",
            _bytes(r.naive_bytes),
            _bytes(r.unique_bytes),
            f"{_bytes(r.naive_bytes - r.unique_bytes)} ({_pct(r.naive_bytes - r.unique_bytes, r.naive_bytes)})",
        ),
    ]
    if r.naive_buffers:
        rows.append(
            (
                "buffers",
                _num(r.naive_buffers),
                _num(r.unique_buffers),
                _num(r.naive_buffers - r.unique_buffers),
            )
        )
    out = _table(rows, right=(1, 2, 3))
    if r.frozen_params:
        out.append(f"frozen parameters: {_num(r.frozen_params)} of {_num(r.unique_params)}")
    if r.flops is not None:
        out.append(f"forward FLOPs: {_num(r.flops.forward)} ({_num(r.flops.macs)} MACs)")
        if r.reuse is not None:
            out.append(f"reuse: {r.reuse:,.1f} MACs per unique parameter per forward")
    return out + [""]


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def _names(names: list[str], max_names: int) -> str:
    if len(names) <= max_names:
        return ", ".join(names)
    return ", ".join(names[:max_names]) + f", ... and {len(names) - max_names} more"


def _groups(r: Any, max_names: int, max_rows: int) -> list[str]:
    if not r.groups:
        return ["Sharing groups: none (no two names reach the same storage)", ""]
    out = [f"Sharing groups ({len(r.groups)}):"]
    for g in r.groups[:max_rows]:
        if g.kind == "functional":  # one tensor read in code by a module that does not hold it
            who = f"held by {', '.join(m or '(root)' for m in g.holders)}, read by " + ", ".join(
                m or "(root)" for m in g.borrowers
            )
            out.append(f"  {g.kind:<15} {_num(g.numel):>14} elements  {_names(g.names, max_names)}: {who}")
            continue
        out.append(
            f"  {g.kind:<15} {_num(g.numel):>14} elements  x{len(g.names)} names: {_names(natural_sorted(g.names), max_names)}"
        )
    if len(r.groups) > max_rows:
        out.append(f"  ... and {len(r.groups) - max_rows} more groups (--json lists all)")
    return out + [""]


def _modules(r: Any, top: int) -> list[str]:
    rows = [m for m in r.modules if m.unique_params or m.naive_params]
    rows.sort(key=lambda m: (-m.unique_params, -m.naive_params))  # stable: traversal order breaks ties
    if not rows or top <= 0:
        return []
    has_runtime = r.calls is not None
    head = ["module", "type", "unique params", "naive params"] + (["calls", "FLOPs"] if has_runtime else [])
    table = [tuple(head)]
    for m in rows[:top]:
        cells = [m.name or "(root)", m.type, _num(m.unique_params), _num(m.naive_params)]
        if has_runtime:
            cells += [_num(m.calls), _num(m.flops)]
        table.append(tuple(cells))
    more = f" of {len(rows)}" if len(rows) > top else ""
    out = [f"Modules holding the most parameters (direct tensors; top {min(top, len(rows))}{more}):"]
    return out + ["  " + line for line in _table(table, right=tuple(range(2, len(head))))] + [""]


def _calls(r: Any) -> list[str]:
    if r.calls is None:
        return []
    # Modules holding parameters (their own or beneath): a dropout run 8 times shares nothing.
    holding = {"", *(".".join(m.name.split(".")[:k]) for m in r.modules if m.naive_params
                     for k in range(1, m.name.count(".") + 2))} if r.modules else set()
    reused = {name: n for name, n in r.calls.items() if n > 1 and name in holding}
    if not reused:
        return ["Forward calls: no module with parameters ran more than once", ""]
    # A shared module appears under each of its names with the same count: list it once.
    seen: dict[tuple[str, int], list[str]] = {}
    for name, n in reused.items():
        row = next((m for m in r.modules if m.name == name), None)
        key = (min([name, *row.aliases]) if row is not None else name, n)
        seen.setdefault(key, []).append(name)
    out = [f"Modules with parameters called more than once per forward ({plural(len(seen), 'module object')}):"]
    for (_, n), names in sorted(seen.items(), key=lambda kv: (-kv[0][1], natural_key(kv[0][0])))[:10]:
        out.append(f"  {n:>5} x  {_names(natural_sorted(names), 3)}")
    return out + [""]


def _uses(r: Any) -> list[str]:
    if r.uses is None:
        return [f"Tensor uses: not traced: {r.forward_error}", ""] if r.forward_error else []
    return ["Tensor uses (one forward; a use is one call that reads the tensor):", f"  {uses_sentence(r)}", ""]


def _health(h: TieHealth, max_names: int, max_rows: int) -> list[str]:
    out = ["Tie health (does each sharing group survive?):"]
    if h.groups:
        head = ("group", *(OPERATION_LABELS[op] for op in OPERATIONS))
        rows = [head]
        for g in h.groups[:max_rows]:
            label = _names(g.names, 2)
            rows.append((label, *(_MARK[g.survives.get(op)] for op in OPERATIONS)))
        out += ["  " + line for line in _table(rows)]
        if len(h.groups) > max_rows:
            out.append(f"  ... and {len(h.groups) - max_rows} more groups (--json lists all)")
    else:
        out.append("  no tensor is held under two names here")
    simulated = {op: mode for op, mode in h.modes.items() if mode != "run" and not mode.startswith("dry run")}
    for op, mode in simulated.items():
        out.append(f"  note: {OPERATION_LABELS.get(op, op)}: {mode}")
    st = h.safetensors
    out.append(
        "  safetensors dry run"
        + (" (safetensors' own helpers)" if st.exact else " (simulated from storage identity)")
        + f": save_model keeps {plural(len(st.kept), 'name')}, drops {len(st.dropped)}"
        + (f"; save_model refuses: {st.save_model_error}" if st.save_model_error else "")
        + f"; save_file {'refuses' if st.save_file_refuses else 'accepts the state dict'}"
    )
    out.append("")
    if h.ties_at_risk:
        out.append(f"Ties at risk ({len(h.ties_at_risk)}):")
        out += [f"  - {line}" for line in h.ties_at_risk[:max_rows]]
        if len(h.ties_at_risk) > max_rows:
            out.append(f"  ... and {len(h.ties_at_risk) - max_rows} more (--json lists all)")
    else:
        out.append("Ties at risk: none")
    return out + [""]


def _table(rows: Sequence[tuple[str, ...]], right: tuple[int, ...] = ()) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return out
