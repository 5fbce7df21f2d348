"""No false alarms on valid third-party content: the official FHIR R4 examples.

315 examples from hl7.fhir.r4.examples@4.0.1 (CC0), vendored in data/r4-examples.
Every one validates with zero errors except those listed in GENUINE_DEFECTS, each a
real fault of the published example (checked by hand against the R4 specification).
The test fails both on a new error and on a listed defect that is no longer found.
"""

import collections
from pathlib import Path

import pytest

from fhirconv.validation import validate_bytes

DATA = Path(__file__).parent / "data" / "r4-examples"
FILES = sorted(DATA.glob("*.json"))

# file -> {rule: how many times}; why each is a genuine defect of the example.
GENUINE_DEFECTS = {
    # text.div is an empty <div>: txt-2 "The narrative SHALL have some non-whitespace content".
    "ActivityDefinition-blood-tubes-supply.json": {"txt-2": 1},
    "ActivityDefinition-heart-valve-replacement.json": {"txt-2": 1},
    "EventDefinition-example.json": {"txt-2": 1},
    "Questionnaire-zika-virus-exposure-assessment.json": {"txt-2": 1},
    # fullUrl .../Patient/pat12 on a Patient whose id is pat2: a RESTful fullUrl "SHALL end
    # with the Resource.id" (Bundle.entry.fullUrl).
    "Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json": {"bundle-fullurl-mismatch": 1},
    "Bundle-3a0707d3-549e-4467-b8b8-5a2ab3800efe.json": {"bundle-fullurl-mismatch": 1},
    # fullUrls .../Observation/lri-gramstain1 on resources with id gramstain1, and so on.
    "Bundle-lri-example.json": {"bundle-fullurl-mismatch": 16},
    # DeviceMetric.parent is Reference(Device); the example points at a DeviceDefinition.
    "DeviceMetric-example.json": {"bundle-reference-target-type": 1},
    # DeviceUseStatement.reasonReference does not allow Procedure in R4.
    "DeviceUseStatement-example.json": {"bundle-reference-target-type": 1},
    # MedicationRequest.dispenseRequest.performer is Reference(Organization); example: Practitioner.
    "MedicationRequest-medrx0301.json": {"bundle-reference-target-type": 1},
    # Observation.performer does not allow Encounter.
    "Observation-clinical-gender.json": {"bundle-reference-target-type": 1},
    # presentedForm.hash is 40 hex digits, not the base64 SHA-1 of the data (Attachment.hash:
    # "The calculated hash of the data using SHA-1. Represented using base64"), and matches no
    # SHA-1 of the 17 bytes the data decodes to.
    "DiagnosticReport-example-pgx.json": {"structure-attachment-hash": 1},
    # Questionnaire.item.linkId is 1..1; 32 nested items have none.
    "Questionnaire-qs1.json": {"structure-required": 32},
}


def test_the_examples_are_all_there():
    assert len(FILES) == 315


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_official_example_has_only_its_known_defects(path):
    issues = validate_bytes(path.read_bytes(), source=str(path))
    found = collections.Counter(i.rule for i in issues if i.severity.value == "error")
    assert dict(found) == GENUINE_DEFECTS.get(path.name, {}), [
        i.as_dict() for i in issues if i.severity.value == "error"
    ][:5]
