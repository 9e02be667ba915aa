"""HTML for the number cards at the top of a panel (pure strings, no widgets)."""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    key: str  # stable id, used by tests and CSS: data-key="..."
    title: str
    value: str
    note: str = ""
    colour: str = "#9ca3af"  # the card's top stripe
    hint: str = ""  # one-line definition of the number, shown on hover


# JupyterLab's theme variables (with light fallbacks) keep the cards readable in Voila's dark theme.
STYLE = """
<style>
.psv-cards{display:flex;gap:12px;flex-wrap:wrap;margin:6px 0 4px}
.psv-card{border:1px solid var(--jp-border-color2,#e5e7eb);border-radius:10px;padding:10px 14px;min-width:190px;
  background:var(--jp-layout-color1,#fff);color:var(--jp-ui-font-color0,#111827);box-shadow:0 1px 2px rgba(0,0,0,.04)}
.psv-card-title{font-size:12px;color:var(--jp-ui-font-color2,#6b7280);text-transform:uppercase;letter-spacing:.04em}
.psv-count{font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}
.psv-card-note{font-size:12px;color:var(--jp-ui-font-color1,#4b5563);margin-top:2px;white-space:pre-line}
.psv-stale .psv-card,.psv-bars-box.psv-stale{opacity:.45;transition:opacity .2s}
</style>
"""


def cards_html(cards: list[Card]) -> str:
    parts = [
        f'<div class="psv-card" data-key="{html.escape(c.key)}" title="{html.escape(c.hint, quote=True)}" '
        f'style="border-top:4px solid {c.colour}">'
        f'<div class="psv-card-title">{html.escape(c.title)}</div>'
        f'<div class="psv-count">{html.escape(c.value)}</div>'
        f'<div class="psv-card-note">{html.escape(c.note)}</div></div>'
        for c in cards
    ]
    return STYLE + '<div class="psv-cards">' + "".join(parts) + "</div>"
