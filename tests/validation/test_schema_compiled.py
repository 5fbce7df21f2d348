"""The schema layer's fast path (jsonschema-rs) never passes what python jsonschema rejects."""

import copy
import functools
import re

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhirconv.validation import definitions, fastpaths, schema_compiled, schema_layer
from tests.validation.conftest import example
from tests.validation.test_hostile_input import JSON, KEYS, RESOURCE_TYPES, follow


def schema_patterns():
    found = set()
    stack = [definitions.json_schema()["definitions"]]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return sorted(found)


PATTERNS = schema_patterns()
TRICKY = [
    "",
    " ",
    "a",
    "a b",
    "a  b",
    " a",
    "a ",
    "a\n",
    "a\nb",
    "\n",
    "a\n\n",
    "a\t",
    "\u00a0",
    "a\u00a0b",
    "\u2003",
    "\u3000x",
    "\x0c",
    "a\x0bb",
    "\u0660",
    "é",
    "2020",
    "2020\n",
    "2020-01-01",
    "2020-01-01\n",
    "2020-01-01 ",
    "2020-02-30",
    "2020-01-01T10:00:00Z",
    "2020-01-01T10:00:00.5+14:00",
    "10:00:00",
    "true",
    "false",
    "truex",
    "xfalse",
    "1",
    "01",
    "-0",
    "0",
    "+1",
    "1.5",
    "1e5",
    "1.5E-3",
    "urn:oid:1.2.3",
    "urn:uuid:0b7a5c2e-58b8-4b4a-9a53-000000000000",
    "QUJD",
    "QUJD\n",
    " QUJD ",
    "QU JD",
    "A-b.c",
    "x" * 65,
]


@functools.cache
def rust_validator(pattern):
    return jsonschema_rs.Draft7Validator({"type": "string", "pattern": pattern})


def rust_accepts(pattern, text):
    return rust_validator(pattern).is_valid(text)


def test_the_schema_has_the_patterns_the_translation_was_checked_on():
    assert len(PATTERNS) == 16


@pytest.mark.parametrize("pattern", PATTERNS)
def test_rust_patterns_mean_what_python_ascii_patterns_mean(pattern):
    rust = schema_compiled.rust_pattern("(?a)" + pattern)
    python = re.compile(pattern, re.ASCII)
    assert [rust_accepts(rust, t) for t in TRICKY] == [python.search(t) is not None for t in TRICKY]


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("a0123456789-:.TZ+ \t\n\r\x0b\x0c\u00a0\u2003=/Qé"), max_size=14)
)
def test_rust_patterns_agree_on_random_text(text):
    for pattern in PATTERNS:
        rust = schema_compiled.rust_pattern("(?a)" + pattern)
        assert rust_accepts(rust, text) == (re.search(pattern, text, re.ASCII) is not None), pattern


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [("^\\d+$", "\\d"), ("^a.b$", "dot"), ("^[\\S\\d]$", "\\d in a class"), ("^[^\\S]$", "negated \\S")],
)
def test_syntax_outside_the_translation_is_refused(pattern, reason):
    with pytest.raises(schema_compiled.Untranslatable):
        schema_compiled.rust_pattern(pattern)


def python_schema_issues(resource):
    with fastpaths.reference_only():
        return schema_layer.check(resource, str(resource.get("resourceType")))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rtype=RESOURCE_TYPES, body=st.dictionaries(KEYS, JSON, max_size=6))
def test_what_the_fast_path_passes_python_jsonschema_passes(rtype, body):
    resource = {"resourceType": rtype, **body}
    if schema_compiled.valid(resource):
        assert python_schema_issues(resource) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.lists(
        st.sampled_from(["entry", 0, 1, 2, "resource", "code", "coding", "subject", "meta"]), max_size=5
    ),
    key=KEYS,
    value=JSON,
)
def test_damaged_bundles_the_fast_path_passes_python_jsonschema_passes(path, key, value):
    bundle = copy.deepcopy(BUNDLE)
    node = follow(bundle, path)
    if isinstance(node, dict):
        node[key] = value
    elif node:
        node[0] = value
    if schema_compiled.valid(bundle):
        assert python_schema_issues(bundle) == []


BUNDLE = example("Bundle-mcode-patient-bundle-jenny-m")


def test_valid_third_party_bundle_takes_the_fast_path():
    assert schema_compiled.valid(copy.deepcopy(BUNDLE))


@pytest.mark.parametrize(
    "damage",
    [
        # The published schema lets an array stand where one object is expected, and
        # python jsonschema then looks no further; the fast path refuses and leaves it to python.
        lambda b: b["entry"][0]["resource"].__setitem__("meta", [{"contained": [{"resourceType": "X"}]}]),
        # xhtml is {} in the published schema.
        lambda b: b["entry"][0]["resource"]["text"].__setitem__("div", {"resourceType": "Patient"}),
        # A nested resource without a type: python jsonschema accepts it (ResourceList is open).
        lambda b: b["entry"][1].__setitem__("resource", {"id": "x"}),
        # A lone surrogate cannot go to Rust at all.
        lambda b: b["entry"][0]["resource"].__setitem__("id", "\ud800"),
        lambda b: b["entry"][0]["resource"].__setitem__("resourceType", "Nonsense"),
    ],
)
def test_fast_path_leaves_doubtful_documents_to_python(damage):
    bundle = copy.deepcopy(BUNDLE)
    damage(bundle)
    assert not schema_compiled.valid(bundle)


def test_nested_resource_types_are_found_where_the_schema_puts_them():
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "a", "part": [{"name": "b", "resource": {"resourceType": "Patient"}}]},
            {
                "name": "c",
                "resource": {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [
                        {
                            "resource": {
                                "resourceType": "Observation",
                                "contained": [{"resourceType": "Device"}],
                            }
                        },
                        {"response": {"status": "200", "outcome": {"resourceType": "OperationOutcome"}}},
                    ],
                },
            },
        ],
    }
    assert schema_compiled.resource_types(parameters) == {
        "Parameters",
        "Patient",
        "Bundle",
        "Observation",
        "Device",
        "OperationOutcome",
    }
