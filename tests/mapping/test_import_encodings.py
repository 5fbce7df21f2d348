"""Other producers' encodings of the same facts, in hand-written bundles.

Each bundle is what a system other than fhirconv writes: older LOINC codes and
answers for receptors, LOINC TNM codes with AJCC values, SNOMED CT TNM values,
MedicationRequest and MedicationAdministration, and a side built into the body
site's code.  The import must read the facts, and report exactly what it leaves.
"""

import json

import pytest

from fhirconv.importing.reader import import_entries, read_entries

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
AJCC = "http://cancerstaging.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PATIENT = {"reference": "Patient/p1"}
PRIMARY = {"reference": "Condition/c1"}
DOI = "10.1000/encodings"


def concept(system, code, display=None):
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def observation(rid, code, **rest):
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": code,
        "subject": PATIENT,
        **rest,
    }


def primary(**rest):
    return {
        "resourceType": "Condition",
        "id": "c1",
        "meta": {
            "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]
        },
        "code": concept(SNOMED, "408643008", "Infiltrating duct carcinoma of breast (disorder)"),
        "subject": PATIENT,
        **rest,
    }


def bundle(*resources):
    patient = {"resourceType": "Patient", "id": "p1", "gender": "female"}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"http://example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in (patient, *resources)
        ],
    }


def read(document):
    data = json.dumps(document).encode()
    return import_entries(read_entries(data, "test.json"), doi=DOI)


def reasons(result):
    return {u.location: (u.reason, u.message) for u in result.unmapped}


# --- receptors: LOINC presence codes with LOINC or SNOMED CT answers ------------------------


def receptors_bundle():
    return bundle(
        primary(),
        observation(
            "er",
            concept(
                LOINC, "85337-4", "Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain"
            ),
            effectiveDateTime="2020-03-01",
            valueCodeableConcept=concept(LOINC, "LA6576-8", "Positive"),
        ),
        observation(
            "pr",
            concept(LOINC, "85339-0"),
            valueCodeableConcept=concept(LOINC, "LA6577-6", "Negative"),
        ),
        observation(
            "her2-ihc",
            concept(LOINC, "85319-2"),
            valueCodeableConcept=concept(SNOMED, "260385009", "Negative (qualifier value)"),
        ),
        observation(
            "her2-fish",
            concept(LOINC, "85318-4"),
            valueCodeableConcept=concept(SNOMED, "42425007", "Equivocal (qualifier value)"),
        ),
        observation(
            "er-percent",
            concept(LOINC, "85329-1"),
            valueQuantity={"value": 90, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
        ),
        observation(
            "her2-ratio",
            concept(LOINC, "85318-4"),
            valueString="greater than 1.8",
        ),
    )


def test_receptor_answers_in_loinc_and_snomed_are_read():
    result = read(receptors_bundle())
    markers = {m.id: m for m in result.case.tumor_markers}
    assert (markers["er"].marker, markers["er"].result, markers["er"].date) == (
        "ER",
        "positive",
        "2020-03-01",
    )
    assert (markers["pr"].marker, markers["pr"].result) == ("PR", "negative")
    assert (markers["her2-ihc"].marker, markers["her2-ihc"].result) == ("HER2", "negative")
    assert (markers["her2-fish"].marker, markers["her2-fish"].result) == ("HER2", "equivocal")
    assert (markers["er-percent"].marker, markers["er-percent"].percent) == ("ER", 90)
    # A ratio the model has no place for is named, not dropped.
    assert "her2-ratio" not in markers
    found = reasons(result)
    assert found["Bundle.entry[7].resource"] == (
        "not mapped",
        "HER2 test with no result the case model holds",
    )
    assert found["Bundle.entry[7].resource.valueString"] == ("not mapped", '"greater than 1.8"')


# --- staging: LOINC codes with AJCC values (mCODE STU1), SNOMED CT codes and values ---------


def ajcc_staging_bundle():
    def category(rid, code, value):
        return observation(
            rid,
            concept(LOINC, code),
            effectiveDateTime="2019-05-02",
            valueCodeableConcept=concept(AJCC, value),
        )

    return bundle(
        primary(
            bodySite=[concept(SNOMED, "80248007", "Left breast structure (body structure)")],
            stage=[
                {"summary": concept(AJCC, "3C", "IIIC"), "assessment": [{"reference": "Observation/group"}]}
            ],
        ),
        observation(
            "group",
            concept(LOINC, "21908-9", "Stage group.clinical Cancer"),
            focus=[PRIMARY],
            effectiveDateTime="2019-05-02",
            valueCodeableConcept=concept(AJCC, "3C", "IIIC"),
            hasMember=[
                {"reference": "Observation/t"},
                {"reference": "Observation/n"},
                {"reference": "Observation/m"},
            ],
        ),
        category("t", "21905-5", "cT3"),
        category("n", "21906-3", "cN3"),
        category("m", "21907-1", "cM0"),
    )


def test_loinc_tnm_with_ajcc_values_is_read():
    result = read(ajcc_staging_bundle())
    (primary_cancer,) = result.case.primaries
    (staging,) = primary_cancer.staging
    assert (staging.prefix, staging.t, staging.n, staging.m) == ("c", "T3", "N3", "M0")
    assert (staging.stage_group, staging.stated, staging.date) == ("IIIC", "IIIC", "2019-05-02")
    # The side built into 'Left breast structure' is the primary's laterality.
    assert primary_cancer.laterality == "left"
    assert primary_cancer.body_site is not None and primary_cancer.body_site.codes == ("site.left_breast",)
    assert result.unmapped == [], result.unmapped


def snomed_staging_bundle(summary_code="1222769001"):
    def category(rid, code, value):
        return observation(
            rid,
            concept(SNOMED, code),
            effectiveDateTime="2018-03-16",
            valueCodeableConcept=concept(SNOMED, value),
        )

    return bundle(
        primary(
            bodySite=[concept(SNOMED, "76752008", "Breast structure (body structure)")],
            stage=[
                {
                    "summary": concept(SNOMED, summary_code),
                    "assessment": [{"reference": "Observation/group"}],
                }
            ],
        ),
        observation(
            "group",
            concept(SNOMED, "399537006", "Clinical TNM stage grouping"),
            focus=[PRIMARY],
            effectiveDateTime="2018-03-16",
            valueCodeableConcept=concept(
                SNOMED, "1222769001", "American Joint Committee on Cancer stage IIB (qualifier value)"
            ),
        ),
        # As in the mCODE examples: categories that no stage group lists as members.
        category("t", "399504009", "1228938002"),
        category("n", "399534004", "1229967007"),
        category("m", "399387003", "1229901006"),
    )


def test_snomed_tnm_categories_join_the_stage_group_of_the_same_kind_and_date():
    result = read(snomed_staging_bundle())
    (staging,) = result.case.primaries[0].staging
    assert (staging.prefix, staging.t, staging.n, staging.m, staging.stage_group) == (
        "c",
        "T3",
        "N0",
        "M0",
        "IIB",
    )
    assert staging.stated == "American Joint Committee on Cancer stage IIB (qualifier value)"
    assert result.unmapped == [], result.unmapped


def test_a_stage_summary_that_contradicts_its_assessment_is_reported():
    result = read(snomed_staging_bundle(summary_code="1222806003"))  # IIIC against IIB
    (staging,) = result.case.primaries[0].staging
    assert staging.stage_group == "IIB"
    assert reasons(result)["Bundle.entry[1].resource.stage"] == (
        "conflicting facts",
        "stage summary IIIC but its assessment Observation/group says IIB: kept IIB",
    )


def test_a_category_that_fits_no_stage_group_is_reported():
    document = snomed_staging_bundle()
    document["entry"][3]["resource"]["effectiveDateTime"] = "2018-04-01"  # another day than the group
    result = read(document)
    assert result.case.primaries[0].staging[0].t is None
    assert reasons(result)["Bundle.entry[3].resource"] == ("not mapped", "a TNM category no stage group has")


def test_an_ajcc_code_that_is_no_category_is_reported():
    document = ajcc_staging_bundle()
    document["entry"][3]["resource"]["valueCodeableConcept"] = concept(AJCC, "cT9")
    result = read(document)
    assert result.case.primaries[0].staging[0].t is None
    found = reasons(result)
    assert found["Bundle.entry[3].resource.valueCodeableConcept.coding[0]"] == (
        "unknown code",
        "'cT9' is not an AJCC T category",
    )


# --- medications: requests and administrations -------------------------------------------

INTENT_EXT = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-procedure-intent"


def medication(rtype, rid, rxnorm, **rest):
    return {
        "resourceType": rtype,
        "id": rid,
        "medicationCodeableConcept": concept(RXNORM, rxnorm),
        "subject": PATIENT,
        **rest,
    }


def medications_bundle():
    return bundle(
        primary(),
        medication(
            "MedicationRequest",
            "anastrozole",
            "84857",
            extension=[{"url": INTENT_EXT, "valueCodeableConcept": concept(SNOMED, "363676003")}],
            status="active",
            intent="order",
            authoredOn="2020-01-05",
            reasonReference=[PRIMARY],
            dosageInstruction=[{"timing": {"repeat": {"boundsPeriod": {"start": "2020-01-06"}}}}],
        ),
        medication(
            "MedicationRequest",
            "capecitabine",
            "194000",
            status="cancelled",
            intent="order",
            statusReason={"text": "financial reasons"},
        ),
        medication("MedicationRequest", "fulvestrant", "282357", status="active", intent="proposal"),
        medication(
            "MedicationAdministration",
            "paclitaxel-1",
            "56946",
            status="completed",
            effectiveDateTime="2019-06-01",
            reasonReference=[PRIMARY],
        ),
        medication(
            "MedicationAdministration",
            "doxorubicin-1",
            "3639",
            status="not-done",
            statusReason=[{"text": "patient declined"}],
            effectivePeriod={"start": "2019-05-01", "end": "2019-05-02"},
        ),
        medication(
            "MedicationAdministration",
            "wrong",
            "3639",
            status="entered-in-error",
            effectiveDateTime="2019-05-01",
        ),
        medication(
            "MedicationStatement",
            "exemestane",
            "258494",
            status="on-hold",
            effectiveDateTime="2021-02-03",
        ),
    )


def test_requests_and_administrations_become_therapies():
    result = read(medications_bundle())
    therapies = {t.id: t for t in result.case.therapies}
    anastrozole = therapies["anastrozole"]
    assert anastrozole.agents[0].codes == ("rx.anastrozole",)
    assert (anastrozole.status, anastrozole.intent, anastrozole.primary) == ("active", "palliative", "c1")
    assert anastrozole.period is not None and (anastrozole.period.start, anastrozole.period.end) == (
        "2020-01-06",
        None,
    )
    capecitabine = therapies["capecitabine"]
    assert (capecitabine.status, capecitabine.reason_not_taken) == ("not-taken", "financial reasons")
    assert therapies["fulvestrant"].status == "intended"
    paclitaxel = therapies["paclitaxel-1"]
    assert paclitaxel.status == "completed" and paclitaxel.primary == "c1"
    assert paclitaxel.period is not None and (paclitaxel.period.start, paclitaxel.period.end) == (
        "2019-06-01",
        "2019-06-01",
    )
    doxorubicin = therapies["doxorubicin-1"]
    assert (doxorubicin.status, doxorubicin.reason_not_taken) == ("not-taken", "patient declined")
    assert "wrong" not in therapies
    assert therapies["exemestane"].status == "unknown"
    found = reasons(result)
    # The date an order was written is not when it was taken: reported, not used.
    assert found["Bundle.entry[2].resource.authoredOn"] == ("not mapped", '"2020-01-05"')
    assert found["Bundle.entry[7].resource"] == (
        "entered in error",
        "a MedicationAdministration entered in error states no fact",
    )
    assert found["Bundle.entry[8].resource.status"] == ("translated", "status 'on-hold' is held as 'unknown'")
    assert len(found) == 3, found


# --- laterality built into the body site's code -----------------------------------------


def test_a_side_built_into_the_site_code_is_the_laterality():
    procedure = {
        "resourceType": "Procedure",
        "id": "surgery",
        "status": "completed",
        "code": concept(SNOMED, "735085002", "Lumpectomy of left breast (procedure)"),
        "subject": PATIENT,
        "performedDateTime": "2019-04-02",
        "bodySite": [concept(SNOMED, "73056007", "Right breast structure")],
    }
    result = read(bundle(procedure))
    (surgery,) = result.case.procedures
    assert surgery.laterality == "right"
    assert result.unmapped == []


@pytest.mark.parametrize("side", ["right", "bilateral"])
def test_a_laterality_that_contradicts_the_site_code_is_reported(side):
    codes = {"right": "24028007", "bilateral": "51440002"}
    site = concept(SNOMED, "80248007", "Left breast structure (body structure)")
    site["extension"] = [
        {
            "url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier",
            "valueCodeableConcept": concept(SNOMED, codes[side]),
        }
    ]
    procedure = {
        "resourceType": "Procedure",
        "id": "surgery",
        "status": "completed",
        "code": concept(SNOMED, "735085002"),
        "subject": PATIENT,
        "performedDateTime": "2019-04-02",
        "bodySite": [site],
    }
    result = read(bundle(procedure))
    assert result.case.procedures[0].laterality == side
    assert result.case.procedures[0].body_site.codes == ()
    assert reasons(result)["Bundle.entry[1].resource.bodySite[0]"] == (
        "conflicting facts",
        f"the site's code says left, its laterality {side}: kept {side}, and the site without the code "
        "site.left_breast",
    )


def test_a_medication_named_by_reference_is_the_agent():
    medication = {
        "resourceType": "Medication",
        "id": "med-1",
        "code": concept(RXNORM, "38409", "Toremifene"),
        "form": {"text": "tablet"},
    }
    statement = {
        "resourceType": "MedicationStatement",
        "id": "toremifene",
        "status": "completed",
        "medicationReference": {"reference": "Medication/med-1"},
        "subject": PATIENT,
    }
    # The statement comes before the Medication it names.
    result = read(bundle(statement, medication))
    (therapy,) = result.case.therapies
    assert (therapy.agents[0].text, therapy.agents[0].codes) == ("Toremifene", ("rx.toremifene",))
    assert reasons(result) == {"Bundle.entry[2].resource.form": ("not mapped", '{"text": "tablet"}')}


def _statement(**medication):
    return {
        "resourceType": "MedicationStatement",
        "id": "agent",
        "status": "completed",
        "subject": PATIENT,
        "effectiveDateTime": "2019-05-01",
        **medication,
    }


def test_a_contained_medication_is_the_agent():
    contained = {
        "resourceType": "Medication",
        "id": "m1",
        "code": concept(RXNORM, "38409", "Toremifene"),
        "form": {"text": "tablet"},
    }
    statement = _statement(contained=[contained], medicationReference={"reference": "#m1"})
    result = read(bundle(statement))
    (therapy,) = result.case.therapies
    assert (therapy.agents[0].text, therapy.agents[0].codes) == ("Toremifene", ("rx.toremifene",))
    form = "Bundle.entry[1].resource.contained[0].form"
    assert reasons(result) == {form: ("not mapped", '{"text": "tablet"}')}


def test_the_reference_display_names_an_agent_the_bundle_lacks():
    named = {"reference": "Medication/x", "display": "Letrozole"}
    result = read(bundle(_statement(medicationReference=named)))
    (therapy,) = result.case.therapies
    assert therapy.agents[0].text == "Letrozole" and therapy.agents[0].codes == ()
    assert reasons(result) == {
        "Bundle.entry[1].resource.medicationReference.reference": (
            "missing reference",
            "Medication/x is not a resource of the bundle",
        )
    }


@pytest.mark.parametrize(("status", "held"), [("not-taken", "refused"), ("active", None), ("stopped", None)])
def test_a_status_reason_is_a_reason_not_taken_only_when_not_taken(status, held):
    statement = _statement(status=status, statusReason=[{"text": "refused"}])
    statement["medicationCodeableConcept"] = {"text": "Letrozole"}
    result = read(bundle(statement))
    (therapy,) = result.case.therapies
    assert therapy.reason_not_taken == held
    left = {} if held else {"Bundle.entry[1].resource.statusReason": ("not mapped", '[{"text": "refused"}]')}
    assert reasons(result) == left


UNREADABLE = [
    (
        {"medicationCodeableConcept": concept(RXNORM, "999999999")},
        "medicationCodeableConcept",
        "its medication cannot be read (no text, no display, no code in fhirconv's terminology table)",
    ),
    (
        {"medicationReference": {"reference": "Medication/elsewhere"}},
        "medicationReference",
        "its medication cannot be read (no readable Medication, no display)",
    ),
    (
        {"medicationReference": {"reference": "#absent"}},
        "medicationReference",
        "its medication cannot be read (no readable Medication, no display)",
    ),
    ({}, "", "it has no medication[x]"),
]


@pytest.mark.parametrize(("medication", "element", "why"), UNREADABLE)
@pytest.mark.parametrize("rtype", ["MedicationStatement", "MedicationRequest", "MedicationAdministration"])
def test_a_therapy_whose_agent_cannot_be_read_is_reported_not_named(rtype, medication, element, why):
    """No made-up agent: the resource is left out, with the element that fails to name one."""
    resource = {
        **_statement(**medication),
        "resourceType": rtype,
        "reasonCode": [concept(SNOMED, "254837009", "Malignant neoplasm of breast")],
        "note": [{"text": "given at the clinic"}],
    }
    if rtype == "MedicationRequest":
        resource.update(intent="order", authoredOn=resource.pop("effectiveDateTime"))
    result = read(bundle(resource))
    assert result.case.therapies == ()
    where = "Bundle.entry[1].resource" + (f".{element}" if element else "")
    assert reasons(result)[where] == (
        "no agent",
        f"the {rtype} is not imported: {why}, and a therapy names what was given",
    )
    # Nothing else of the left-out resource is reported piecemeal: the line above covers it.
    others = {loc for loc in reasons(result) if not loc.startswith(where)}
    assert not {loc for loc in others if loc.startswith("Bundle.entry[1]")}, reasons(result)
    assert all("unnamed" not in u.message for u in result.unmapped)


def test_an_unreadable_agent_code_is_reported_with_the_left_out_therapy():
    result = read(bundle(_statement(medicationCodeableConcept=concept(RXNORM, "999999999"))))
    assert reasons(result)["Bundle.entry[1].resource.medicationCodeableConcept.coding[0]"] == (
        "unknown code",
        "http://www.nlm.nih.gov/research/umls/rxnorm|999999999 is not in fhirconv's terminology table",
    )


def test_a_category_two_stage_groups_could_have_is_reported_not_guessed():
    document = snomed_staging_bundle()
    second = json.loads(json.dumps(document["entry"][2]))
    second["resource"]["id"] = "group-2"
    second["fullUrl"] = second["fullUrl"].replace("/group", "/group-2")
    document["entry"].append(second)
    result = read(document)
    assert all(s.t is None for s in result.case.primaries[0].staging)
    assert reasons(result)["Bundle.entry[3].resource"] == (
        "not mapped",
        "a TNM category 2 stage groups could have",
    )


# --- the specimen's collecting procedure -------------------------------------------------------


def test_specimen_procedure_read_from_both_extensions():
    """fhirconv writes the R5 cross-version extension on Specimen.collection; bundles written
    before carried workflow-supportingInfo on the Specimen (not allowed there in R4), still read."""
    from fhirconv.cases import load_case
    from fhirconv.mapping.bundle import build_bundle
    from fhirconv.mapping.observations import COLLECTION_PROCEDURE_EXT, SUPPORTING_INFO_EXT

    case = load_case("case1")
    written = build_bundle(case, "collection")
    specimens = [e["resource"] for e in written["entry"] if e["resource"]["resourceType"] == "Specimen"]
    with_procedure = [s for s in specimens if "extension" in s.get("collection", {})]
    assert with_procedure and all(
        s["collection"]["extension"][0]["url"] == COLLECTION_PROCEDURE_EXT for s in with_procedure
    )
    expected = {s.id: s.procedure for s in case.specimens}
    assert any(expected.values())
    old = json.loads(json.dumps(written))
    for entry in old["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Specimen" and "extension" in resource.get("collection", {}):
            ext = resource["collection"].pop("extension")[0]
            resource["extension"] = [{"url": SUPPORTING_INFO_EXT, "valueReference": ext["valueReference"]}]
    for document in (written, old):
        data = json.dumps(document).encode()
        result = import_entries(read_entries(data, "case1.json", validate=False), doi=case.report.doi)
        assert {s.id: s.procedure for s in result.case.specimens} == expected
        assert not [u for u in result.unmapped if "Specimen" in u.location and "extension" in u.location]


# --- values FHIR's schema allows and the case model refuses ---------------------------------


def test_values_the_case_model_refuses_are_left_out_and_the_rest_imported():
    reversed_period = _statement(
        id="reversed",
        medicationCodeableConcept={"text": "Letrozole"},
        effectivePeriod={"start": "2020-05-01", "end": "2020-01-01"},
    )
    reversed_period.pop("effectiveDateTime")
    control = _statement(id="control", medicationCodeableConcept={"text": "Tamox\u0001ifen"})
    noted = _statement(
        id="noted", medicationCodeableConcept={"text": "Anastrozole"}, note=[{"text": "ok\u0002"}]
    )
    blank = primary(code={**concept(SNOMED, "254837009"), "text": "   "})
    result = read(bundle(reversed_period, control, noted, blank))
    therapies = {t.id: t for t in result.case.therapies}
    assert sorted(therapies) == ["noted", "reversed"]
    assert therapies["reversed"].period is None and therapies["noted"].note is None
    # Blank text names nothing: the code's display is the condition's name.
    assert result.case.primaries[0].condition.text == "Malignant neoplasm of breast (disorder)"
    control_char = "a control character; only tab, line feed and carriage return are allowed"
    assert reasons(result) == {
        "Bundle.entry[1].resource": (
            "not held",
            "period: the period ends (2020-01-01) before it starts (2020-05-01); left out",
        ),
        "Bundle.entry[2].resource": (
            "not held",
            f"therapies.1 (control): must not contain U+0001 (at position 5): {control_char}; the fact is "
            "left out",
        ),
        "Bundle.entry[3].resource": (
            "not held",
            f"note: must not contain U+0002 (at position 2): {control_char}; left out",
        ),
    }


def test_a_source_the_case_model_cannot_hold_is_left_out_and_reported():
    long = "https://example.org/" + "a" * 5000  # a valid uri; the model holds 4,096 characters
    document = bundle(_statement(medicationCodeableConcept={"text": "Letrozole"}))
    for entry in document["entry"]:
        entry["resource"]["meta"] = {"source": long}
    result = read(document)
    assert result.case.report.source is None and len(result.case.therapies) == 1
    (line,) = [u for u in result.unmapped if u.reason == "not held"]
    assert (line.location, line.message) == (
        "report.source",
        "source: String should have at most 4096 characters; left out",
    )
