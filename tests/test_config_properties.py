"""Property tests over every zoo form's config space: bad values get a ValueError naming the field.

Random overrides of random fields (zero, negative, huge up to 10**12, wrong types, NaN,
strings, None, enum members of other fields) go through ``zoo.make_config``,
``zoo.build(device="meta")`` (both sides) and ``twin_counts(device="meta")``, what the
Explore tab's refresh computes. The only exception allowed is a ``ValueError`` whose
message names one of the overridden fields; anything else (TypeError, OverflowError,
RuntimeError, a hang) fails: the budgets of ``models.budget`` refuse what would be too
large, on the meta device too.
"""

from __future__ import annotations

import dataclasses
import enum
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paramshare_viz import zoo
from paramshare_viz.analysis.twin_counts import twin_counts

EXAMPLES_PER_FORM = 25  # 13 forms: 325 random configs, each through three entry points
SETTINGS = settings(max_examples=EXAMPLES_PER_FORM, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
TRIED: dict[str, int] = {}
# A size of 10**12 implies up to 10**24 parameters (a 10**12 x 10**12 matrix): past the int64
# bytes torch sizes tensors in, which the budget refuses by name before torch would overflow.
BIGGEST = 10**12

ANY_BAD = st.one_of(
    st.integers(min_value=-BIGGEST, max_value=BIGGEST),
    st.sampled_from([0, -1, 1, 2, 3, 10**4, BIGGEST]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
    st.lists(st.integers(0, 4), max_size=3),
)


def value_for(default):
    """A strategy near a field's type (so deeper checks are reached) mixed with anything at all."""
    if isinstance(default, enum.Enum):
        near = st.sampled_from(list(type(default)) + [m.value for m in type(default)] + ["nope"])
    elif isinstance(default, bool):
        near = st.booleans()
    elif isinstance(default, int):
        near = st.one_of(st.integers(-3, 70), st.sampled_from([0, 10**4, BIGGEST]))
    elif isinstance(default, float):
        near = st.one_of(st.floats(-2, 2), st.sampled_from([0.0, math.nan, math.inf, 1e300]))
    else:
        near = st.nothing()
    return st.one_of(near, near, ANY_BAD)


@st.composite
def overrides(draw, form: str) -> dict:
    config = zoo.default_config(form)
    fields = [f.name for f in dataclasses.fields(config)]
    chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True))
    return {name: draw(value_for(getattr(config, name))) for name in chosen}


def check(call, chosen: dict) -> None:
    try:
        call()
    except ValueError as err:
        message = str(err)
        assert any(name in message for name in chosen), f"{message!r} names none of {sorted(chosen)}"
        assert "Traceback" not in message


@pytest.mark.parametrize("form", zoo.forms())
def test_random_configs_raise_only_value_errors_naming_a_field(form):
    @SETTINGS
    @given(chosen=overrides(form))
    def run(chosen):
        TRIED[form] = TRIED.get(form, 0) + 1
        check(lambda: zoo.make_config(form, **chosen), chosen)
        check(lambda: zoo.build(form, device="meta", **chosen), chosen)
        check(lambda: zoo.build(form, shared=False, device="meta", **chosen), chosen)
        check(lambda: twin_counts(form, device="meta", **chosen), chosen)

    run()
    assert TRIED[form] >= EXAMPLES_PER_FORM // 2  # hypothesis really ran (it may stop early on duplicates)


def test_meta_build_beyond_int64_bytes_is_refused_by_name():
    # A 10**12 x 10**12 weight: 4e24 bytes, past what torch can size a tensor in, even on meta.
    with pytest.raises(ValueError, match=r"rnn: hidden_size=1,000,000,000,000 would describe about 3,469,447.0 EiB"
                       r" for the shared model \(parameters\), past the 4.0 EiB .* hidden_size=[\d,]+ fits\.$"):
        zoo.build("rnn", device="meta", hidden_size=10**12)

