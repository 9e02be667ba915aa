"""Widgets for the fields of a form's frozen config dataclass, generated from its type hints.

Numbers are typed into plain text boxes and read by :mod:`paramshare_viz.typed_numbers`
(the one reader of typed numbers for every tab), never with ``IntText``, which
rewrites what was typed. A value that is not a number of the field's kind raises a
``ValueError`` naming the field; the panel shows it and keeps its last valid view.
"""

from __future__ import annotations

import dataclasses
import enum
import html
import typing
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from paramshare_viz.models.limits import field_limits
from paramshare_viz.typed_numbers import read_number

FIELD_STYLE = {"description_width": "150px"}
FIELD_LAYOUT = {"width": "255px"}


def shown_value(kind: type, value: Any) -> Any:
    """``value`` as its box holds it: an enum's value, a bool as is, a number as text."""
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value).value
    return value if kind is bool else str(value)


def field_widget(name: str, kind: type, default: Any) -> widgets.Widget | None:
    """One input for one config field, or ``None`` for types the editor does not handle."""
    label = name.replace("_", " ").capitalize()
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        box = widgets.Dropdown(options=[m.value for m in kind], value=shown_value(kind, default),
                               description=label, style=FIELD_STYLE, layout=FIELD_LAYOUT)
    elif kind is bool:
        box = widgets.Checkbox(value=default, indent=False, description=label, layout=FIELD_LAYOUT)
    elif kind in (int, float):
        # continuous_update=False: the value is read on Enter or when the box loses focus, not per keystroke
        box = widgets.Text(value=shown_value(kind, default), continuous_update=False,
                           description=label, style=FIELD_STYLE, layout=FIELD_LAYOUT)
    else:
        return None
    box.add_class(f"psv-input-{name}")
    return box


class ConfigEditor(widgets.VBox):
    """Inputs for every field of a config class; ``values()`` reads them back as overrides.

    Known limits of the current values (kernel within the padded input, groups
    dividing the channels, ...) are shown in one line under the inputs and on
    hover over each box they concern.
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.grid = widgets.GridBox(
            layout=widgets.Layout(grid_template_columns="repeat(auto-fill, 265px)", grid_gap="2px 8px")
        )
        self.limits = widgets.HTML()
        self.limits.add_class("psv-limits")
        super().__init__([self.grid, self.limits])
        self.inputs: dict[str, widgets.Widget] = {}
        self._kinds: dict[str, type] = {}
        self._config_type: type | None = None
        self._on_change = on_change

    def show(self, config: Any) -> None:
        """Show ``config``: its values in the inputs of its class (new inputs for a new class)."""
        if type(config) is self._config_type:  # another preset of the same form: new values, same boxes
            for name, box in self.inputs.items():
                box.value = shown_value(self._kinds[name], getattr(config, name))
            self.show_limits(config)
            return
        hints = typing.get_type_hints(type(config))
        old = list(self.inputs.values())
        self.inputs, self._kinds, self._config_type = {}, {}, type(config)
        for f in dataclasses.fields(config):
            box = field_widget(f.name, hints[f.name], getattr(config, f.name))
            if box is not None:
                box.observe(lambda _change: self._on_change(), names="value")
                self.inputs[f.name] = box
                self._kinds[f.name] = hints[f.name]
        self.grid.children = list(self.inputs.values())
        for box in old:  # off the page now: closed, or their models would pile up in kernel and page
            box.layout.close()
            box.style.close()
            box.close()
        self.show_limits(config)

    def show_limits(self, config: Any) -> None:
        """The known limits of ``config``'s fields, beside the boxes (hover) and under them."""
        limits = field_limits(config)
        for name, box in self.inputs.items():
            box.tooltip = limits.get(name, "")
        text = " · ".join(f"<b>{html.escape(name)}</b> {html.escape(rule)}" for name, rule in limits.items())
        self.limits.value = f'<div style="font-size:12px;opacity:.8;margin:2px 0 6px">Limits: {text}</div>' if text else ""

    def values(self) -> dict[str, Any]:
        """The typed values as config overrides.

        Raises:
            ValueError: a number box holds something that is not a number of its
                field's kind (the message names the field).
        """
        out = {}
        for name, box in self.inputs.items():
            kind = self._kinds[name]
            out[name] = read_number(name, kind, box.value) if kind in (int, float) else box.value
        return out
