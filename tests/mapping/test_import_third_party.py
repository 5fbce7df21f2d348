"""Third-party content: the mCODE STU4 example patient bundle (hl7.fhir.us.mcode@4.0.0, CC0)."""

import json
from pathlib import Path

from fhirconv.importing.reader import import_entries, read_entries

MCODE = Path(__file__).resolve().parents[1] / "data" / "mcode-examples"
JENNY = MCODE / "Bundle-mcode-patient-bundle-jenny-m.json"


def _import():
    return import_entries(read_entries(JENNY.read_bytes(), str(JENNY)), doi="10.1000/example")


def test_a_bundle_naming_no_publication_needs_a_doi(run_cli):
    result = run_cli("import", JENNY)
    assert result.code == 2
    assert (
        result.err == f"Error: {JENNY}: the bundle does not make a valid case: report.doi: Field required\n"
    )
    assert "--doi" in run_cli("import", "--help").out


def test_jenny_imports_the_facts_the_model_holds():
    result = _import()
    case = result.case
    assert case.id == "cancer-patient-jenny-m"
    assert case.report.doi == "10.1000/example"
    assert case.patient.sex == "female"
    assert case.patient.ethnicity is not None and case.patient.ethnicity.text == "White"
    surgery = next(p for p in case.procedures if p.id == "cancer-related-surgical-procedure-jenny-m")
    assert surgery.date == "2018-04-01"
    assert surgery.code.text == "Excision of part of breast (procedure)"
    assert surgery.body_site is not None and surgery.body_site.codes == ("site.left_breast",)
    radiotherapy = next(p for p in case.procedures if p.id.startswith("radiotherapy-treatment-summary"))
    assert radiotherapy.period is not None
    assert (radiotherapy.period.start, radiotherapy.period.end) == ("2018-08-15", "2018-10-25")
    (status,) = case.disease_status
    assert (status.date, status.status, status.evidence) == ("2018-11-01", "improving", ("imaging",))
    # Fact ids are slugs of at most 48 characters.
    anastrozole = next(t for t in case.therapies if "anastrozole" in t.id)
    assert anastrozole.agents[0].codes == ("rx.anastrozole",)
    assert (anastrozole.status, anastrozole.primary) == ("active", None)
    assert anastrozole.period is not None and anastrozole.period.start == "2018-09-30"
    (specimen,) = case.specimens
    assert specimen.body_site is not None and specimen.body_site.codes == ("site.left_breast",)


def test_jenny_report_lists_what_the_model_does_not_hold():
    result = _import()
    by_location = {u.location: u for u in result.unmapped}
    # Resource types the case model does not hold.
    kinds = json.loads(JENNY.read_text())["entry"]
    for i, entry in enumerate(kinds):
        if entry["resource"]["resourceType"] in ("DiagnosticReport", "Practitioner", "FamilyMemberHistory"):
            assert by_location[f"Bundle.entry[{i}].resource"].reason == "unsupported"
    # A fact the model cannot hold without a required field is named, not dropped silently.
    assert any(
        u.reason == "missing" and u.location == "primaries primary-cancer-condition-jenny-m"
        for u in result.unmapped
    )
    # Identifying details of a real-looking patient are listed, never carried into the case.
    assert by_location["Bundle.entry[0].resource.birthDate"].reason == "not mapped"
    assert by_location["Bundle.entry[0].resource.name"].reason == "not mapped"
