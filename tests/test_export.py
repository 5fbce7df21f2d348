"""Export: golden bundles, determinism, references, R4B parsing, codes from the table only."""

import json
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

from fhirconv.cases import load_case
from fhirconv.fileio import dump_json
from fhirconv.mapping.bundle import build_bundle
from fhirconv.terminology import table

EXAMPLES = Path(__file__).parent.parent / "examples"
CASES = ["case1", "case2"]


@pytest.fixture(scope="module", params=CASES)
def bundle(request):
    return build_bundle(load_case(request.param))


@pytest.mark.parametrize("name", CASES)
def test_golden_bundle_matches(name):
    golden = json.loads((EXAMPLES / f"{name}.bundle.json").read_text(encoding="utf-8"))
    fresh = build_bundle(load_case(name))
    assert fresh == golden, f"regenerate with: fhirconv export {name} -o examples/{name}.bundle.json"


@pytest.mark.parametrize("name", CASES)
def test_export_is_byte_identical(name):
    first = dump_json(build_bundle(load_case(name)))
    second = dump_json(build_bundle(load_case(name)))
    assert first == second
    assert first == (EXAMPLES / f"{name}.bundle.json").read_bytes()


def _references(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference":
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def test_every_reference_resolves(bundle):
    full_urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(full_urls) == len(set(full_urls))
    dangling = [ref for ref in _references(bundle) if ref not in full_urls]
    assert dangling == []


def test_every_resource_parses_with_r4b_models(bundle):
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    get_fhir_model_class("Bundle").model_validate(bundle)


def test_transaction_entries_are_idempotent_puts(bundle):
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["request"] == {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}


def test_bundle_has_every_resource_kind(bundle):
    kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert kinds >= {"Patient", "Condition", "Observation", "MedicationStatement", "Procedure", "Specimen"}
    profiles = {p for e in bundle["entry"] for p in e["resource"].get("meta", {}).get("profile", [])}
    for name in (
        "cancer-patient",
        "primary-cancer-condition",
        "secondary-cancer-condition",
        "tumor-marker-test",
        "tnm-stage-group",
        "tnm-primary-tumor-category",
        "cancer-disease-status",
        "tumor-size",
    ):
        assert f"http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-{name}" in profiles


def test_every_resource_cites_the_report(bundle):
    for entry in bundle["entry"]:
        assert entry["resource"]["meta"]["source"] == "https://doi.org/10.3389/fonc.2024.1382415"


def _codings(value):
    if isinstance(value, dict):
        if "system" in value and "code" in value and "url" not in value:
            yield value
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def test_every_emitted_coding_is_in_the_table(bundle):
    for coding in _codings(bundle):
        if coding["system"].startswith("https://doi.org/"):
            continue  # meta.tag: the report's own sections, not a terminology
        if coding["system"] == "http://unitsofmeasure.org":
            concept = table().find(coding["system"], coding["code"])
        else:
            concept = table().find(coding["system"], coding["code"])
        assert concept is not None, coding
        if "display" in coding:
            assert coding["display"] == concept.display


def test_patient_invents_nothing(bundle):
    patient = bundle["entry"][0]["resource"]
    assert "birthDate" not in patient
    assert patient["name"] == [
        {
            "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "masked"}
            ]
        }
    ]


def test_case1_ki67_is_a_percentage():
    bundle = build_bundle(load_case("case1"))
    ki67 = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "case1-ki67-2020")
    assert ki67["valueQuantity"] == {
        "value": 40,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }


def test_refusal_is_not_taken_with_reason():
    bundle = build_bundle(load_case("case2"))
    refused = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "case2-declined-fulvestrant"
    )
    assert refused["resourceType"] == "MedicationStatement"
    assert refused["status"] == "not-taken"
    assert "financial" in refused["statusReason"][0]["text"]


def test_collection_bundle_has_no_requests():
    bundle = build_bundle(load_case("case1"), "collection")
    assert bundle["type"] == "collection"
    assert all("request" not in entry for entry in bundle["entry"])


def test_every_resource_has_narrative_that_restates_it(bundle):
    for entry in bundle["entry"]:
        text = entry["resource"]["text"]
        assert text["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml"><p>')
        assert entry["resource"]["resourceType"] in text["div"] or text["status"] == "additional"


def test_undated_cancer_surgery_claims_no_profile_that_needs_a_time():
    from fhirconv.model.load import parse_case_text
    from fhirconv.validation import validate_resource

    text = (Path(__file__).parent / "data" / "cases" / "minimal.yaml").read_text() + (
        "procedures:\n  - id: surgery\n    sources: [x]\n    kind: surgery\n"
        "    code: {text: lumpectomy}\n    primary: primary\n"
    )
    bundle = build_bundle(parse_case_text(text, "c.yaml"))
    surgery = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "mini-surgery")
    assert "profile" not in surgery["meta"]
    assert [i for i in validate_resource(bundle) if i.severity.value == "error"] == []
