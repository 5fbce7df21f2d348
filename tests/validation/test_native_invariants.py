"""The natively implemented invariants give the same answer as their FHIRPath.

For every element of the test corpus (the mCODE examples plus mutations that make
each invariant fail), the native function and fhirpathpy must agree; otherwise the
speed-up would change what is valid.
"""

import copy

import pytest

from fhirconv.validation import fhirpath, invariants, walker
from fhirconv.validation.bundle_layer import check as bundle_check
from tests.validation.conftest import EXAMPLES, example

CORPUS = [example(p.stem) for p in sorted(EXAMPLES.glob("*.json"))]


def _mutants():
    obs = example("Observation-tumor-marker-test-er-jenny-m")
    out = []
    m = copy.deepcopy(obs)
    m["extension"] = [
        {"url": "http://a"},
        {"url": "http://b", "valueString": "x", "extension": [{"url": "c", "valueCode": "y"}]},
    ]
    m["note"] = [{"id": "only-id"}]
    m["subject"] = {"reference": "#missing"}
    m["contained"] = [
        {
            "resourceType": "Patient",
            "id": "p1",
            "meta": {"versionId": "1", "security": [{"code": "R"}]},
            "contained": [{"resourceType": "Basic", "id": "b"}],
        }
    ]
    out.append(m)
    m = copy.deepcopy(obs)
    m["contained"] = [{"resourceType": "Patient", "id": "p1"}]
    m["subject"] = {"reference": "#p1"}
    m["focus"] = [{"reference": "#"}]
    out.append(m)
    return out


RESOURCES = CORPUS + _mutants()


def scopes():
    for resource in RESOURCES:
        yield from walker.walk(resource, resource["resourceType"]).resources


def fhirpath_says(expression, value, base, scope):
    # As in the invariant layer: only an explicit false fails (empty is "unknown").
    return fhirpath.evaluate(expression, value, base, scope.resource, scope.root) != [False]


def test_corpus_exercises_failures():
    failures = {"ele-1": 0, "ext-1": 0, "ref-1": 0}
    for scope in scopes():
        for node in scope.nodes:
            failures["ele-1"] += not invariants.ele_1(node.value)
            if node.type == "Extension":
                failures["ext-1"] += not invariants.ext_1(node.value)
            if node.type == "Reference":
                failures["ref-1"] += not invariants.ref_1(node.value, scope.root)
    assert all(count > 0 for count in failures.values()), failures


def test_element_invariants_match_fhirpath():
    checked = 0
    for scope in scopes():
        for node in scope.nodes:
            base = node.context.path if node.context is not None else node.type
            if isinstance(node.value, dict):
                assert invariants.ele_1(node.value) == fhirpath_says(
                    invariants.ELE_1, node.value, base, scope
                ), node.path
            if node.type == "Extension":
                assert invariants.ext_1(node.value) == fhirpath_says(
                    invariants.NATIVE["ext-1"], node.value, "Extension", scope
                ), node.path
            if node.type == "Reference":
                assert invariants.ref_1(node.value, scope.root) == fhirpath_says(
                    invariants.NATIVE["ref-1"], node.value, "Reference", scope
                ), node.path
            checked += 1
    assert checked > 9_000


@pytest.mark.parametrize("key", ["dom-2", "dom-4", "dom-5", "dom-6"])
def test_resource_invariants_match_fhirpath(key):
    native = {
        "dom-2": invariants.dom_2,
        "dom-4": invariants.dom_4,
        "dom-5": invariants.dom_5,
        "dom-6": invariants.dom_6,
    }[key]
    outcomes = set()
    for scope in scopes():
        rtype = scope.resource["resourceType"]
        if rtype == "Bundle":
            continue
        expected = fhirpath_says(invariants.NATIVE[key], scope.resource, rtype, scope)
        assert native(scope.resource) == expected, (key, scope.path)
        outcomes.add(expected)
    if key != "dom-6":
        assert outcomes == {True, False}


def test_dom_3_matches_fhirpath():
    expression = next(
        c[3]
        for c in invariants.definitions.core_types()["DomainResource"]["elements"]["DomainResource"]["cons"]
        if c[0] == "dom-3"
    )
    # fhirpathpy raises on as() over a collection of more than one item (strict FHIRPath N1);
    # the invariant means "the values of those types", which is ofType().
    expression = expression.replace(".as(", ".ofType(")
    outcomes = set()
    for resource in RESOURCES:
        walk = walker.walk(resource, resource["resourceType"])
        for scope in walk.resources:
            if scope.contained or scope.resource["resourceType"] == "Bundle":
                continue
            expected = fhirpath_says(expression, scope.resource, scope.resource["resourceType"], scope)
            assert (invariants.dom_3_unmatched(scope, walk) == []) == expected, scope.path
            outcomes.add(expected)
    assert outcomes == {True, False}


BDL = {
    "bdl-1": {"type": "collection", "total": 3},
    "bdl-2": {
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": {"resourceType": "Basic", "code": {"text": "x"}},
                "search": {"mode": "match"},
            }
        ],
    },
    "bdl-3": {
        "type": "transaction",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Basic", "code": {"text": "x"}}}],
    },
    "bdl-4": {"type": "transaction-response", "entry": [{"fullUrl": "urn:uuid:1"}]},
    "bdl-7": {
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Basic", "code": {"text": "x"}}},
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Basic", "code": {"text": "y"}}},
        ],
    },
    "bdl-9": {"type": "document", "timestamp": "2020-01-01T00:00:00Z"},
    "bdl-10": {"type": "document", "identifier": {"system": "urn:x", "value": "1"}},
    "bdl-11": {
        "type": "document",
        "identifier": {"system": "urn:x", "value": "1"},
        "timestamp": "2020-01-01T00:00:00Z",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Basic", "code": {"text": "x"}}}],
    },
    "bdl-12": {
        "type": "message",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Basic", "code": {"text": "x"}}}],
    },
}


@pytest.mark.parametrize("key", sorted(BDL))
def test_bundle_invariants_match_fhirpath(key):
    cons = {c[0]: c[3] for c in invariants.definitions.core_types()["Bundle"]["elements"]["Bundle"]["cons"]}
    good = example("Bundle-mcode-patient-bundle-jenny-m")
    bad = {"resourceType": "Bundle", **BDL[key]}
    for bundle, should_fail in ((good, False), (bad, True)):
        walk = walker.walk(bundle, "Bundle")
        scope = walk.resources[0]
        via_fhirpath = not fhirpath_says(cons[key], bundle, "Bundle", scope)
        native = any(i.rule == key for i in bundle_check(walk))
        assert native == via_fhirpath == should_fail, (key, native, via_fhirpath)
