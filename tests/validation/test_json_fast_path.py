"""The JSON layer's fast path (orjson first) reads and reports exactly what the reference parser does."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhirconv.validation import fastpaths, json_layer
from tests.validation.reference_findings import FIXED_HOSTILE


def outcome(data):
    """What load gives: the value (with the exact Python types of its numbers) and its issues,
    or the syntax error's message and place."""
    try:
        value, issues = json_layer.load(data)
    except json_layer.JsonSyntaxError as err:
        return ("error", err.message, err.line, err.column)
    return ("value", typed(value), [i.as_dict() for i in issues])


def typed(value):
    # 1 == 1.0 == True in Python; the reference reader's types must be kept too.
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, repr(value))


def same_both_ways(data):
    fast = outcome(data)
    with fastpaths.reference_only():
        reference = outcome(data)
    assert fast == reference


@pytest.mark.parametrize("data", FIXED_HOSTILE, ids=[f"hostile-{i:02d}" for i in range(len(FIXED_HOSTILE))])
def test_hostile_inputs_read_the_same(data):
    same_both_ways(data)


@pytest.mark.parametrize(
    "text",
    [
        '{"resourceType": "Patient", "a": {"b": {"c": 1}}}',
        '{"resourceType": "Patient", "a": 1, "a": 2}',
        '{"resourceType": "Patient", "a" : 1, "b": 2}',  # a space before the colon
        '{"resourceType": "Patient", "a": "x\\":1", "b": 2}',  # '":' inside a string
        '{"resourceType": "Patient", "n": 9223372036854775807, "m": -9223372036854775808}',
        '{"resourceType": "Patient", "n": 9223372036854775808}',
        '{"resourceType": "Patient", "n": 18446744073709551616}',  # orjson: a float; Python: an int
        '{"resourceType": "Patient", "n": [1e19, -1e19, 1.5e300]}',
        '{"resourceType": "Patient", "n": 1e400}',
        '{"resourceType": "Patient", "n": [[1]]}',
        '{"resourceType": "Patient", "n": [{"a": [[]]}]}',
        '{"resourceType": ""}',
        '{"resourceType": 3}',
        '{"id": "x"}',
        "[1, 2]",
        '"x"',
        '{"resourceType": "Patient", "x": {}}',
        '{"resourceType": "Patient", "x": [], "y": null, "z": [null]}',
        '{"resourceType": "Patient", "x": "\\ud800"}',
        '{"resourceType": "Patient"' + ', "x": {"y": 1' * 99 + "}" * 99 + "}",
        '{"resourceType": "Patient"' + ', "x": {"y": 1' * 100 + "}" * 100 + "}",
        '{"resourceType": "Patient"' + ', "x": [{"y": 1' * 50 + "}]" * 50 + "}",
        '{"resourceType": "Patient"' + ', "x": {"y": 1' * 1100 + "}" * 1100 + "}",
    ],
)
def test_edge_documents_read_the_same(text):
    same_both_ways(text.encode())


NUMBERS = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=8))
KEYS = st.sampled_from(["resourceType", "id", "a", "b", "_a", 'x":y', "", "é", "value"])
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.dictionaries(KEYS, VALUES, max_size=5),
    indent=st.sampled_from([None, 2]),
    colon=st.sampled_from([": ", ":", " : "]),
)
def test_random_documents_read_the_same(body, indent, colon):
    document = {"resourceType": "Patient", **body}
    same_both_ways(json.dumps(document, indent=indent, separators=(",", colon)).encode())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.dictionaries(KEYS, VALUES, max_size=5), cut=st.integers(min_value=0, max_value=400))
def test_damaged_texts_read_the_same(body, cut):
    text = json.dumps({"resourceType": "Patient", **body}).encode()
    # Duplicate a key, cut the text, or double a byte: whatever it becomes, both readers agree.
    same_both_ways(text.replace(b'"a": ', b'"a": 1, "a": ', 1))
    same_both_ways(text[: cut % (len(text) + 1)])
    position = cut % len(text)
    same_both_ways(text[:position] + text[position : position + 1] * 2 + text[position + 1 :])


@settings(max_examples=200, deadline=None)
@given(literal=st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True))
def test_number_literals_read_the_same(literal):
    same_both_ways(f'{{"resourceType": "Observation", "v": {literal}, "w": [{literal}]}}'.encode())


def test_a_clean_document_takes_the_fast_path(monkeypatch):
    # The reference parser is not called for a document with nothing wrong.
    def refuse(text):
        raise AssertionError("reference parser called")

    monkeypatch.setattr(json_layer, "parse", refuse)
    value, issues = json_layer.load(b'\xef\xbb\xbf{"resourceType": "Patient", "name": [{"given": ["a"]}]}')
    assert value == {"resourceType": "Patient", "name": [{"given": ["a"]}]}
    assert [i.rule for i in issues] == ["json-bom"]
