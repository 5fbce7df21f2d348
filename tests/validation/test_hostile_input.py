"""Hostile input: whatever the bytes, validation returns issues and never crashes a layer."""

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhirconv.validation import validate_bytes, validate_resource
from tests.validation.conftest import example

KEYS = st.sampled_from(
    [
        "id",
        "meta",
        "code",
        "status",
        "subject",
        "reference",
        "extension",
        "url",
        "valueString",
        "coding",
        "system",
        "contained",
        "entry",
        "resource",
        "fullUrl",
        "value",
        "component",
        "_status",
        "text",
        "div",
        "profile",
        "category",
        "effectivePeriod",
        "start",
        "end",
    ]
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=25,
)
RESOURCE_TYPES = st.sampled_from(["Patient", "Observation", "Condition", "Bundle", "Procedure", "Nonsense"])


def follow(node, path):
    """The last object or array reached from ``node`` along ``path`` (keys and indexes)."""
    for part in path:
        try:
            nxt = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if not isinstance(nxt, dict | list):
            break
        node = nxt
    return node


def no_internal_failures(issues):
    return [i.as_dict() for i in issues if i.rule.endswith("-internal")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rtype=RESOURCE_TYPES, body=st.dictionaries(KEYS, JSON, max_size=6))
def test_random_resources_never_crash_a_layer(rtype, body):
    resource = {"resourceType": rtype, **body}
    issues = validate_resource(resource)
    assert no_internal_failures(issues) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=200))
def test_random_bytes_never_raise(data):
    issues = validate_bytes(data, source="x.json")
    assert no_internal_failures(issues) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.lists(st.sampled_from(["entry", 0, 1, "resource", "code", "coding", "subject"]), max_size=4),
    value=JSON,
)
def test_mutated_real_bundle_never_crashes(path, value):
    bundle = example("Bundle-mcode-patient-bundle-jenny-m")
    node = follow(bundle, path)
    if isinstance(node, dict):
        node["code"] = value
    issues = validate_bytes(json.dumps(bundle).encode(), source="b.json")
    assert no_internal_failures(issues) == []


def test_a_div_that_is_not_a_string_is_an_error_not_an_internal_failure():
    # Found by the random test above: txt-1/txt-2 were asked about a dict.
    issues = validate_resource({"resourceType": "Patient", "text": {"status": "generated", "div": {}}})
    assert no_internal_failures(issues) == []
    assert {"structure-type", "txt-1"} <= {i.rule for i in issues}
    assert "expected a string, found an object" in {i.message for i in issues}


@pytest.mark.parametrize("reference", [False, True], ids=["fast paths", "reference paths"])
def test_a_lone_surrogate_in_the_narrative_is_txt_1_not_an_internal_failure(reference):
    # Found by a 3,000-example run of tests/test_hostile_property.py: the XML parser could not take it.
    from fhirconv.validation import fastpaths

    div = '<div xmlns="http://www.w3.org/1999/xhtml">a \ud800 b</div>'
    patient = {"resourceType": "Patient", "text": {"status": "generated", "div": div}}
    data = json.dumps(patient).encode()  # the surrogate written as the escape \ud800
    with fastpaths.reference_only() if reference else contextlib.nullcontext():
        issues = validate_bytes(data, source="div.json")
    assert no_internal_failures(issues) == []
    assert {(i.rule, i.message) for i in issues if i.rule == "txt-1"} == {
        (
            "txt-1",
            "txt-1: the narrative is not FHIR's XHTML: the div holds a lone UTF-16 surrogate, which is no "
            "XML character",
        )
    }


NESTED = [
    (
        {"resourceType": ["Organization"], "id": "x"},
        "a resource needs a resourceType string naming its type; found an array",
    ),
    ({"resourceType": 5}, "a resource needs a resourceType string naming its type; found a number"),
    ({"id": "x"}, "a resource needs a resourceType string naming its type; it has none"),
    ([{"resourceType": "Patient"}], "expected a resource (an object), found an array"),
    ("Patient", "expected a resource (an object), found a string"),
]


@pytest.mark.parametrize(("value", "message"), NESTED)
@pytest.mark.parametrize("reference", [False, True], ids=["fast paths", "reference paths"])
def test_a_nested_resource_without_a_type_is_a_schema_error(value, message, reference):
    # Found by a 3,000-example fuzz run: an entry whose resourceType became an array passed every
    # layer, and the import then failed on it.
    from fhirconv.validation import fastpaths

    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": value}]}
    with fastpaths.reference_only() if reference else contextlib.nullcontext():
        issues = validate_bytes(json.dumps(bundle).encode(), source="b.json")
    assert no_internal_failures(issues) == []
    assert ("schema-resource-type", "Bundle.entry[0].resource", message) in {
        (i.rule, i.location, i.message) for i in issues
    }
    contained = {"resourceType": "Patient", "contained": [value]}
    if isinstance(value, dict):
        issues = validate_bytes(json.dumps(contained).encode(), source="p.json")
        assert ("schema-resource-type", "Patient.contained[0]", message) in {
            (i.rule, i.location, i.message) for i in issues
        }


@pytest.mark.parametrize("version", [["1"], {"a": 1}])
def test_a_version_id_of_the_wrong_type_is_a_schema_error_not_a_bundle_layer_failure(version):
    # Found by a 3,000-example fuzz run (seed 13): bdl-7 keyed entries by fullUrl and versionId.
    entry = {
        "fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
        "resource": {"resourceType": "Basic", "code": {"text": "x"}, "meta": {"versionId": version}},
    }
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [entry, entry]}
    issues = validate_bytes(json.dumps(bundle).encode(), source="b.json")
    assert no_internal_failures(issues) == []
    rules = {(i.rule, i.location) for i in issues}
    assert ("schema-type", "Bundle.entry[0].resource.meta.versionId") in rules
    assert ("bdl-7", "Bundle.entry[1].fullUrl") in rules


@pytest.mark.parametrize(
    ("damage", "rule", "where"),
    [
        # Found by damaging every place of the golden bundle in turn: the R4B models' url check
        # called str methods on a number, and the bundle invariants hashed the bundle type.
        (lambda b: _first_document(b)["content"][0]["attachment"].__setitem__("url", 1), "schema-type", None),
        (lambda b: b.__setitem__("type", ["transaction"]), "schema-enum", "Bundle.type"),
        (lambda b: b.__setitem__("type", {"a": 1}), "schema-enum", "Bundle.type"),
    ],
)
def test_values_of_another_json_type_are_schema_errors_not_layer_failures(damage, rule, where):
    bundle = json.loads((Path(__file__).resolve().parents[2] / "examples" / "case1.bundle.json").read_text())
    damage(bundle)
    issues = validate_bytes(json.dumps(bundle).encode(), source="b.json")
    assert no_internal_failures(issues) == []
    assert any(i.rule == rule and (where is None or i.location == where) for i in issues)


def _first_document(bundle):
    resources = (e["resource"] for e in bundle["entry"])
    return next(r for r in resources if r["resourceType"] == "DocumentReference")


def test_an_observation_component_that_is_no_list_is_a_schema_error_not_an_invariant_failure():
    # Found by damaging every place of the mCODE Jenny M bundle in turn (obs-7 iterated it).
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1-8"}]},
        "valueString": "x",
        "component": 1,
    }
    issues = validate_bytes(json.dumps(observation).encode(), source="o.json")
    assert no_internal_failures(issues) == []
    assert ("schema-type", "Observation.component") in {(i.rule, i.location) for i in issues}
