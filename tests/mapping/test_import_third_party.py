"""Third-party content: the mCODE STU4 breast-cancer examples (hl7.fhir.us.mcode@4.0.0, CC0).

The Jenny M patient bundle, and every example resource about Jenny M read from
its own file, import with the facts they state; the import report lists only
what the case model does not hold.
"""

import json
import re
from collections import defaultdict
from pathlib import Path

from fhirconv.importing.reader import import_entries, read_entries, read_files
from fhirconv.model.load import load_case_file

MCODE = Path(__file__).resolve().parents[1] / "data" / "mcode-examples"
JENNY = MCODE / "Bundle-mcode-patient-bundle-jenny-m.json"
DOI = "10.1000/example"
PRIMARY = "primary-cancer-condition-jenny-m"


def _import():
    return import_entries(read_entries(JENNY.read_bytes(), str(JENNY)), doi=DOI)


def _jenny_files():
    """Every example resource about Jenny M, each from its own file, the Patient first."""
    files = sorted(
        path
        for path in MCODE.glob("*.json")
        if not path.name.startswith("Bundle-") and '"Patient/cancer-patient-jenny-m"' in path.read_text()
    )
    return [MCODE / "Patient-cancer-patient-jenny-m.json", *files]


def test_a_bundle_naming_no_publication_records_the_file_it_came_from(run_cli, tmp_path):
    out = tmp_path / "jenny.yaml"
    result = run_cli("import", JENNY, "-o", out)
    assert result.code == 0, result.err
    report = load_case_file(out).report
    assert (report.doi, report.source, report.files) == (None, None, (JENNY.name,))
    # Exported again it is valid FHIR, and it reads back the same.
    bundle = tmp_path / "jenny.json"
    assert run_cli("export", out, "-o", bundle).code == 0
    assert run_cli("validate", bundle).code == 0
    assert run_cli("roundtrip", out).code == 0


def test_a_doi_given_is_recorded_with_the_file():
    report = _import().case.report
    assert (report.doi, report.files) == (DOI, ())
    with_file = import_entries(read_entries(JENNY.read_bytes(), str(JENNY)), DOI, (JENNY.name,))
    assert (with_file.case.report.doi, with_file.case.report.files) == (DOI, (JENNY.name,))


def test_jenny_bundle_imports_the_facts_it_states():
    case = _import().case
    assert (case.id, case.report.doi) == ("cancer-patient-jenny-m", DOI)
    assert case.patient.sex == "female"
    assert case.patient.ethnicity is not None and case.patient.ethnicity.text == "White"

    (primary,) = case.primaries
    assert primary.id == PRIMARY
    assert primary.condition.text == "Primary malignant neoplasm of female left breast (disorder)"
    assert primary.histology is not None and primary.histology.codes == ("morphology.idc",)
    assert (primary.diagnosis_date, primary.clinical_status) == ("2018-03-16", "remission")
    # The clinical categories are linked to no stage group; they join the one of their kind and date.
    (staging,) = primary.staging
    assert (staging.prefix, staging.t, staging.n, staging.m) == ("c", "T3", "N0", "M0")
    assert (staging.stage_group, staging.date) == ("IIB", "2018-03-16")

    markers = {m.marker: m for m in case.tumor_markers}
    assert {name: (m.result, m.date) for name, m in markers.items()} == {
        "ER": ("positive", "2018-03-10"),  # LOINC 85337-4 with answer LA6576-8
        "PR": ("negative", "2018-03-10"),  # LOINC 85339-0 with answer LA6577-6
        "HER2": ("negative", "2018-03-10"),
    }

    surgery = next(p for p in case.procedures if p.id == "cancer-related-surgical-procedure-jenny-m")
    assert (surgery.date, surgery.primary) == ("2018-04-01", PRIMARY)
    assert surgery.code.text == "Excision of part of breast (procedure)"
    # 'Left breast structure' carries its side in the code.
    assert surgery.body_site is not None and surgery.body_site.codes == ("site.left_breast",)
    assert surgery.laterality == "left"
    radiotherapy = next(p for p in case.procedures if p.id.startswith("radiotherapy-treatment-summary"))
    assert radiotherapy.period is not None
    assert (radiotherapy.period.start, radiotherapy.period.end) == ("2018-08-15", "2018-10-25")

    (status,) = case.disease_status
    assert (status.date, status.status, status.evidence, status.focus) == (
        "2018-11-01",
        "improving",
        ("imaging",),
        (PRIMARY,),
    )
    (specimen,) = case.specimens
    assert specimen.body_site is not None and specimen.body_site.codes == ("site.left_breast",)

    # MedicationRequests: one therapy each, intent from the mCODE procedure-intent extension.
    therapies = {t.agents[0].codes: t for t in case.therapies}
    assert set(therapies) == {
        ("rx.cyclophosphamide",),
        ("rx.doxorubicin",),
        ("rx.paclitaxel",),
        ("rx.anastrozole",),
    }
    anastrozole = therapies[("rx.anastrozole",)]
    assert (anastrozole.status, anastrozole.intent, anastrozole.primary) == ("active", "curative", PRIMARY)
    assert anastrozole.period is not None and anastrozole.period.start == "2018-09-30"


# What the case model does not hold, element by element, for the resources it reads.
NOT_HELD = {
    "address": "patient's address: identifying, never carried",
    "asserter": "who asserted it",
    "authoredOn": "when an order was written (not when taken)",
    "birthDate": "identifying; the case holds ages at events",
    "category": "resource categories other than the ones fhirconv writes",
    "collection": "who collected a specimen",
    "communication": "patient's language",
    "contact": "patient's contacts",
    "dosageInstruction": "doses and routes",
    "effectiveDateTime": "when a tumour size was measured",
    "extension": "race/ethnicity detail, birth sex, radiotherapy dose and procedure intent",
    "identifier": "record numbers",
    "method": "staging system (AJCC 8th edition) and measuring method",
    "name": "identifying, never carried",
    "performer": "who performed it",
    "processing": "specimen processing",
    "reasonCode": "coded reasons of procedures",
    "requester": "who ordered it",
    "specimen": "the specimen a size was measured on",
    "stage": "the staging system of a stage summary",
    "status": "a specimen's availability",
    "text": "narratives written by the producer",
}


def test_jenny_report_lists_only_what_the_model_does_not_hold():
    result = _import()
    elements = defaultdict(set)
    whole = {}
    for item in result.unmapped:
        match = re.match(r"^Bundle\.entry\[(\d+)\]\.resource\.?(\w*)", item.location)
        assert match, item
        if match.group(2):
            elements[item.reason].add(match.group(2))
        else:
            whole[int(match.group(1))] = item
    assert elements["not mapped"] == set(NOT_HELD)
    # Codes fhirconv's table does not know are named; their words are kept as text.
    assert elements["unknown code"] == {"code", "bodySite", "extension"}
    # The example's clinical stage group lists pathologic categories the bundle lacks.
    assert elements["missing reference"] == {"hasMember"}
    assert set(elements) == {"not mapped", "unknown code", "missing reference", "conflicting facts"}
    # Whole resources: types and kinds of observation the model has no place for.
    entries = [e["resource"] for e in json.loads(JENNY.read_text())["entry"]]
    unsupported = {entries[i]["resourceType"] for i, u in whole.items() if u.reason == "unsupported"}
    assert unsupported == {
        "Observation",
        "DiagnosticReport",
        "Organization",
        "FamilyMemberHistory",
        "Practitioner",
    }
    observations = {
        entries[i]["id"]
        for i, u in whole.items()
        if u.reason == "unsupported" and entries[i]["resourceType"] == "Observation"
    }
    assert "tumor-marker-test-oncotype-dx-jenny-m" in observations  # a gene-expression score
    assert not any("tnm" in rid or rid.startswith("tumor-marker-test-er") for rid in observations)
    # The size names a specimen that is not in the bundle and no tumour: it is named, not placed.
    size = next(i for i, e in enumerate(entries) if e["id"] == "tumor-size-jenny-m")
    assert whole[size].message == "a size that names no condition or tumour of the bundle"
    # The example's stage summary (IIIC) contradicts its assessment (IIB): both are named.
    conflict = next(u for u in result.unmapped if u.reason == "conflicting facts")
    assert conflict.location == "Bundle.entry[1].resource.stage"
    assert "IIIC" in conflict.message and "IIB" in conflict.message
    # Identifying details of a real-looking patient are listed, never carried into the case.
    found = {u.location: u for u in result.unmapped}
    assert found["Bundle.entry[0].resource.birthDate"].message == '"1965-01-01"'
    assert found["Bundle.entry[0].resource.name"].reason == "not mapped"


def test_jenny_example_resources_one_file_each():
    result = import_entries(read_files(_jenny_files()), doi=DOI)
    case = result.case
    (primary,) = case.primaries
    stagings = {s.prefix: s for s in primary.staging}
    assert set(stagings) == {"c", "p"}
    pathologic = stagings["p"]
    assert (pathologic.t, pathologic.n, pathologic.stage_group) == ("T3", "N0", "IIB")
    # MedicationAdministrations as well as MedicationRequests.
    administered = [t for t in case.therapies if "admin" in t.id]
    assert len(administered) == 3
    assert all(t.status == "completed" and t.period is not None for t in administered)
    # An RxNorm clinical drug (1790099, doxorubicin injection) the table lacks keeps its words.
    assert {t.agents[0].text for t in administered} == {
        "cyclophosphamide",
        "10 ML doxorubicin hydrochloride 2 MG/ML Injection",
        "PACLitaxel",
    }
    # A specimen's words come from its coded type (v2-0487 TISS, TUMOR).
    assert {s.id: s.description for s in case.specimens} == {
        "human-specimen-left-breast-jenny-m": "Tissue",
        "tumor-specimen-left-breast-jenny-m": "Tumor",
    }
    # Comorbidities are not cancers: named as unsupported, not taken for metastases.
    assert case.metastases == ()
    comorbidities = [u for u in result.unmapped if "us-core-condition" in u.location]
    assert len(comorbidities) == 3 and all(u.reason == "unsupported" for u in comorbidities)
    # A file's resource is located by its file name.
    assert all(u.location.split(":")[0].endswith(".json") for u in result.unmapped), result.unmapped[:3]
