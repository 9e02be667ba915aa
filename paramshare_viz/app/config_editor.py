"""Widgets for the fields of a form's frozen config dataclass, generated from its type hints."""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

FIELD_STYLE = {"description_width": "150px"}
FIELD_LAYOUT = {"width": "255px"}


def field_widget(name: str, kind: type, default: Any) -> widgets.Widget | None:
    """One input for one config field, or ``None`` for types the editor does not handle."""
    label = name.replace("_", " ").capitalize()
    common = dict(description=label, style=FIELD_STYLE, layout=widgets.Layout(**FIELD_LAYOUT))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        box = widgets.Dropdown(options=[m.value for m in kind], value=kind(default).value, **common)
    elif kind is bool:
        box = widgets.Checkbox(value=default, indent=False, description=label, layout=widgets.Layout(**FIELD_LAYOUT))
    elif kind is int:
        box = widgets.IntText(value=default, **common)
    elif kind is float:
        box = widgets.FloatText(value=default, **common)
    else:
        return None
    box.add_class(f"psv-input-{name}")
    return box


class ConfigEditor(widgets.GridBox):
    """Inputs for every field of a config class; ``values()`` reads them back as overrides."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__(layout=widgets.Layout(grid_template_columns="repeat(auto-fill, 265px)", grid_gap="2px 8px"))
        self.inputs: dict[str, widgets.Widget] = {}
        self._on_change = on_change

    def show(self, config: Any) -> None:
        """Replace the inputs with ones for ``config``'s class, set to its values."""
        hints = typing.get_type_hints(type(config))
        self.inputs = {}
        for f in dataclasses.fields(config):
            box = field_widget(f.name, hints[f.name], getattr(config, f.name))
            if box is not None:
                box.observe(lambda _change: self._on_change(), names="value")
                self.inputs[f.name] = box
        self.children = list(self.inputs.values())

    def values(self) -> dict[str, Any]:
        return {name: box.value for name, box in self.inputs.items()}
