"""Import of fhirconv's own bundles: the golden bundles give back case1 and case2 exactly."""

import json
from pathlib import Path

import pytest

from fhirconv.cases import load_case
from fhirconv.importing.compare import compare_cases
from fhirconv.importing.reader import case_to_yaml, import_entries, read_entries
from fhirconv.mapping.bundle import build_bundle
from fhirconv.model.load import parse_case_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = ["case1", "case2"]


def _import_file(path):
    return import_entries(read_entries(path.read_bytes(), str(path)))


@pytest.mark.parametrize("name", CASES)
def test_golden_bundle_imports_to_the_case(name):
    result = _import_file(EXAMPLES / f"{name}.bundle.json")
    assert result.unmapped == []
    assert compare_cases(load_case(name), result.case) == []
    assert result.case == load_case(name)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("bundle_type", ["transaction", "collection"])
def test_both_bundle_types_import(name, bundle_type):
    bundle = build_bundle(load_case(name), bundle_type)
    result = import_entries(read_entries(json.dumps(bundle).encode(), "bundle.json"))
    assert result.case == load_case(name)


@pytest.mark.parametrize("name", CASES)
def test_ndjson_export_imports(name):
    bundle = build_bundle(load_case(name))
    lines = "\n".join(json.dumps(e["resource"]) for e in bundle["entry"]) + "\n"
    result = import_entries(read_entries(lines.encode(), f"{name}.ndjson"))
    assert result.unmapped == []
    assert result.case == load_case(name)


@pytest.mark.parametrize("name", CASES)
def test_case_file_written_reads_back_equal(name):
    case = load_case(name)
    text = case_to_yaml(case)
    assert parse_case_text(text, "imported.yaml") == case
    # Years stay text: a year read as a number would still load, but must not be written so.
    if name == "case1":
        assert "diagnosis_date: '2016'" in text


def test_searchset_with_outcome_entry_imports():
    bundle = build_bundle(load_case("case2"), "collection")
    bundle["type"] = "searchset"
    for entry in bundle["entry"]:
        entry["search"] = {"mode": "match"}
    bundle["entry"].append(
        {
            "fullUrl": "urn:uuid:0b5f5d6e-0000-4000-8000-000000000001",
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "information", "code": "informational"}],
            },
            "search": {"mode": "outcome"},
        }
    )
    result = import_entries(read_entries(json.dumps(bundle).encode(), "search.json"))
    assert result.case == load_case("case2")
    assert result.unmapped == []


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("descending", [False, True])
def test_order_of_resource_types_is_not_a_fact(name, descending):
    # A Bulk Data export lists resources by type, alphabetically: a regimen's MedicationStatements
    # then come before the Procedure they are partOf. Within one type the order stays (a fact's
    # sizes or findings are listed in the order of their Observations).
    bundle = build_bundle(load_case(name), "collection")
    bundle["entry"].sort(key=lambda e: e["resource"]["resourceType"], reverse=descending)
    result = import_entries(read_entries(json.dumps(bundle).encode(), "bundle.json"))
    assert result.unmapped == []
    assert compare_cases(load_case(name), result.case) == []
