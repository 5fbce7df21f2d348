"""No false alarms, and plain words where something is wrong (issue 10, section 3).

Each case is written from the R4 specification: the narrative rules of Narrative.div
(txt-1, txt-2), Bundle reference resolution, and the terminology layer's display rules.
"""

import copy

import pytest

from fhirconv.validation import Layer, validate_resource
from fhirconv.validation.terminology_layer import display_accepted

XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


def narrative(div):
    return {"resourceType": "Basic", "code": {"text": "note"}, "text": {"status": "generated", "div": div}}


def txt(issues):
    return [(i.rule, i.message) for i in issues if i.rule in ("txt-1", "txt-2")]


def test_a_div_without_the_namespace_is_said_to_lack_it_and_is_not_empty():
    found = txt(validate_resource(narrative("<div><p>Seen in clinic</p></div>")))
    assert found == [
        (
            "txt-1",
            "txt-1: the narrative is not FHIR's XHTML: the div lacks the XHTML namespace "
            '(xmlns="http://www.w3.org/1999/xhtml")',
        )
    ]


@pytest.mark.parametrize(
    ("div", "problem"),
    [
        (
            f"<div {XHTML}>a&nbsp;b</div>",
            "the div uses the HTML entity &nbsp;, which XHTML narrative does not allow: "
            "only &lt; &gt; &amp; &quot; &apos; and numeric references such as &#160;",
        ),
        (f"<div {XHTML}><script>x()</script>text</div>", "the element <script> is not allowed in narrative"),
        (
            f'<div {XHTML}><p onclick="x()">a</p></div>',
            "the event attribute onclick is not allowed in narrative",
        ),
        (f"<p {XHTML}>a</p>", "the root element is <p>, not <div>"),
        (f"<div {XHTML}><p>a</div>", "the div is not well-formed XML (mismatched tag: line 1, column 48)"),
    ],
)
def test_narrative_problems_in_plain_words(div, problem):
    found = txt(validate_resource(narrative(div)))
    assert ("txt-1", f"txt-1: the narrative is not FHIR's XHTML: {problem}") in found


def test_numeric_references_and_xml_entities_are_fine():
    assert (
        txt(
            validate_resource(narrative(f"<div {XHTML}>5&#160;mg &lt; 10&#x20;mg &amp; &quot;ok&quot;</div>"))
        )
        == []
    )


# -- a nested bundle's references -----------------------------------------------------------


def nested(reference):
    inner = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:5f1c4c3e-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "x"},
                    "subject": {"reference": reference},
                },
            }
        ],
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:5f1c4c3e-0000-4000-8000-000000000002", "resource": inner}],
    }


def test_a_nested_bundles_unresolved_urn_uuid_is_a_warning():
    issues = validate_resource(
        nested("urn:uuid:5f1c4c3e-0000-4000-8000-00000000ffff"), layers=(Layer.BUNDLE,)
    )
    found = [(i.severity.value, i.rule) for i in issues]
    assert found == [("warning", "bundle-reference-unresolved")]
    assert "nested bundle" in issues[0].message


def test_the_outer_bundles_unresolved_urn_uuid_stays_an_error():
    bundle = nested("urn:uuid:x")["entry"][0]["resource"]
    issues = validate_resource(copy.deepcopy(bundle), layers=(Layer.BUNDLE,))
    assert [(i.severity.value, i.rule) for i in issues] == [("error", "bundle-reference-unresolved")]


# -- displays -------------------------------------------------------------------------------


class Concept:
    def __init__(self, *displays):
        self.displays = displays
        self.display = displays[0] if displays else ""


def test_a_concept_without_a_display_in_the_table_accepts_any_display():
    # LOINC 33728-7 (tumor longest dimension) has no display in fhirconv's table.
    assert display_accepted("Size.maximum dimension in Tumor", "http://loinc.org", Concept(""))
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "33728-7", "display": "Size Tumor"}]},
    }
    issues = validate_resource(observation, layers=(Layer.TERMINOLOGY,))
    assert [i for i in issues if i.rule == "terminology-display"] == []


def test_snomed_fully_specified_name_and_preferred_term_stand_for_each_other():
    sct = "http://snomed.info/sct"
    assert display_accepted("Chemotherapy", sct, Concept("Chemotherapy (procedure)"))
    assert display_accepted("Chemotherapy (procedure)", sct, Concept("Chemotherapy"))
    assert not display_accepted("Radiotherapy (procedure)", sct, Concept("Chemotherapy"))
    # Only SNOMED CT has semantic tags.
    assert not display_accepted("Chemotherapy (procedure)", "http://loinc.org", Concept("Chemotherapy"))


# -- structure errors speak FHIR --------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "location", "message"),
    [
        (
            {"resourceType": "Observation", "status": "final", "code": [{"text": "x"}]},
            "Observation.code",
            "expected an object (CodeableConcept), found an array",
        ),
        (
            {"resourceType": "Patient", "name": {"family": "x"}},
            "Patient.name",
            "expected an array (the element repeats), found an object",
        ),
        (
            {"resourceType": "Patient", "name": ["x"]},
            "Patient.name[0]",
            "expected an object (HumanName), found a string ('x')",
        ),
        (
            {"resourceType": "Patient", "gender": ["male"]},
            "Patient.gender",
            "expected a string, found an array",
        ),
    ],
)
def test_structure_errors_in_fhir_words(resource, location, message):
    issues = validate_resource(resource, layers=(Layer.STRUCTURE,))
    assert [(i.location, i.message) for i in issues] == [(location, message)]
    assert not any("<class" in i.message or ".root" in i.location for i in issues)
