"""Numbers typed by hand into the dashboard's text boxes, read one way for every tab.

Boxes are plain text, never ipywidgets' ``IntText``, which rewrites what was
typed (``2.5`` becomes ``2``, ``abc`` the last number) before any code sees it.
Each reader returns typed values or raises ``ValueError`` naming the field and
repeating what was typed, so the status line can say what to change.

>>> read_number("kernel_size", int, " 3 ")
3
>>> read_numbers("4, 8 16", int, empty="no sizes", bad="{value} is not a whole number")
[4, 8, 16]
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

from paramshare_viz.analysis.loading import parse_value

Number = TypeVar("Number", int, float)


def field_label(name: str) -> str:
    """How a field is named in a message: ``in_channels`` -> ``In channels (in_channels)``."""
    return f"{name.replace('_', ' ').capitalize()} ({name})"


def read_number(name: str, kind: type[Number], text: str, *, label: str | None = None) -> Number:
    """``text`` typed into the box of field ``name`` as an ``int`` or ``float``.

    Args:
        name: the field, as the config or settings call it.
        kind: ``int`` or ``float``.
        text: what the box holds.
        label: how the message names the box (default: :func:`field_label` of ``name``).

    Raises:
        ValueError: empty, not a number, or (for an integer field) not a whole
            number; the message names the field and repeats what was typed.
    """
    label = label or field_label(name)
    raw = text.strip()
    if not raw:
        _refuse(f"{label} is empty; type a {'whole ' if kind is int else ''}number")
    value = parse_value(raw)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _refuse(f"{label}: {raw!r} is not a whole number; {_nearest(value)}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _refuse(f"{label}: {raw!r} is not a number")
    return kind(value)  # float: an int typed into a float field is a float


def read_numbers(text: str, kind: type, *, empty: str, bad: str, negative: str | None = None) -> list[Any]:
    """Numbers separated by commas or spaces: ``"4, 8 16"`` -> ``[4, 8, 16]``.

    A float may be ``inf`` (or ``∞``).

    Args:
        text: what the box holds.
        kind: ``int`` (whole numbers only) or ``float``.
        empty: the message when the box holds nothing.
        bad: the message for a value that is not a number of ``kind``; ``{value}``
            stands for what was typed.
        negative: when given, values below zero are refused with this message
            (``{value}`` as in ``bad``).

    Raises:
        ValueError: with one of the messages above.
    """
    tokens = text.replace(",", " ").split()
    if not tokens:
        _refuse(empty)
    values = []
    for token in tokens:
        try:
            value = int(token) if kind is int else float(token.replace("∞", "inf"))
        except ValueError:
            _refuse(bad.replace("{value}", repr(token)))  # not format(): the messages may quote typed braces
        if negative is not None and not value >= 0:  # nan is refused too
            _refuse(negative.replace("{value}", repr(token)))
        values.append(value)
    return values


def read_rows(text: str, *, field: str) -> tuple[tuple[float, ...], ...]:
    """Rows of numbers, one per line (a kernel typed by hand): ``"1 0\\n0 -1"`` -> ``((1.0, 0.0), (0.0, -1.0))``.

    Raises:
        ValueError: a value is not a number, or the rows differ in length; the message names ``field``.
    """
    rows = [line.replace(",", " ").split() for line in text.strip().splitlines() if line.strip()]
    try:
        values = tuple(tuple(float(v) for v in row) for row in rows)
    except ValueError as err:
        raise ValueError(f"{field} has a value that is not a number ({err})") from None
    if not values or len({len(r) for r in values}) != 1:
        _refuse(f"{field} needs rows of equal length; got {[len(r) for r in values]}")
    return values


def _nearest(value: Any) -> str:
    """What to type instead: the whole numbers either side of a typed fraction, else digits."""
    if isinstance(value, float) and value == value and abs(value) < 1e18:  # a finite float: its neighbours
        lo = int(value // 1)
        return f"the nearest whole numbers are {lo} and {lo + 1}"
    return "type it in digits"


def _refuse(message: str) -> NoReturn:
    raise ValueError(message)
