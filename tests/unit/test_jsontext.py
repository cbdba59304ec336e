"""render/jsontext.py writes what `json.dumps(data, indent=2)` writes, byte for byte."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings, strategies as st

from kindscape.render import jsontext

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(), st.sampled_from(["é", "界", "\u2028", "\x00", '"\\', "10.0.0.1"]))
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=30)


@settings(max_examples=500, deadline=None)
@given(DOCUMENTS)
def test_the_same_text_as_the_standard_library(document):
    assert jsontext.dumps(document) == json.dumps(document, indent=2)


TRICKY = st.one_of(SCALARS, st.sampled_from(["}", "{", "}\x00{", "\x00", "\x01", '"}', "a, b: c"]))
RECORDS = st.lists(st.dictionaries(st.text(max_size=6), TRICKY, min_size=1, max_size=5), min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["results", "failures"]), RECORDS, max_size=2), RECORDS)
def test_lists_of_flat_objects_the_same_text_as_the_standard_library(document, records):
    assert jsontext.dumps(document) == json.dumps(document, indent=2)
    assert jsontext.dumps(records) == json.dumps(records, indent=2)


class Name(str):
    """A str subclass (as enums of str are): the standard library's business."""


def test_what_it_does_not_know_goes_to_the_standard_library():
    for document in ({"a": Name("x")}, {1: "int key"}, {"n": 10 ** 400}, [{"deep": [math.pi, -0.0]}]):
        assert jsontext.dumps(document) == json.dumps(document, indent=2)
