"""Checks added after measuring against the HL7 validator's test cases (tools/parity.py).

Each has valid and invalid cases of our own, written from the R4 specification:

* uuid: "urn:uuid:" and 8-4-4-4-12 lower-case hexadecimal digits (the uuid type's regex;
  the uri type: "For UUID ... use all lowercase"); oid: "urn:oid:" and dotted numbers
  starting 0, 1 or 2 (the oid type's regex). Checked wherever a uri, url or canonical holds one.
* A canonical resource's url: "An absolute URI that is used to identify this value set
  [code system, ...] when it is referenced" (ValueSet.url, CodeSystem.url, ...).
* A canonical's targets: QuestionnaireResponse.questionnaire is canonical(Questionnaire),
  so the URL of a core ValueSet there names the wrong kind of resource.
* CapabilityStatement.rest.resource.searchParam.type is the type of the SearchParameter its
  definition names (R4: "The type of value a search parameter refers to").
"""

import copy

import pytest

from fhirconv.validation import validate_resource


def errors(resource):
    issues = validate_resource(copy.deepcopy(resource))
    return {(i.rule, i.location) for i in issues if i.severity.value == "error"}


def value_set(url, **extra):
    return {
        "resourceType": "ValueSet",
        "url": url,
        "name": "Example",
        "status": "draft",
        "compose": {"include": [{"system": "http://example.org/codes"}]},
        **extra,
    }


@pytest.mark.parametrize(
    "url",
    [
        "urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7",
        "urn:oid:2.16.840.1.113883.4.642.3.1",
        "http://example.org/fhir/ValueSet/example",
    ],
)
def test_absolute_uuid_and_oid_urls_pass(url):
    assert errors(value_set(url)) == set()


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b", "structure-uuid"),  # 11 digits at the end
        ("urn:uuid:53FEFA32-FCBB-4FF8-8A92-55EE120877B7", "structure-uuid"),  # upper case
        ("urn:uuid:53fefa32fcbb4ff88a9255ee120877b7", "structure-uuid"),  # no hyphens
        ("urn:oid:3.1.2", "structure-oid"),  # the first arc is 0, 1 or 2
        ("urn:oid:1.02.3", "structure-oid"),  # no leading zeros
        ("ValueSet/example", "structure-canonical-url"),  # relative
        ("example", "structure-canonical-url"),
    ],
)
def test_bad_uuid_oid_and_relative_urls_fail(url, rule):
    assert errors(value_set(url)) == {(rule, "ValueSet.url")}


def test_a_contained_canonical_resource_needs_an_absolute_url_too():
    contained = {"resourceType": "CodeSystem", "id": "cs", "url": "cs", "status": "draft"}
    contained["content"] = "complete"
    vs = value_set("http://example.org/fhir/ValueSet/example", contained=[contained])
    vs["compose"]["include"][0]["system"] = "#cs"
    assert errors(vs) == {("structure-canonical-url", "ValueSet.contained[0].url")}


def test_uuid_uris_are_checked_in_any_uri_element():
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:not-a-uuid", "resource": {"resourceType": "Basic", "code": {"text": "x"}}}
        ],
    }
    assert ("structure-uuid", "Bundle.entry[0].fullUrl") in errors(bundle)
    bundle["entry"][0]["fullUrl"] = "urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7"
    assert errors(bundle) == set()


def test_a_url_of_a_resource_that_is_not_canonical_is_left_alone():
    # Attachment.url is a url in a data type, not a canonical resource's identity: relative is allowed.
    doc = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"contentType": "text/plain", "url": "Binary/1"}}],
    }
    assert errors(doc) == set()


def response(questionnaire):
    return {"resourceType": "QuestionnaireResponse", "questionnaire": questionnaire, "status": "completed"}


@pytest.mark.parametrize(
    "questionnaire",
    [
        "http://example.org/Questionnaire/intake",  # not a core resource: nothing to say
        "http://example.org/Questionnaire/intake|2.0",
    ],
)
def test_a_canonical_to_an_unknown_resource_passes(questionnaire):
    assert errors(response(questionnaire)) == set()


@pytest.mark.parametrize(
    "questionnaire",
    [
        "http://hl7.org/fhir/ValueSet/administrative-gender",  # a core ValueSet
        "http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1",
        "http://hl7.org/fhir/administrative-gender",  # a core CodeSystem
        "http://hl7.org/fhir/StructureDefinition/Patient",  # a core StructureDefinition
    ],
)
def test_a_canonical_to_a_core_resource_of_the_wrong_type_fails(questionnaire):
    assert errors(response(questionnaire)) == {
        ("bundle-canonical-target-type", "QuestionnaireResponse.questionnaire")
    }


def test_a_canonical_to_a_core_resource_of_the_right_type_passes():
    # Questionnaire.item.answerValueSet is canonical(ValueSet).
    questionnaire = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "item": [
            {
                "linkId": "1",
                "type": "choice",
                "answerValueSet": "http://hl7.org/fhir/ValueSet/administrative-gender",
            }
        ],
    }
    assert errors(questionnaire) == set()


def capability(definition, declared, *, system_level=False):
    param = {"name": "clinical-status", "definition": definition, "type": declared}
    rest = {"mode": "server"}
    if system_level:
        rest["searchParam"] = [param]
    else:
        rest["resource"] = [{"type": "AllergyIntolerance", "searchParam": [param]}]
    return {
        "resourceType": "CapabilityStatement",
        "status": "draft",
        "date": "2024-01-01",
        "kind": "requirements",
        "description": "What a server of ours supports",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [rest],
    }


CLINICAL_STATUS = "http://hl7.org/fhir/SearchParameter/AllergyIntolerance-clinical-status"


@pytest.mark.parametrize(
    ("definition", "declared"),
    [
        (CLINICAL_STATUS, "token"),  # the core parameter is a token
        ("http://example.org/SearchParameter/local", "date"),  # not a core definition: not judged
    ],
)
def test_search_parameters_of_their_definitions_type_pass(definition, declared):
    assert errors(capability(definition, declared)) == set()


@pytest.mark.parametrize("system_level", [False, True])
def test_a_search_parameter_of_another_type_fails(system_level):
    where = "CapabilityStatement.rest[0]" + ("" if system_level else ".resource[0]")
    assert errors(capability(CLINICAL_STATUS, "date", system_level=system_level)) == {
        ("capability-searchparam-type", f"{where}.searchParam[0].type")
    }


def searchset(self_url, *resources):
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {
                "fullUrl": f"http://example.org/fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


OBS = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "weight"}}
DOC = {
    "resourceType": "DocumentReference",
    "id": "d1",
    "status": "current",
    "content": [{"attachment": {"url": "http://example.org/d1"}}],
}


def test_a_search_across_types_matches_any_of_them():
    # R4 search: [base]?_type=Observation,DocumentReference searches both types.
    assert (
        errors(searchset("http://example.org/fhir?_type=Observation,DocumentReference&code=x", OBS, DOC))
        == set()
    )


def test_a_search_across_types_matches_no_other_type():
    patient = {"resourceType": "Patient", "id": "p1"}
    found = errors(searchset("http://example.org/fhir?_type=Observation,DocumentReference", OBS, patient))
    assert found == {("bundle-searchset-match-type", "Bundle.entry[1].resource")}


# -- required choice elements ---------------------------------------------------------------
# R4: MedicationRequest.medication[x] is 1..1 (CodeableConcept or Reference); UsageContext.value[x]
# and Group.characteristic.value[x] are 1..1 too.


def medication_request(**extra):
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def test_a_required_choice_present_under_either_type_passes():
    assert errors(medication_request(medicationCodeableConcept={"text": "aspirin"})) == set()
    assert errors(medication_request(medicationReference={"display": "aspirin"})) == set()


def test_a_missing_required_choice_is_one_error_even_when_another_field_fails():
    missing = ("structure-required", "MedicationRequest.medication[x]")
    assert errors(medication_request()) == {missing}
    # An authoredOn without a time zone fails the model too: the missing choice is still said.
    assert errors(medication_request(authoredOn="2020-11-11T10:58:14")) == {
        missing,
        ("schema-format-dateTime", "MedicationRequest.authoredOn"),
    }


def test_required_choices_inside_data_types_and_backbone_elements():
    vs = value_set("http://example.org/fhir/ValueSet/example")
    vs["useContext"] = [
        {"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "focus"}}
    ]
    assert errors(vs) == {("structure-required", "ValueSet.useContext[0].value[x]")}
    vs["useContext"][0]["valueCodeableConcept"] = {"text": "oncology"}
    assert errors(vs) == set()


def test_a_primitive_choice_given_only_by_its_extension_is_present():
    group = {
        "resourceType": "Group",
        "type": "person",
        "actual": False,
        "characteristic": [
            {
                "code": {"text": "smoker"},
                "exclude": False,
                "_valueBoolean": {
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                            "valueCode": "unknown",
                        }
                    ]
                },
            }
        ],
    }
    assert errors(group) == set()
    del group["characteristic"][0]["_valueBoolean"]
    assert errors(group) == {("structure-required", "Group.characteristic[0].value[x]")}
