"""Layer 7 against a small fake table, and the real table's wiring."""

from dataclasses import dataclass

from fhirconv.validation import Layer, validate_resource
from tests.validation.conftest import found

SNOMED = "http://snomed.info/sct"


@dataclass(frozen=True)
class FakeConcept:
    key: str
    system: str
    code: str
    display: str
    source: str
    displays: tuple[str, ...]


class FakeTable:
    def __init__(self, *concepts):
        self._by = {(c.system, c.code): c for c in concepts}

    def find(self, system, code):
        return self._by.get((system, code))

    def systems(self):
        return frozenset(s for s, _ in self._by)


TABLE = FakeTable(
    FakeConcept(
        "x",
        SNOMED,
        "408643008",
        "Infiltrating duct carcinoma of breast (disorder)",
        "test",
        ("Infiltrating duct carcinoma of breast (disorder)", "Infiltrating duct carcinoma of breast"),
    ),
    FakeConcept("y", SNOMED, "367336001", "Chemotherapy (procedure)", "test", ("Chemotherapy (procedure)",)),
)


def condition(display, code="408643008", meta=None):
    resource = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
    }
    if meta:
        resource["meta"] = meta
    return resource


def run(resource):
    return validate_resource(resource, layers=(Layer.TERMINOLOGY,), terminology=TABLE)


def test_known_code_with_accepted_displays_passes():
    assert run(condition("Infiltrating duct carcinoma of breast (disorder)")) == []
    assert run(condition("Infiltrating duct carcinoma of breast")) == []


def test_display_compared_without_case_spacing_or_snomed_semantic_tag():
    assert run(condition("infiltrating  duct carcinoma of BREAST (disorder)")) == []
    # The SNOMED preferred term is usually the FSN without its tag.
    assert run(condition("Chemotherapy", code="367336001")) == []
    assert run(condition("Infiltrating duct carcinoma")) != []


def test_display_mismatch_is_a_warning():
    issues = run(condition("Breast cancer"))
    assert [(i.severity.value, i.location, i.rule) for i in issues] == [
        ("warning", "Condition.code.coding[0].display", "terminology-display")
    ]
    assert "expected 'Infiltrating duct carcinoma of breast (disorder)'" in issues[0].message


def test_unknown_code_is_information_for_others_and_error_for_fhirconv():
    issues = run(condition("Something", code="254837009"))
    assert [i.severity.value for i in issues] == ["information"]
    own = condition("Something", code="254837009", meta={"source": "https://github.com/fhirconv"})
    issues = run(own)
    assert [(i.severity.value, i.rule) for i in issues] == [("error", "terminology-unknown-own-code")]


def test_systems_outside_the_table_are_not_judged():
    resource = condition("whatever")
    resource["code"]["coding"][0]["system"] = "http://example.org/codes"
    assert run(resource) == []


def test_real_table_is_used_by_default():
    from fhirconv.terminology import table

    concept = next(iter(table()))
    resource = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p"},
        "code": {
            "coding": [{"system": concept.system, "code": concept.code, "display": "surely wrong display"}]
        },
    }
    issues = validate_resource(resource, layers=(Layer.TERMINOLOGY,))
    assert found(issues, "terminology-display", "Condition.code.coding[0].display")
