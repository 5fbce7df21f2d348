"""Layer 1: JSON well-formedness and FHIR JSON rules, from raw bytes."""

import pytest

from fhirconv.validation import validate_bytes
from fhirconv.validation.engine import syntax_failure
from tests.validation.conftest import found


def run(text: str | bytes, source: str = "x.json"):
    data = text.encode() if isinstance(text, str) else text
    return validate_bytes(data, source=source, profiles=False)


def test_valid_minimal_patient_has_no_json_issue():
    issues = run('{"resourceType": "Patient", "id": "p1", "active": true}')
    assert [i for i in issues if i.layer.value == "json"] == []


def test_syntax_error_gives_line_and_column():
    issues = run('{\n  "resourceType": "Patient",\n  "active": tru\n}')
    failure = syntax_failure(issues)
    assert failure is not None
    assert failure.line == 3
    assert failure.location == "line 3, column 13"
    assert failure.message == "invalid JSON at line 3, column 13: Expecting value"


def test_not_utf8_names_the_place():
    issues = run(b'{"resourceType": "Patient",\n "id": "\xff"}')
    failure = syntax_failure(issues)
    assert failure is not None and failure.rule == "json-encoding"
    assert failure.message == "not UTF-8: byte 0xff at line 2, column 9"


def test_duplicate_key_is_an_error_at_its_path():
    issues = run('{"resourceType": "Patient", "name": [{"family": "A", "family": "B"}]}')
    assert found(issues, "json-duplicate-key", "Patient.name[0].family")


@pytest.mark.parametrize(
    ("text", "rule", "location"),
    [
        ('{"resourceType": "Patient", "meta": {}}', "json-empty-object", "Patient.meta"),
        ('{"resourceType": "Patient", "name": []}', "json-empty-array", "Patient.name"),
        ('{"resourceType": "Patient", "active": null}', "json-null", "Patient.active"),
        (
            '{"resourceType": "Patient", "name": [{"given": ["a", null]}]}',
            "json-null",
            "Patient.name[0].given[1]",
        ),
        ("[1, 2]", "json-root", "(document)"),
        ('{"id": "x"}', "json-resource-type", "(document)"),
    ],
)
def test_fhir_json_rules(text, rule, location):
    assert found(run(text), rule, location)


def test_null_aligning_primitive_with_extension_is_allowed():
    text = (
        '{"resourceType": "Patient", "name": [{"given": ["a", null], '
        '"_given": [null, {"extension": [{"url": "http://x", "valueString": "y"}]}]}]}'
    )
    assert not found(run(text), "json-null")


def test_byte_order_mark_is_a_warning_only():
    issues = run(b'\xef\xbb\xbf{"resourceType": "Patient"}')
    assert found(issues, "json-bom")
    assert syntax_failure(issues) is None


def test_ndjson_issues_carry_line_numbers():
    text = '{"resourceType": "Patient", "gender": "x"}\n\n{"resourceType": "Patient"\n'
    issues = run(text, source="many.ndjson")
    enum = [i for i in issues if i.rule == "schema-enum"]
    assert [(i.line, i.location) for i in enum] == [(1, "Patient.gender")]
    syntax = [i for i in issues if i.rule == "json-syntax"]
    assert [i.line for i in syntax] == [3]


def test_nan_and_infinity_are_not_json():
    issues = run('{"resourceType": "Observation",\n "valueQuantity": {"value": NaN}}')
    failure = syntax_failure(issues)
    assert failure is not None
    assert failure.message == "invalid JSON at line 2, column 29: NaN is not a JSON value"
