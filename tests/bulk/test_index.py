"""The first pass of a bulk import reads references off each line's text: the same as walking it."""

import json

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from fhirconv.bulk.importing import _line_references
from fhirconv.server.references import references
from tests.bulk.helpers import mcode_resources

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["Patient/1", 'a"b', "a\\b", "reference", '"reference":"Patient/2"', "\u00e9/\u2028", "Patient\\/3"]
)
keys = texts | st.just("reference")
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


def _lines(resource: object) -> list[bytes]:
    """The line as orjson writes it, as json writes it (spaces after separators, escapes)."""
    return [
        orjson.dumps(resource),
        json.dumps(resource).encode(),
        json.dumps(resource, ensure_ascii=False).encode(),
    ]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_any_json_object(resource):
    for line in _lines(resource):
        assert _line_references(resource, line) == references(resource)


def test_the_mcode_examples():
    for resource in mcode_resources():
        for line in _lines(resource):
            assert _line_references(resource, line) == references(resource)
