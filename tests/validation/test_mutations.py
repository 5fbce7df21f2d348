"""The mutation catalogue: real mCODE STU4 examples, one defect each, every one caught.

Each case names the example it starts from, what it breaks, and the (layer, rule,
location) that must be reported as an error.  The unmutated example must have no
errors, so each finding is caused by the mutation.
"""

import pytest

from fhirconv.validation import validate_resource
from tests.validation.conftest import example

TUMOR_SIZE = "Observation-tumor-size-jenny-m"
STATUS = "Observation-cancer-disease-status-jenny-m"
MARKER = "Observation-tumor-marker-test-er-jenny-m"
PRIMARY = "Condition-primary-cancer-condition-jenny-m"
BUNDLE = "Bundle-mcode-patient-bundle-jenny-m"


def drop_status(r):
    del r["status"]


def wrong_type(r):
    r["effectiveDateTime"] = 20180316


def bad_date(r):
    r["effectiveDateTime"] = "2018-02-30T25:00:00Z"


def unknown_element(r):
    r["colour"] = "blue"


def status_outside_binding(r):
    r["status"] = "done"


def broken_invariant(r):
    r["dataAbsentReason"] = {"text": "not recorded"}  # obs-6: value[x] is present too


def dangling_reference(r):
    r["entry"][1]["resource"]["subject"] = {"reference": "urn:uuid:0b7a5c2e-58b8-4b4a-9a53-000000000000"}


def duplicate_full_url(r):
    r["entry"][2]["fullUrl"] = r["entry"][1]["fullUrl"]


def empty_required_slice(r):
    r["component"] = [c for c in r["component"] if c["code"]["coding"][0]["code"] != "33728-7"]


def wrong_fixed_code(r):
    r["code"] = {"coding": [{"system": "http://loinc.org", "code": "21889-2"}]}


def wrong_choice_type(r):
    r["extension"][0]["valueString"] = "infiltrating duct carcinoma"
    del r["extension"][0]["valueCodeableConcept"]


def wrong_fixed_category(r):
    # The VSCat slice fixes category.coding.code to vital-signs: no category matches now.
    r["category"][0]["coding"][0]["code"] = "vital-sign"


def two_choice_values(r):
    r["effectivePeriod"] = {"start": "2018-03-16"}


def drop_required_slice_in_bundle(r):
    r["entry"] = r["entry"][1:]


CATALOGUE = [
    (STATUS, drop_status, "structure", "structure-required", "Observation.status"),
    (STATUS, wrong_type, "schema", "schema-type", "Observation.effectiveDateTime"),
    (STATUS, bad_date, "schema", "schema-format-dateTime", "Observation.effectiveDateTime"),
    (STATUS, unknown_element, "schema", "schema-unknown-element", "Observation.colour"),
    (STATUS, status_outside_binding, "schema", "schema-enum", "Observation.status"),
    (MARKER, broken_invariant, "invariant", "obs-6", "Observation"),
    (
        BUNDLE,
        dangling_reference,
        "bundle",
        "bundle-reference-unresolved",
        "Bundle.entry[1].resource.subject.reference",
    ),
    (BUNDLE, duplicate_full_url, "bundle", "bdl-7", "Bundle.entry[2].fullUrl"),
    (TUMOR_SIZE, empty_required_slice, "profile", "profile-slice-min", "Observation.component"),
    (STATUS, wrong_fixed_code, "profile", "profile-pattern", "Observation.code"),
    (PRIMARY, wrong_choice_type, "profile", "profile-type", "Condition.extension[0].valueString"),
    (BUNDLE, drop_required_slice_in_bundle, "profile", "profile-slice-min", "Bundle.entry"),
    (STATUS, two_choice_values, "structure", "structure-choice", "Observation"),
    (
        "Observation-body-surface-area-example",
        wrong_fixed_category,
        "profile",
        "profile-slice-min",
        "Observation.category",
    ),
]


@pytest.mark.parametrize("name", sorted({c[0] for c in CATALOGUE}))
def test_unmutated_examples_have_no_errors(name):
    assert [i for i in validate_resource(example(name)) if i.severity.value == "error"] == []


@pytest.mark.parametrize(
    ("name", "mutate", "layer", "rule", "location"), CATALOGUE, ids=[c[1].__name__ for c in CATALOGUE]
)
def test_mutation_is_caught(name, mutate, layer, rule, location):
    resource = example(name)
    mutate(resource)
    issues = validate_resource(resource)
    hits = [i for i in issues if i.rule == rule and i.location == location]
    assert hits, [(i.layer.value, i.rule, i.location) for i in issues if i.severity.value == "error"]
    assert all(i.layer.value == layer and i.severity.value == "error" for i in hits)


def test_extension_checked_against_its_definition_without_a_profile_claim():
    resource = example(PRIMARY)
    del resource["meta"]
    wrong_choice_type(resource)
    issues = validate_resource(resource)
    assert [(i.layer.value, i.rule, i.location) for i in issues if i.severity.value == "error"] == [
        ("profile", "profile-type", "Condition.extension[0].valueString")
    ]


def test_reference_to_a_type_the_profile_does_not_allow():
    resource = example(PRIMARY)
    # Core allows Practitioner, PractitionerRole, Patient, RelatedPerson; the profile keeps that,
    # but Condition.subject must be a (US Core) Patient.
    resource["subject"] = {"reference": "Group/cohort-1"}
    issues = validate_resource(resource)
    assert any(
        i.rule == "profile-reference-target" and i.location == "Condition.subject.reference" for i in issues
    )


def test_unknown_extension_is_noted_once_not_silently_passed():
    resource = example(PRIMARY)
    resource["extension"].append({"url": "http://example.org/fhir/StructureDefinition/x", "valueString": "a"})
    resource["code"]["extension"] = [
        {"url": "http://example.org/fhir/StructureDefinition/x", "valueString": "b"}
    ]
    issues = validate_resource(resource)
    notes = [i for i in issues if i.rule == "profile-extension-unavailable" and "example.org" in i.message]
    assert [(n.severity.value, n.location) for n in notes] == [("information", "Condition.extension[1]")]
