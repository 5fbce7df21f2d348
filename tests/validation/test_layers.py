"""Layers 2-5, each with content it must catch and content it must pass."""

import pytest

from fhirconv.validation import Layer, validate_resource
from tests.validation.conftest import check, errors, example, found

CORE = (Layer.SCHEMA, Layer.STRUCTURE, Layer.BUNDLE, Layer.INVARIANT)


def run(resource, *layers):
    return check(resource, layers=layers or CORE)


# --- layer 2: JSON schema ---------------------------------------------------------


def test_schema_passes_a_valid_patient(patient):
    assert run(patient, Layer.SCHEMA) == []


def test_schema_reports_in_fhir_terms(patient):
    patient["birthDate"] = "1965-13-01"
    patient["active"] = "yes"
    patient["hairColour"] = "red"
    issues = run(patient, Layer.SCHEMA)
    assert [(i.location, i.message, i.rule) for i in issues] == [
        ("Patient.active", "expected a boolean, found a string", "schema-type"),
        ("Patient.birthDate", "'1965-13-01' is not a valid date", "schema-format-date"),
        ("Patient.hairColour", "unknown element 'hairColour'", "schema-unknown-element"),
    ]


def test_schema_locates_errors_inside_bundle_entries(bundle):
    bundle["entry"][3]["resource"]["status"] = 5
    issues = run(bundle, Layer.SCHEMA)
    assert [(i.location, i.rule) for i in issues] == [("Bundle.entry[3].resource.status", "schema-type")]


def test_code_outside_required_binding_in_a_bundle_entry(bundle):
    # The schema has no enum for MedicationRequest.status; the binding check catches it.
    bundle["entry"][3]["resource"]["status"] = "finished"
    issues = run(bundle)
    assert found(issues, "binding-required", "Bundle.entry[3].resource.status")


def test_schema_rejects_unknown_resource_type():
    issues = run({"resourceType": "Patinet", "id": "x"}, Layer.SCHEMA)
    assert found(issues, "schema-resource-type", "Patinet")


# --- layer 3: structure (R4B models, R4 wins) -------------------------------------


def test_structure_passes_valid_examples(patient, condition):
    assert run(patient, Layer.STRUCTURE) == []
    assert run(condition, Layer.STRUCTURE) == []


def test_structure_catches_missing_required_element(patient):
    patient["link"] = [{"other": {"reference": "Patient/x"}}]
    issues = run(patient, Layer.STRUCTURE)
    assert found(issues, "structure-required", "Patient.link[0].type")


def test_structure_does_not_apply_r4b_only_rules():
    # R4B dropped 18 R4 resource types; R4 content of those is checked by the schema only.
    resource = {"resourceType": "EffectEvidenceSynthesis", "status": "draft"}
    issues = run(resource, Layer.STRUCTURE)
    assert errors(issues) == []
    assert found(issues, "structure-not-checked", "EffectEvidenceSynthesis")


# --- layer 4: bundle integrity ------------------------------------------------------


def test_bundle_layer_passes_a_consistent_collection(bundle):
    assert errors(run(bundle, Layer.BUNDLE)) == []


def test_duplicate_full_url_is_bdl_7(bundle):
    bundle["entry"][2]["fullUrl"] = bundle["entry"][1]["fullUrl"]
    issues = run(bundle, Layer.BUNDLE)
    assert found(issues, "bdl-7", "Bundle.entry[2].fullUrl")


def test_full_url_must_agree_with_resource_id(bundle):
    bundle["entry"][1]["resource"]["id"] = "someone-else"
    assert found(run(bundle, Layer.BUNDLE), "bundle-fullurl-mismatch", "Bundle.entry[1].fullUrl")


def test_transaction_entries_need_request(bundle):
    bundle["type"] = "transaction"
    for entry in bundle["entry"][1:]:
        entry["request"] = {"method": "PUT", "url": "x"}
    issues = run(bundle, Layer.BUNDLE)
    assert [i.location for i in issues if i.rule == "bdl-3"] == ["Bundle.entry[0]"]


def test_urn_uuid_reference_must_resolve():
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "x"},
                    "subject": {"reference": "urn:uuid:22222222-2222-4222-8222-222222222222"},
                },
            }
        ],
    }
    issues = run(bundle, Layer.BUNDLE)
    assert found(issues, "bundle-reference-unresolved", "Bundle.entry[0].resource.subject.reference")
    assert errors(issues)


def test_reference_to_a_type_the_element_does_not_allow(condition):
    condition["subject"] = {"reference": "Practitioner/x"}
    issues = run(condition, Layer.BUNDLE)
    assert found(issues, "bundle-reference-target-type", "Condition.subject.reference")


def test_document_needs_composition_first():
    doc = {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {"system": "urn:x", "value": "1"},
        "timestamp": "2020-01-01T00:00:00Z",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Basic", "code": {"text": "x"}}}],
    }
    assert found(run(doc, Layer.BUNDLE), "bdl-11", "Bundle")


# --- layer 5: core invariants and required bindings ---------------------------------


def test_invariants_pass_valid_examples(patient, condition, bundle):
    for resource in (patient, condition, bundle):
        assert errors(run(resource, Layer.INVARIANT)) == []


@pytest.mark.parametrize(
    ("mutate", "rule", "location"),
    [
        (
            lambda r: (
                r.update(effectivePeriod={"start": "2020-02-01", "end": "2020-01-01"})
                or r.pop("effectiveDateTime", None)
            ),
            "per-1",
            "Observation.effectivePeriod",
        ),
        (lambda r: r.update(dataAbsentReason={"text": "lost"}), "obs-6", "Observation"),
        (
            lambda r: r.update(referenceRange=[{"appliesTo": [{"text": "adults"}]}]),
            "obs-3",
            "Observation.referenceRange[0]",
        ),
        (lambda r: r.update(extension=[{"url": "http://x"}]), "ext-1", "Observation.extension[0]"),
        (lambda r: r.update(subject={"reference": "#nothere"}), "ref-1", "Observation.subject"),
        (lambda r: r.update(contained=[{"resourceType": "Patient", "id": "lonely"}]), "dom-3", "Observation"),
        (lambda r: r.update(note=[{"id": "n1"}]), "ele-1", "Observation.note[0]"),
        (
            lambda r: r.update(
                status="final",
                category=[{"coding": [{"system": "http://x", "code": "y"}]}],
                valueQuantity={"value": 1, "code": "mm"},
            ),
            "qty-3",
            "Observation.valueQuantity",
        ),
    ],
)
def test_invariant_violations_are_caught(mutate, rule, location):
    obs = example("Observation-ecog-performance-status-jenny-m")
    mutate(obs)
    if rule == "qty-3":
        obs.pop("valueCodeableConcept", None)
        obs.pop("valueInteger", None)
    issues = run(obs, Layer.INVARIANT)
    assert found(issues, rule, location), [(i.rule, i.location) for i in issues]


def test_required_core_binding(condition):
    condition["clinicalStatus"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "cured"}]
    }
    issues = run(condition, Layer.INVARIANT)
    assert found(issues, "binding-required", "Condition.clinicalStatus")


def test_narrative_missing_is_a_best_practice_warning(patient):
    del patient["text"]
    issues = run(patient, Layer.INVARIANT)
    assert [(i.severity.value, i.rule) for i in issues] == [("warning", "dom-6")]
    assert issues[0].message.endswith("(best practice)")


def test_validate_resource_runs_every_layer_by_default(patient):
    patient["gender"] = "boy"
    issues = validate_resource(patient)
    assert found(issues, "schema-enum", "Patient.gender")
    # The same complaint from the binding check is not repeated.
    assert not found(issues, "binding-required", "Patient.gender")


def test_calendar_date_that_does_not_exist(patient):
    patient["birthDate"] = "1965-02-30"
    issues = check(patient)
    assert [(i.layer.value, i.rule, i.location) for i in issues if i.severity.value == "error"] == [
        ("structure", "structure-invalid-date", "Patient.birthDate")
    ]
    patient["birthDate"] = "1964-02-29"  # a leap year
    assert errors(check(patient)) == []


def test_unexpandable_core_binding_is_noted_once(bundle):
    # Attachment.contentType is bound (required) to mimetypes (BCP-13): not enumerable offline.
    photos = [{"contentType": "image/png", "url": f"http://example.org/{n}.png"} for n in range(3)]
    bundle["entry"][0]["resource"]["photo"] = photos
    issues = run(bundle, Layer.INVARIANT)
    notes = [i for i in issues if i.rule == "binding-not-checked"]
    assert len(notes) == 1
    assert "http://hl7.org/fhir/ValueSet/mimetypes" in notes[0].message


@pytest.mark.parametrize(
    ("div", "ok"),
    [
        ('<div xmlns="http://www.w3.org/1999/xhtml"><p>Jenny&#160;M &amp; family &lt;3&gt;</p></div>', True),
        # XHTML narrative knows XML's five entities and numeric references only.
        ('<div xmlns="http://www.w3.org/1999/xhtml"><p>Jenny&nbsp;M</p></div>', False),
        ('<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>', False),
        ('<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">a</p></div>', False),
        ('<div xmlns="http://www.w3.org/1999/xhtml">   </div>', False),
        ("<div>no namespace</div>", False),
    ],
)
def test_narrative_checks(patient, div, ok):
    patient["text"]["div"] = div
    issues = run(patient, Layer.INVARIANT)
    assert (not any(i.rule in ("txt-1", "txt-2") for i in issues)) is ok


def test_empty_narrative_is_txt_2_only(patient):
    patient["text"]["div"] = '<div xmlns="http://www.w3.org/1999/xhtml">\n  </div>'
    issues = run(patient, Layer.INVARIANT)
    assert [(i.rule, i.location) for i in issues] == [("txt-2", "Patient.text.div")]


def test_schema_errata_do_not_cry_wolf():
    # A no-break space is not whitespace in FHIR's (XML Schema) regexes.
    patient = {"resourceType": "Patient", "name": [{"family": "van\u00a0Dijk"}]}
    assert run(patient, Layer.SCHEMA) == []
    # 4.0.1 is R4's version even though the published schema's enum stops at 4.0.0.
    capability = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2020",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
    }
    assert run(capability, Layer.SCHEMA) == []
    # A canonical's extensions live in its _name twin, which the published schema omits.
    sd = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "derivedFrom": ["http://x/q"],
        "_derivedFrom": [{"extension": [{"url": "http://x/e", "valueString": "v"}]}],
    }
    assert run(sd, Layer.SCHEMA) == []
    # ... while real faults still fail.
    patient["name"][0]["family"] = 7
    assert [i.rule for i in run(patient, Layer.SCHEMA)] == ["schema-type"]


def test_references_resolve_within_a_nested_bundle():
    inner = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:a", "resource": {"resourceType": "Patient", "id": "a"}},
            {
                "fullUrl": "urn:uuid:b",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "x"},
                    "subject": {"reference": "urn:uuid:a"},
                },
            },
        ],
    }
    outer = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:c", "resource": inner}],
    }
    assert errors(run(outer, Layer.BUNDLE)) == []
    inner["entry"][1]["resource"]["subject"]["reference"] = "urn:uuid:zzz"
    assert found(
        run(outer, Layer.BUNDLE),
        "bundle-reference-unresolved",
        "Bundle.entry[0].resource.entry[1].resource.subject.reference",
    )
