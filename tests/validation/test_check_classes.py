"""The check classes the HL7 validator applies that fhirconv added (issue 10, section 2).

Each has a valid and an invalid case written from the R4 specification: Bundle (fullUrl,
search and document pages), Questionnaire que-12 and Condition con-3 in their corrected
form, invariants that evaluate to nothing, base64Binary, Attachment.size and .hash, string
length, extensions (unknown, context of use, value type).
"""

import base64
import copy
import hashlib

import pytest

from fhirconv.validation import Layer, validate_resource


def rules(resource, layer=None):
    issues = validate_resource(copy.deepcopy(resource), layers=(layer,) if layer else None)
    return {(i.rule, i.location) for i in issues if i.severity.value == "error"}


def rule_names(resource, layer=None):
    return {rule for rule, _ in rules(resource, layer)}


def patient(pid="p1", **extra):
    return {"resourceType": "Patient", "id": pid, **extra}


# -- bundles by type ------------------------------------------------------------------------


def collection(full_url):
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": full_url, "resource": patient()}],
    }


def test_full_url_is_absolute_outside_transactions():
    assert "bundle-fullurl-relative" not in rule_names(
        collection("http://example.org/fhir/Patient/p1"), Layer.BUNDLE
    )
    assert "bundle-fullurl-relative" not in rule_names(
        collection("urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0")
    )
    assert ("bundle-fullurl-relative", "Bundle.entry[0].fullUrl") in rules(
        collection("Patient/p1"), Layer.BUNDLE
    )
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "Patient/p1",
                "resource": patient(),
                "request": {"method": "PUT", "url": "Patient/p1"},
            }
        ],
    }
    assert "bundle-fullurl-relative" not in rule_names(transaction, Layer.BUNDLE)


def searchset(*entries, links=(("self", "http://example.org/fhir/Patient?name=x"),)):
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": r, "url": u} for r, u in links],
        "entry": list(entries),
    }


def match(resource, mode="match"):
    return {
        "fullUrl": f"http://example.org/fhir/{resource['resourceType']}/{resource.get('id', 'x')}",
        "resource": resource,
        "search": {"mode": mode},
    }


def test_a_valid_searchset():
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "warning", "code": "informational"}],
    }
    bundle = searchset(
        match(patient()),
        match({"resourceType": "Organization", "id": "o1"}, "include"),
        {"resource": outcome, "search": {"mode": "outcome"}},
        links=(("self", "http://example.org/fhir/Patient?name=x"), ("next", "http://example.org/fhir/p2")),
    )
    assert rules(bundle, Layer.BUNDLE) == set()


def test_searchset_links_appear_once():
    bundle = searchset(
        links=(("self", "http://a/Patient?x=1"), ("next", "http://a/2"), ("next", "http://a/3"))
    )
    assert rules(bundle, Layer.BUNDLE) == {("bundle-searchset-link", "Bundle.link[2]")}


def test_searchset_relations_other_than_paging_and_self_may_repeat():
    bundle = searchset(
        links=(
            ("self", "http://a/Patient?x=1"),
            ("alternate", "http://a/Patient?x=1&_format=xml"),
            ("alternate", "http://a/Patient?x=1&_format=ttl"),
        )
    )
    assert rules(bundle, Layer.BUNDLE) == set()


@pytest.mark.parametrize("btype", ["collection", "document", "message", "batch-response"])
def test_paging_links_are_prohibited_outside_search_and_history(btype):
    bundle = collection("http://example.org/fhir/Patient/p1")
    bundle["type"] = btype
    bundle["link"] = [
        {"relation": "self", "url": "http://a/b1"},
        {"relation": "next", "url": "http://a/b2"},
        {"relation": "self", "url": "http://a/b3"},
    ]
    found = {r for r in rules(bundle, Layer.BUNDLE) if r[0].startswith("bundle-link")}
    assert found == {
        ("bundle-link-paging", "Bundle.link[1].relation"),
        ("bundle-link-self", "Bundle.link[2]"),
    }


def test_history_pages_like_a_searchset():
    bundle = collection("http://example.org/fhir/Patient/p1")
    bundle["type"] = "history"
    bundle["link"] = [{"relation": "self", "url": "http://a/_history"}, {"relation": "next", "url": "http://a/2"}]
    assert not {r for r in rule_names(bundle, Layer.BUNDLE) if r.startswith("bundle-link")}


def test_searchset_includes_have_an_id():
    organization = {"resourceType": "Organization"}
    bundle = searchset(match(patient()), {"resource": organization, "search": {"mode": "include"}})
    assert ("bundle-searchset-match-id", "Bundle.entry[1].resource") in rules(bundle, Layer.BUNDLE)


def test_searchset_matches_have_an_id_and_the_searched_type():
    no_id = {"resourceType": "Patient"}
    bundle = searchset(
        {"resource": no_id, "search": {"mode": "match"}},
        match({"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"}}),
    )
    assert rules(bundle, Layer.BUNDLE) == {
        ("bundle-searchset-match-id", "Bundle.entry[0].resource"),
        ("bundle-searchset-match-type", "Bundle.entry[1].resource"),
    }


def test_searchset_outcome_entries_are_operation_outcomes():
    bundle = searchset({"resource": patient(), "search": {"mode": "outcome"}})
    assert ("bundle-searchset-outcome", "Bundle.entry[0].resource") in rules(bundle, Layer.BUNDLE)


def document(*resources, reference="Patient/p1"):
    composition = {
        "resourceType": "Composition",
        "id": "c1",
        "status": "final",
        "type": {"text": "summary"},
        "date": "2020-01-01",
        "author": [{"display": "A. Author"}],
        "title": "Summary",
        "subject": {"reference": reference},
    }
    entries = [composition, *resources]
    return {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {
            "system": "urn:ietf:rfc:3986",
            "value": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e1",
        },
        "timestamp": "2020-01-01T00:00:00Z",
        "entry": [
            {"fullUrl": f"http://example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in entries
        ],
    }


def test_document_references_resolve_to_one_entry_of_the_named_version():
    assert rules(document(patient()), Layer.BUNDLE) == set()
    versioned = patient(meta={"versionId": "2"})
    assert rules(document(versioned, reference="Patient/p1/_history/2"), Layer.BUNDLE) == set()
    found = rules(document(versioned, reference="Patient/p1/_history/3"), Layer.BUNDLE)
    assert ("bundle-reference-version", "Bundle.entry[0].resource.subject.reference") in found
    twice = document(patient(), patient())
    twice["entry"][2]["fullUrl"] = "http://other.org/fhir/Patient/p1"
    assert ("bundle-reference-ambiguous", "Bundle.entry[0].resource.subject.reference") in rules(
        twice, Layer.BUNDLE
    )


# -- corrected invariants --------------------------------------------------------------------


def questionnaire(conditions, behavior=None):
    item = {
        "linkId": "2",
        "type": "string",
        "text": "Why?",
        "enableWhen": [{"question": "1", "operator": "exists", "answerBoolean": True}] * conditions,
    }
    if behavior:
        item["enableBehavior"] = behavior
    return {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [{"linkId": "1", "type": "boolean", "text": "Any?"}, item],
    }


def test_que_12_two_enable_whens_need_an_enable_behavior():
    # R4 publishes "enableWhen.count() > 2"; the rule says "more than one".
    assert "que-12" not in rule_names(questionnaire(1))
    assert "que-12" in rule_names(questionnaire(2))
    assert "que-12" not in rule_names(questionnaire(2, "any"))


def condition(category, **extra):
    return {
        "resourceType": "Condition",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": category}
                ]
            }
        ],
        "code": {"text": "asthma"},
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def warnings(resource):
    return {
        i.rule
        for i in validate_resource(resource, layers=(Layer.INVARIANT,))
        if i.severity.value == "warning"
    }


def test_con_3_asks_for_clinical_status_on_problem_list_items_only():
    # The published expression fails on every category; the corrected one reads the codings.
    assert "con-3" not in warnings(condition("encounter-diagnosis"))
    assert "con-3" in warnings(condition("problem-list-item"))
    active = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
    }
    assert "con-3" not in warnings(condition("problem-list-item", clinicalStatus=active))


def test_an_invariant_that_evaluates_to_nothing_fails():
    # The HL7 validator counts an empty answer as a failure, as it does false.
    from fhirconv.validation import invariants

    issues: list = []
    scope = type("S", (), {"resource": {}, "root": {}})()
    invariants._run("x-1", "error", "must hold", "{}", {}, "Patient", scope, "Patient", issues, set())
    assert [(i.rule, i.message) for i in issues] == [("x-1", "x-1: must hold")]
    issues.clear()
    invariants._run("x-2", "error", "must hold", "true", {}, "Patient", scope, "Patient", issues, set())
    assert issues == []


# -- data types ----------------------------------------------------------------------------


def document_reference(**attachment):
    return {"resourceType": "DocumentReference", "status": "current", "content": [{"attachment": attachment}]}


DATA = base64.b64encode(b"scalp nodule, 2 cm").decode()
SHA1 = base64.b64encode(hashlib.sha1(b"scalp nodule, 2 cm").digest()).decode()
AT = "DocumentReference.content[0].attachment"


def test_a_correct_attachment_passes():
    assert rules(document_reference(contentType="text/plain", data=DATA, size=18, hash=SHA1)) == set()


@pytest.mark.parametrize(
    ("attachment", "expected"),
    [
        ({"data": DATA, "size": 19}, ("structure-attachment-size", f"{AT}.size")),
        (
            {"data": DATA, "hash": base64.b64encode(hashlib.sha1(b"other").digest()).decode()},
            ("structure-attachment-hash", f"{AT}.hash"),
        ),
        ({"data": "c2Nh=bHA="}, ("structure-base64", f"{AT}.data")),
        ({"data": "c2NhbHA"}, ("structure-base64", f"{AT}.data")),
    ],
)
def test_attachment_and_base64_faults(attachment, expected):
    found = rules(document_reference(contentType="text/plain", **attachment))
    assert expected in found
    assert not any(rule == "structure-base64-decode" for rule, _ in found)  # said once, in FHIR's words


def test_base64_may_hold_whitespace():
    wrapped = DATA[:8] + "\n" + DATA[8:]
    assert rules(document_reference(contentType="text/plain", data=wrapped, size=18)) == set()


def test_strings_over_one_megabyte():
    at_limit = {"resourceType": "Basic", "code": {"text": "x" * (1024 * 1024)}}
    assert "structure-string-too-long" not in rule_names(at_limit)
    over = {"resourceType": "Basic", "code": {"text": "x" * (1024 * 1024 + 1)}}
    assert ("structure-string-too-long", "Basic.code.text") in rules(over)


# -- extensions ------------------------------------------------------------------------------


def test_unknown_extensions_outside_hl7_are_errors_inside_information():
    outside = patient(extension=[{"url": "https://acme.example.com/fhir/eye-colour", "valueString": "green"}])
    found = validate_resource(outside)
    assert [(i.severity.value, i.rule, i.location) for i in found if i.rule.startswith("extension")] == [
        ("error", "extension-unknown", "Patient.extension[0]")
    ]
    inside = patient(
        extension=[{"url": "http://hl7.org/fhir/StructureDefinition/not-loaded", "valueString": "x"}]
    )
    assert [i.severity.value for i in validate_resource(inside) if "extension" in i.rule] == ["information"]


def test_extension_context_of_use():
    # patient-birthPlace: context Patient.
    birth_place = {
        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
        "valueAddress": {"city": "Oslo"},
    }
    assert "extension-context" not in rule_names(patient(extension=[birth_place]))
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "extension": [birth_place],
    }
    assert ("extension-context", "Observation.extension[0]") in rules(observation)


def test_extension_value_type_from_its_definition():
    birth_place = {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueString": "Oslo"}
    assert ("profile-type", "Patient.extension[0].valueString") in rules(patient(extension=[birth_place]))


# -- StructureDefinitions as input -----------------------------------------------------------


def test_published_profiles_have_only_legal_paths(fhir_package):
    import json

    checked = 0
    for name in ("hl7.fhir.uv.ips", "hl7.fhir.us.mcode"):
        for path in sorted(fhir_package(name).glob("StructureDefinition-*.json")):
            sd = json.loads(path.read_text())
            found = [i for i in validate_resource(sd, layers=(Layer.PROFILE,)) if i.rule == "sd-illegal-path"]
            assert found == [], (path.name, found[:2])
            checked += sd.get("derivation") == "constraint"
    assert checked > 60


def test_an_illegal_differential_path_is_reported(fhir_package):
    import json

    sd = json.loads((fhir_package("hl7.fhir.uv.ips") / "StructureDefinition-Patient-uv-ips.json").read_text())
    sd["differential"]["element"].append({"id": "Patient.name.surname", "path": "Patient.name.surname"})
    sd["differential"]["element"].append({"id": "Observation.code", "path": "Observation.code"})
    found = [
        (i.location, i.message)
        for i in validate_resource(sd, layers=(Layer.PROFILE,))
        if i.rule == "sd-illegal-path"
    ]
    n = len(sd["differential"]["element"])
    assert found == [
        (
            f"StructureDefinition.differential.element[{n - 2}].path",
            "differential element path 'Patient.name.surname' names 'Patient.name.surname', which Patient "
            "does not have; no snapshot can be generated",
        ),
        (
            f"StructureDefinition.differential.element[{n - 1}].path",
            "differential element path 'Observation.code' does not start with the type the profile "
            "constrains (Patient); no snapshot can be generated",
        ),
    ]


def test_choice_type_and_data_type_paths_are_legal():
    from fhirconv.validation.structure_definitions import _problem

    for path in (
        "Observation.valueQuantity.code",
        "Observation.value[x].unit",
        "Observation.code.coding.system",
        "Observation.component.value[x]",
        "Patient.birthDate.extension",
        "Questionnaire.item.item.linkId",
        "Extension.value[x]",
    ):
        assert _problem(path.split(".")[0], path) is None, path
    assert _problem("Observation", "Observation.valueQuantity.coding") is not None
