"""HTML tables of tie health (one model) and the tie atlas (every transformers model type)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from paramshare_viz.analysis.atlas import AtlasRow
from paramshare_viz.analysis.tie_hints import TieHints
from paramshare_viz.analysis.ties import OPERATIONS, TieHealth
from paramshare_viz.display import natural_sorted
from paramshare_viz.plots.tables import STYLE, _names, _table

#: Column titles of the tie-health table, one per operation of check_ties.
OPERATION_TITLES = {
    "to_dtype": ".to(dtype) and back",
    "state_dict": "state_dict round trip",
    "meta_to_empty": "meta → to_empty",
    "torch_save": "torch.save / load",
    "safetensors_save_model": "safetensors save_model",
    "safetensors_save_file": "safetensors save_file",
}

MARKS = {True: ("✓", "kept", "#047857"), False: ("✗", "breaks", "#b91c1c"), None: ("–", "n/a", "#6b7280")}

EXTRA_STYLE = """
<style>
.psv-tie-mark{font-weight:700}
.psv-table td.psv-error{color:var(--jp-ui-font-color2,#6b7280);font-style:italic}
.psv-risk{margin:2px 0 4px 0;padding-left:18px;font-size:13px}
.psv-note{color:var(--jp-ui-font-color2,#6b7280);font-size:12px;margin:2px 0 8px}
.psv-atlas td code{overflow-wrap:anywhere}
.psv-atlas td{max-width:340px}
.psv-atlas td:first-child code{white-space:nowrap}
.psv-audit td{overflow-wrap:anywhere}
</style>
"""


def _mark(value: bool | None, note: str = "") -> str:
    sign, word, colour = MARKS[value]
    title = f" title='{html.escape(note)}'" if note else ""
    return f"<span class='psv-tie-mark' style='color:{colour}'{title}>{sign} {word}</span>"


def tie_hints_html(hints: TieHints) -> str:
    """What the names and values suggest about ties lost or duplicated when the file was saved."""
    if not hints.lines:
        checked = "names and values" if hints.checked_values else "names (no values on the meta device)"
        return f"<div class='psv-note psv-tie-hints'>Nothing in the {checked} suggests a lost or copied tie.</div>"
    items = "".join(f"<li>{html.escape(line)}</li>" for line in hints.lines)
    return (
        EXTRA_STYLE + "<div class='psv-tie-hints'><div style='font-size:13px;margin:4px 0 0'>"
        "<b>What the file suggests</b> (from its names and values):</div>"
        f"<ul class='psv-risk'>{items}</ul></div>"
    )


def tie_health_html(health: TieHealth) -> str:
    """One row per sharing group, one column per operation (✓ kept, ✗ breaks, – n/a), then the fixes."""
    if not health.groups:
        return STYLE + "<div class='psv-empty psv-ties'>No tensor is held under two names here: no tie to check.</div>"
    rows = [
        [_names(natural_sorted(g.names), 3)] + [_mark(g.survives.get(op), g.notes.get(op, "")) for op in OPERATIONS]
        for g in health.groups
    ]
    header = ["Tied names", *(OPERATION_TITLES[op] for op in OPERATIONS)]
    table = _table("psv-ties", header, rows, {})
    risks = "".join(f"<li>{html.escape(s)}</li>" for s in health.ties_at_risk)
    risks_html = f"<ul class='psv-risk'>{risks}</ul>" if risks else ""
    how = sorted({m for m in health.modes.values() if m != "run"})
    modes = (
        "<div class='psv-note'>" + html.escape("; ".join(how)) + "</div>" if how else
        "<div class='psv-note'>Every operation was run on copies of the model.</div>"
    )
    return STYLE + EXTRA_STYLE + table + risks_html + modes


def safetensors_html(health: TieHealth) -> str:
    """What safetensors ``save_model`` would keep and drop, and whether ``save_file`` refuses."""
    dry = health.safetensors
    if dry.save_model_error:
        model_line = f"save_model refuses: {dry.save_model_error}"
    elif dry.dropped:
        drops = ", ".join(f"{a} (kept as {b})" for a, b in sorted(dry.dropped.items()))
        model_line = f"save_model writes {len(dry.kept):,} tensors and drops {len(dry.dropped):,}: {drops}"
    else:
        model_line = f"save_model writes all {len(dry.kept):,} tensors; nothing is dropped"
    file_line = f"save_file refuses: {dry.save_file_reason}" if dry.save_file_refuses else "save_file accepts the state dict"
    how = "safetensors' own helpers" if dry.exact else "simulated from storage identity (no file written)"
    return (
        STYLE + EXTRA_STYLE + "<ul class='psv-risk psv-safetensors'>"
        f"<li>{html.escape(model_line)}</li><li>{html.escape(file_line)}</li></ul>"
        f"<div class='psv-note'>Dry run with {html.escape(how)}.</div>"
    )


#: Colour of each tie-audit verdict in the atlas table.
VERDICT_COLOURS = {"agrees": "#047857", "by design": "#6b7280"}  # the two disagreements: #b91c1c


def _flag(value: bool | None) -> str:
    return "not set" if value is None else str(value)


def _flags(row: AtlasRow) -> str:
    flags = f"config {_flag(row.config_tie)}"
    if row.text_config_tie is not None:
        flags += f", text config {_flag(row.text_config_tie)}"
    if row.head_model:  # transformers reads the flag of the sub-model that holds the head
        flags += f"; read for the head: {row.head_model} config {_flag(row.head_model_tie)}"
    return flags


def _verdict(row: AtlasRow, hover: str) -> str:
    colour = VERDICT_COLOURS.get(row.verdict, "#b91c1c")
    return (
        f"<span class='psv-tie-mark psv-verdict' style='color:{colour}' title='{html.escape(hover)}'>"
        f"{html.escape(row.verdict)}</span>"
    )


def audit_note(row: AtlasRow) -> str:
    """The tie audit under a type's name: its verdict, with the config's flags and the reason on hover."""
    hover = f"tie_word_embeddings: {_flags(row)}. {row.detail}"
    return f"<div class='psv-note'>tie audit: {_verdict(row, hover)}</div>"


def audit_table_html(rows: Sequence[AtlasRow]) -> str:
    """The tie audit alone (what "disagreements only" shows): type, flags, verdict and why, one row per type."""
    if not rows:
        return STYLE + "<div class='psv-empty psv-atlas'>No model type matches.</div>"
    body = [
        [
            f"<code>{html.escape(r.model_type)}</code><div class='psv-note'>{html.escape(r.model_class)}</div>",
            html.escape(_flags(r)) if not r.error else "",
            _verdict(r, r.detail) if not r.error else "",
            f"<span class='psv-verdict-detail'>{html.escape(r.detail)}</span>" if not r.error else
            f"<span class='psv-error'>{html.escape(r.error)}</span>",
        ]
        for r in rows
    ]
    header = ["Type / class", "tie_word_embeddings", "Verdict", "Why (quoting transformers' source where it says)"]
    return STYLE + EXTRA_STYLE + _table("psv-atlas psv-audit", header, body, {})


def atlas_table_html(rows: Sequence[AtlasRow], *, limit: int = 200) -> str:
    """The tie atlas: one row per model type (failures say why), at most ``limit`` rows shown.

    Under each type's name, the tie audit's verdict (the config's ``tie_word_embeddings``
    flags and the reason on hover); :func:`audit_table_html` shows flags and reasons in full.
    """
    if not rows:
        return STYLE + "<div class='psv-empty psv-atlas'>No model type matches.</div>"
    body = []
    for r in rows[:limit]:
        kind = f"<code>{html.escape(r.model_type)}</code>"
        if r.error:
            body.append([kind, "", "", "", f"<span class='psv-error'>{html.escape(r.error)}</span>", ""])
            continue
        kind += f"<div class='psv-note'>{html.escape(r.model_class)}</div>"
        kind += audit_note(r)
        tied = " = ".join(f"<code>{html.escape(n)}</code>" for n in r.tied[0][:2]) if r.tied else "—"
        if r.tied and len(r.tied[0]) > 2:
            tied += f" and {len(r.tied[0]) - 2} more names"
        if len(r.tied) > 1:
            tied += f"<div class='psv-note'>+ {len(r.tied) - 1} more tied group(s)</div>"
        dropped = _names(sorted(r.dropped), 1) if r.dropped else "—"
        if r.dropped:
            dropped = f"{len(r.dropped)}: " + dropped
        body.append([kind, f"{r.naive_params:,}", f"{r.unique_params:,}", f"{r.saving:,}", tied, dropped])
    header = ["Type / class / tie audit", "Naive params", "Unique params", "Saved", "Tied names", "save_model drops"]
    more = (
        f"<div class='psv-empty'>… and {len(rows) - limit:,} more; narrow the search to see them.</div>"
        if len(rows) > limit else ""
    )
    return STYLE + EXTRA_STYLE + _table("psv-atlas", header, body, {1: "num", 2: "num", 3: "num"}) + more
