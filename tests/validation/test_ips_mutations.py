"""A mutation catalogue over the official IPS 2.0.0 examples: each mutation breaks one rule an IPS
profile states (cardinality, fixed and pattern values, required bindings, slices, types) and must be
caught by the profile layer with the guide loaded -- and not without it, since R4 alone allows it.

Each expectation was read from the IPS StructureDefinition snapshot named in the comment.
"""

import copy
import json

import pytest

from fhirconv.validation import validate_resource
from tests.conftest import FHIR_PACKAGES

IPS = (str(FHIR_PACKAGES / "hl7.fhir.uv.ips-2.0.0.tgz"),)


def drop(*keys):
    def mutate(r):
        for key in keys:
            del r[key]

    return mutate


def put(key, value):
    def mutate(r):
        r[key] = value

    return mutate


def rename(old, new):
    def mutate(r):
        r[new] = r.pop(old)

    return mutate


def set_code(path, code):
    def mutate(r):
        node = r
        for part in path:
            node = node[part]
        node["code"] = code

    return mutate


def drop_entry(resource_type):
    def mutate(bundle):
        bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != resource_type]

    return mutate


def drop_section(loinc):
    def mutate(composition):
        composition["section"] = [
            s for s in composition["section"] if s["code"]["coding"][0]["code"] != loinc
        ]

    return mutate


# (id, example file, mutation, (rule, location) the guide's profile reports)
CATALOGUE = [
    # -- cardinality
    # Patient-uv-ips: birthDate 1..1, name 1..*
    ("patient-birthdate", "Patient-66033", drop("birthDate"), ("profile-cardinality", "Patient.birthDate")),
    ("patient-name", "Patient-66033", drop("name"), ("profile-cardinality", "Patient.name")),
    # Condition-uv-ips, AllergyIntolerance-uv-ips, Medication-uv-ips: code 1..1
    ("condition-code", "Condition-eumfh-39-07-1", drop("code"), ("profile-cardinality", "Condition.code")),
    (
        "allergy-code",
        "AllergyIntolerance-eumfh-39-07-1",
        drop("code"),
        ("profile-cardinality", "AllergyIntolerance.code"),
    ),
    ("medication-code", "Medication-eumfh-39-07-1", drop("code"), ("profile-cardinality", "Medication.code")),
    # Observation-results-laboratory-pathology-uv-ips: effective[x] 1..1
    (
        "lab-effective",
        "Observation-hemoglobin",
        drop("effectiveDateTime"),
        ("profile-cardinality", "Observation.effective"),
    ),
    # -- fixed and pattern values
    # Bundle-uv-ips: type fixed 'document'
    ("bundle-type", "Bundle-bundle-minimal", put("type", "collection"), ("profile-fixed", "Bundle.type")),
    # Composition-uv-ips: type pattern LOINC 60591-5
    (
        "composition-type",
        "Composition-composition-minimal",
        set_code(("type", "coding", 0), "11503-0"),
        ("profile-pattern", "Composition.type"),
    ),
    # Observation-pregnancy-status-uv-ips: code pattern LOINC 82810-3
    (
        "pregnancy-code",
        "Observation-pregnancy-status-example",
        set_code(("code", "coding", 0), "82810-4"),
        ("profile-pattern", "Observation.code"),
    ),
    # -- required bindings (the IPS value sets exclude entered-in-error, R4 allows it)
    (
        "lab-status",
        "Observation-hemoglobin",
        put("status", "entered-in-error"),
        ("profile-binding", "Observation.status"),
    ),
    (
        "report-status",
        "DiagnosticReport-hemoglobin",
        put("status", "entered-in-error"),
        ("profile-binding", "DiagnosticReport.status"),
    ),
    (
        "imaging-status",
        "ImagingStudy-TII-ImagingStudy-5-1",
        put("status", "entered-in-error"),
        ("profile-binding", "ImagingStudy.status"),
    ),
    # -- slices
    # Bundle-uv-ips: entry:patient 1..1 (discriminated by resource type and profile)
    ("bundle-patient", "Bundle-bundle-minimal", drop_entry("Patient"), ("profile-slice-min", "Bundle.entry")),
    # Bundle-uv-ips: entry:composition 1..1
    (
        "bundle-composition",
        "Bundle-bundle-minimal",
        drop_entry("Composition"),
        ("profile-slice-min", "Bundle.entry"),
    ),
    # Composition-uv-ips: section:sectionProblems (LOINC 11450-4) 1..1, sectionAllergies (48765-2) 1..1
    (
        "section-problems",
        "Composition-composition-minimal",
        drop_section("11450-4"),
        ("profile-slice-min", "Composition.section"),
    ),
    (
        "section-allergies",
        "Composition-composition-minimal",
        drop_section("48765-2"),
        ("profile-slice-min", "Composition.section"),
    ),
    # Observation-results-laboratory-pathology-uv-ips: category:laboratory 1..1 (pattern)
    (
        "lab-category",
        "Observation-hemoglobin",
        set_code(("category", 0, "coding", 0), "vital-signs"),
        ("profile-slice-min", "Observation.category"),
    ),
    # -- types
    # Observation-results-laboratory-pathology-uv-ips: effective[x] dateTime or Period (R4 adds instant)
    (
        "lab-effective-type",
        "Observation-hemoglobin",
        rename("effectiveDateTime", "effectiveInstant"),
        ("profile-type", "Observation.effectiveInstant"),
    ),
]


def example(fhir_package, name):
    return json.loads((fhir_package("hl7.fhir.uv.ips") / "example" / f"{name}.json").read_text())


def errors_at(issues):
    return {
        (i.rule, i.location.replace("Bundle.entry[0].resource.", ""))
        for i in issues
        if i.severity.value == "error"
    }


@pytest.mark.parametrize(("name", "path", "mutate", "expected"), CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_mutation_is_caught_by_the_guide(fhir_package, name, path, mutate, expected):
    resource = example(fhir_package, path)
    assert expected not in errors_at(validate_resource(copy.deepcopy(resource), igs=IPS))
    mutate(resource)
    without = errors_at(validate_resource(copy.deepcopy(resource)))
    assert expected not in without, "R4 alone should allow this: the mutation would not test the guide"
    found = errors_at(validate_resource(resource, igs=IPS))
    assert expected in found, sorted(found)


def test_the_catalogue_covers_each_kind_of_rule():
    kinds = {expected[0] for *_, expected in CATALOGUE}
    assert kinds == {
        "profile-cardinality",
        "profile-fixed",
        "profile-pattern",
        "profile-binding",
        "profile-slice-min",
        "profile-type",
    }
