"""The one reader of numbers typed into the dashboard's boxes: values as typed, refusals naming the field."""

from __future__ import annotations

import math

import pytest

from paramshare_viz.typed_numbers import read_number, read_numbers, read_rows

SIZES = {"empty": "sizes are empty", "bad": "size {value} is not a whole number"}


@pytest.mark.parametrize(
    ("name", "kind", "typed", "value"),
    [("seq_len", int, " 16 ", 16), ("alpha", float, "8", 8.0), ("alpha", float, "0.5", 0.5), ("stride", int, "-1", -1)],
)
def test_read_number_takes_what_was_typed(name, kind, typed, value):
    got = read_number(name, kind, typed)
    assert got == value and type(got) is kind


@pytest.mark.parametrize(
    ("name", "kind", "typed", "message"),
    [
        ("in_channels", int, "2.5", "In channels (in_channels): '2.5' is not a whole number; the nearest whole numbers are 2 and 3"),
        ("in_channels", int, "-0.5", "In channels (in_channels): '-0.5' is not a whole number; the nearest whole numbers are -1 and 0"),
        ("in_channels", int, "abc", "In channels (in_channels): 'abc' is not a whole number; type it in digits"),
        ("seq_len", int, "True", "Seq len (seq_len): 'True' is not a whole number; type it in digits"),  # not a count
        ("in_channels", int, "  ", "In channels (in_channels) is empty; type a whole number"),
        ("alpha", float, "x", "Alpha (alpha): 'x' is not a number"),
        ("alpha", float, "", "Alpha (alpha) is empty; type a number"),
    ],
)
def test_read_number_refuses_by_name(name, kind, typed, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        read_number(name, kind, typed)


def test_read_number_names_a_box_by_its_label():
    with pytest.raises(ValueError, match=r"^show channel \(oc\): 'x' is not a whole number"):
        read_number("oc", int, "x", label="show channel (oc)")


def test_read_numbers_splits_on_commas_and_spaces():
    assert read_numbers("4, 8 16,32", int, **SIZES) == [4, 8, 16, 32]
    lams = read_numbers("0, 0.01 inf ∞", float, **SIZES)
    assert lams[:2] == [0.0, 0.01] and all(math.isinf(v) for v in lams[2:])


@pytest.mark.parametrize(
    ("typed", "kind", "message"),
    [
        ("", int, "sizes are empty"),
        (" , ", int, "sizes are empty"),
        ("4, 2.5", int, "size '2.5' is not a whole number"),
        ("4, inf", int, "size 'inf' is not a whole number"),
        ("4, {x}", int, "size '{x}' is not a whole number"),  # typed braces are quoted, not formatted
        ("0.1, abc", float, "size 'abc' is not a whole number"),
    ],
)
def test_read_numbers_refuses_with_the_callers_words(typed, kind, message):
    with pytest.raises(ValueError, match="^" + message.replace("{", r"\{").replace("}", r"\}")):
        read_numbers(typed, kind, **SIZES)


@pytest.mark.parametrize("typed", ["-1", "nan"])
def test_read_numbers_can_refuse_negatives(typed):
    assert read_numbers(typed, float, **SIZES)  # allowed unless asked
    with pytest.raises(ValueError, match=f"^λ value '{typed}' must be non-negative"):
        read_numbers(f"0, {typed}", float, **SIZES, negative="λ value {value} must be non-negative")


def test_read_rows():
    assert read_rows("1 0\n0, -1\n", field="the kernel") == ((1.0, 0.0), (0.0, -1.0))
    with pytest.raises(ValueError, match="^the kernel has a value that is not a number"):
        read_rows("1 a", field="the kernel")
    with pytest.raises(ValueError, match=r"^the kernel needs rows of equal length; got \[2, 1\]"):
        read_rows("1 2\n3", field="the kernel")
    with pytest.raises(ValueError, match=r"^the kernel needs rows of equal length; got \[\]"):
        read_rows("  \n", field="the kernel")
