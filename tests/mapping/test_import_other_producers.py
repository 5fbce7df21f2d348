"""What other producers write that fhirconv's own bundles never do: entries identified by
fullUrl alone, ids that differ only in case or share a long beginning, the same id in two
resource types, and a server's version bookkeeping."""

import copy
import json
import re
import uuid
from pathlib import Path

import pytest

from fhirconv.importing.reader import import_entries, read_entries
from fhirconv.mapping.common import short_slug
from fhirconv.mapping.patient import VITAL_CODE

DATA = Path(__file__).resolve().parents[1] / "data"
JENNY = DATA / "mcode-examples" / "Bundle-mcode-patient-bundle-jenny-m.json"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DOI = "10.1000/example"


def _import(bundle, name="bundle.json", doi=DOI):
    return import_entries(read_entries(json.dumps(bundle).encode(), name), doi)


def _without_ids(bundle):
    """The bundle as a POST transaction writes it: no ids, urn:uuid fullUrls, references to them."""
    out = copy.deepcopy(bundle)
    names = {}
    for entry in out["entry"]:
        resource = entry["resource"]
        new = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, entry['fullUrl'])}"
        names[f"{resource['resourceType']}/{resource.pop('id')}"] = new
        entry["fullUrl"] = new
    text = json.dumps(out)
    for old, new in names.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    return json.loads(text), {
        short_slug(old.split("/")[1]): new.removeprefix("urn:uuid:") for old, new in names.items()
    }


def test_resources_without_ids_import_with_ids_from_their_full_urls():
    bundle = json.loads(JENNY.read_text())
    original = _import(bundle)
    stripped, ids = _without_ids(bundle)
    result = _import(stripped)
    # The same facts, named by the UUIDs of their fullUrls instead of their ids.
    expected = json.dumps(original.case.model_dump(mode="json"))
    for old, new in ids.items():
        expected = re.sub(f'"{old}"', f'"{new}"', expected)
    patient = ids["cancer-patient-jenny-m"]
    assert result.case.id == patient
    expected = expected.replace("cancer-patient-jenny-m", patient)
    assert json.loads(expected) == result.case.model_dump(mode="json")
    assert len(result.unmapped) == len(original.unmapped)


def test_the_official_father_document_imports(fhir_package, run_cli, tmp_path):
    """Bundle-father.json (R4 examples): four entries with no id, named by urn:uuid fullUrls."""
    out = tmp_path / "father.yaml"
    result = run_cli("import", fhir_package("hl7.fhir.r4.examples") / "Bundle-father.json", "-o", out,
                     "--doi", DOI)
    assert result.code == 0, result.err
    text = out.read_text()
    # The MedicationStatement had no id: its fact id is its fullUrl's UUID.
    assert "- id: 673f8db5-0ffd-4395-9657-6da00420bbc1\n" in text


def _with_ids(*ids, rtype="Observation"):
    entries = [{"resource": {"resourceType": "Patient", "id": "p1", "gender": "female"}}]
    for rid in ids:
        entries.append({"resource": {
            "resourceType": rtype, "id": rid, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85337-4"}]},
            "subject": {"reference": "Patient/p1"},
            "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "10828004"}]},
        }})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_ids_differing_only_in_case_stay_apart():
    case = _import(_with_ids("ER", "er", "Er")).case
    ids = [m.id for m in case.tumor_markers]
    assert len(set(ids)) == 3
    assert ids[1] == "er"  # a slug already is kept as it is


def test_ids_sharing_a_long_beginning_stay_apart():
    long = "a" * 60
    case = _import(_with_ids(long + "1", long + "2")).case
    ids = [m.id for m in case.tumor_markers]
    assert len(set(ids)) == 2 and all(len(i) <= 48 for i in ids)
    assert all(i.startswith("a" * 30) for i in ids)


def test_the_same_id_in_two_types_gives_two_facts():
    bundle = _with_ids("x1")
    bundle["entry"].append({"resource": {
        "resourceType": "Procedure", "id": "x1", "status": "completed",
        "code": {"text": "Mastectomy"}, "subject": {"reference": "Patient/p1"},
    }})
    case = _import(bundle).case
    assert case.tumor_markers[0].id == "x1"
    assert case.procedures[0].id.startswith("x1-") and len(case.procedures[0].id) <= 48


def test_resources_with_neither_id_nor_full_url_get_ids_from_their_content(tmp_path):
    line = json.dumps(_with_ids("x")["entry"][1]["resource"] | {"id": None})
    line = re.sub(r'"id": null, ', "", line)
    patient = json.dumps({"resourceType": "Patient", "id": "p1", "gender": "female"})
    path = tmp_path / "all.ndjson"
    path.write_text("\n".join([patient, line, line]) + "\n")
    first = import_entries(read_entries(path.read_bytes(), str(path)), DOI).case
    again = import_entries(read_entries(path.read_bytes(), str(path)), DOI).case
    ids = [m.id for m in first.tumor_markers]
    assert ids == [m.id for m in again.tumor_markers]  # deterministic
    assert re.fullmatch(r"observation-[0-9a-f]{10}", ids[0]) and ids[1] == ids[0] + "-2"


def test_server_bookkeeping_is_not_reported(run_cli, tmp_path):
    """What a server adds (pull --bundle, any searchset) is about its copy, not the patient."""
    bundle = json.loads((EXAMPLES / "case2.bundle.json").read_text())
    for number, entry in enumerate(bundle["entry"]):
        entry["resource"]["meta"] |= {
            "versionId": str(number + 1), "lastUpdated": "2024-05-01T10:00:00.000Z",
        }
    bundle["entry"][0]["resource"]["meta"]["source"] = "#aBcD1234"  # HAPI: the request's id
    path = tmp_path / "pulled.json"
    path.write_text(json.dumps(bundle))
    result = run_cli("import", path, "--strict", "-o", tmp_path / "case2.yaml")
    assert result.code == 0, result.err
    assert result.err.endswith("Import report: everything was mapped.\n")


def test_the_source_the_resources_share_is_recorded_once():
    bundle = _with_ids("er1", "er2")
    for entry in bundle["entry"]:
        entry["resource"]["meta"] = {"source": "http://ehr.example.org/fhir"}
    result = _import(bundle, doi=None)
    assert result.case.report.source == "http://ehr.example.org/fhir"
    assert result.case.report.files == ()
    assert [u for u in result.unmapped if "meta" in u.location] == []
    # Re-exported, the source is the document's; the resources name the case's own URN.
    from fhirconv.mapping.bundle import build_bundle

    exported = build_bundle(result.case)
    sources = {e["resource"]["meta"]["source"] for e in exported["entry"]}
    assert len(sources) == 1 and sources.pop().startswith("urn:uuid:")
    again = import_entries([(f"e{i}", e["resource"], e["fullUrl"]) for i, e in enumerate(exported["entry"])])
    assert again.unmapped == [] and again.case == result.case


def test_a_side_on_an_imaging_study_site_is_reported_not_dropped():
    """The case model holds no side for a study (only for its findings): a laterality qualifier
    on the study's body site is listed as not mapped, never taken and lost."""
    from fhirconv.mapping.reading import LATERALITY_EXT
    from fhirconv.terminology import table

    bundle = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    studies = [
        (i, e["resource"])
        for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == "Procedure" and e["resource"].get("bodySite")
        and e["resource"].get("category", {}).get("text") == "imaging study"
    ]
    assert studies
    index, study = studies[0]
    left = {"coding": [table().get("laterality.left").coding()]}
    study["bodySite"][0]["extension"] = [{"url": LATERALITY_EXT, "valueCodeableConcept": left}]
    result = _import(bundle, doi=None)
    assert [(u.location, u.reason) for u in result.unmapped] == [
        (f"Bundle.entry[{index}].resource.bodySite[0].extension", "not mapped")
    ]
    assert result.case == _import(json.loads((EXAMPLES / "case1.bundle.json").read_text()), doi=None).case


def test_a_site_on_an_imaging_finding_is_reported_not_dropped():
    """A finding holds a side and no site: the site's code is listed as not mapped, the side kept."""
    from fhirconv.terminology import table

    original = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    bundle = copy.deepcopy(original)
    findings = [
        (i, e["resource"])
        for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == "Observation" and e["resource"].get("partOf")
        and isinstance(e["resource"].get("bodySite"), dict)
    ]
    assert findings
    index, finding = findings[0]
    finding["bodySite"]["coding"] = [table().get("site.left_breast").coding()]
    result = _import(bundle, doi=None)
    assert [(u.location, u.reason) for u in result.unmapped] == [
        (f"Bundle.entry[{index}].resource.bodySite.coding", "not mapped")
    ]
    assert result.case == _import(original, doi=None).case


def test_a_finding_dated_apart_from_its_study_is_reported():
    """The case model dates a finding by its study: another date on the finding is listed."""
    original = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    bundle = copy.deepcopy(original)
    findings = [
        (i, e["resource"])
        for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == "Observation" and e["resource"].get("partOf")
        and e["resource"].get("effectiveDateTime")
    ]
    assert findings
    index, finding = findings[0]
    study_date = finding["effectiveDateTime"]
    finding["effectiveDateTime"] = "2001-02-03"
    result = _import(bundle, doi=None)
    assert [(u.location, u.message) for u in result.unmapped] == [
        (
            f"Bundle.entry[{index}].resource.effective[x]",
            f"the finding's date 2001-02-03 is not its study's ({study_date}): "
            "the case model dates a finding by its study",
        )
    ]
    assert result.case == _import(original, doi=None).case


def test_a_provisional_primary_cancer_is_reported():
    """The case model's primary cancers are confirmed ones: a provisional one says so."""
    from fhirconv.terminology import table

    original = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    bundle = copy.deepcopy(original)
    primaries = [
        (i, e["resource"])
        for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == "Condition"
        and "primary" in json.dumps(e["resource"].get("meta", {})).lower()
    ]
    assert primaries
    index, primary = primaries[0]
    primary["verificationStatus"] = {"coding": [table().get("verification.provisional").coding()]}
    result = _import(bundle, doi=None)
    assert [(u.location, u.reason) for u in result.unmapped] == [
        (f"Bundle.entry[{index}].resource.verificationStatus", "not mapped")
    ]
    assert result.case == _import(original, doi=None).case


def _first(bundle, test):
    return next((i, e["resource"]) for i, e in enumerate(bundle["entry"]) if test(e["resource"]))


def _size_observation(resource):
    return resource["resourceType"] == "Observation" and any(
        "valueQuantity" in c and c["valueQuantity"].get("code") == "cm" for c in resource.get("component", [])
    )


def test_a_tumour_size_in_millimetres_is_read_in_centimetres():
    original = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    bundle = copy.deepcopy(original)
    _, size = _first(bundle, _size_observation)
    for component in size["component"]:
        quantity = component.get("valueQuantity")
        if quantity and quantity.get("code") == "cm":
            quantity.update(value=round(quantity["value"] * 10, 6), unit="mm", code="mm")
    result = _import(bundle, doi=None)
    assert result.unmapped == [] and result.case == _import(original, doi=None).case


@pytest.mark.parametrize(
    "quantity",
    [
        {"value": 2, "unit": "in", "system": "http://unitsofmeasure.org", "code": "[in_i]"},
        {"value": 2, "unit": "cm", "system": "http://example.org/units", "code": "cm"},
        {"value": 2},
    ],
    ids=["inches", "another system", "no unit"],
)
def test_a_tumour_size_in_another_unit_or_none_is_reported_not_read_as_centimetres(quantity):
    bundle = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    index, size = _first(bundle, _size_observation)
    at = next(i for i, c in enumerate(size["component"]) if c.get("valueQuantity", {}).get("code") == "cm")
    size["component"][at]["valueQuantity"] = quantity
    result = _import(bundle, doi=None)
    assert [u.location for u in result.unmapped] == [
        f"Bundle.entry[{index}].resource.component[{at}].valueQuantity"
    ]


@pytest.mark.parametrize(
    ("quantity", "taken"),
    [
        ({"value": 45, "unit": "year", "system": "http://unitsofmeasure.org", "code": "a"}, True),
        ({"value": 45, "unit": "years"}, True),
        ({"value": 45, "unit": "month", "system": "http://unitsofmeasure.org", "code": "mo"}, False),
        ({"value": 45.5, "unit": "year", "system": "http://unitsofmeasure.org", "code": "a"}, False),
    ],
    ids=["years", "years in words", "months", "not whole"],
)
def test_an_age_is_taken_in_whole_years_only(quantity, taken):
    bundle = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    index, age = _first(
        bundle, lambda r: r["resourceType"] == "Observation" and r.get("valueQuantity", {}).get("code") == "a"
    )
    age["valueQuantity"] = quantity
    result = _import(bundle, doi=None)
    if taken:
        assert result.unmapped == [] and 45 in [a.age_years for a in result.case.ages]
    else:
        assert [(u.location, u.message) for u in result.unmapped] == [
            (
                f"Bundle.entry[{index}].resource",
                f"an age that is not a whole number of years: {json.dumps(quantity)}",
            )
        ]
        assert result.case.ages == ()


def _vital_status_entry(resource):
    return resource["resourceType"] == "Observation" and resource.get("code", {}).get("text") == VITAL_CODE


def test_a_patient_s_death_without_a_vital_status_observation_becomes_the_vital_status():
    """Synthea's dead patients say so only in Patient.deceasedDateTime: it must not be lost."""
    original = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    bundle = copy.deepcopy(original)
    index, _ = _first(bundle, _vital_status_entry)
    del bundle["entry"][index]
    patient = _first(bundle, lambda r: r["resourceType"] == "Patient")[1]
    assert "deceasedDateTime" in patient
    result = _import(bundle, doi=None)
    assert result.unmapped == []
    before = _import(original, doi=None).case.vital_status
    after = result.case.vital_status
    died = ("deceased", patient["deceasedDateTime"])
    assert (after.status, after.date) == (before.status, before.date) == died


def test_a_patient_s_death_that_the_vital_status_contradicts_is_reported():
    original = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    bundle = copy.deepcopy(original)
    index, patient = _first(bundle, lambda r: r["resourceType"] == "Patient")
    patient["deceasedDateTime"] = "2001-02-03"
    result = _import(bundle, doi=None)
    vital = result.case.vital_status
    assert [(u.location, u.message) for u in result.unmapped] == [
        (
            f"Bundle.entry[{index}].resource.deceasedDateTime",
            f'"2001-02-03": the vital status says deceased ({vital.date}); kept the vital status',
        )
    ]
    assert result.case == _import(original, doi=None).case


@pytest.mark.parametrize(("said", "status"), [(True, "deceased"), (False, "alive")])
def test_a_patient_s_deceased_boolean_becomes_the_vital_status(said, status):
    bundle = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    index, _ = _first(bundle, _vital_status_entry)
    del bundle["entry"][index]
    patient = _first(bundle, lambda r: r["resourceType"] == "Patient")[1]
    del patient["deceasedDateTime"]
    patient["deceasedBoolean"] = said
    result = _import(bundle, doi=None)
    assert result.unmapped == []
    assert (result.case.vital_status.status, result.case.vital_status.date) == (status, None)


def test_an_agent_of_a_regimen_that_says_another_period_is_reported():
    """A regimen holds one period for its agents, from its first statement: another is listed."""
    original = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    bundle = copy.deepcopy(original)
    agents = [
        (i, e["resource"])
        for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == "MedicationStatement" and e["resource"].get("partOf")
        and e["resource"].get("effectivePeriod")
    ]
    (_, first), (index, second) = agents[:2]
    assert first["partOf"] == second["partOf"]
    start = first["effectivePeriod"]["start"]
    second["effectivePeriod"]["start"] = "2001-02-03"
    result = _import(bundle, doi=None)
    assert [(u.location, u.message) for u in result.unmapped] == [
        (
            f"Bundle.entry[{index}].resource",
            f'period {{"start": "2001-02-03"}} is not the regimen\'s ({{"start": "{start}"}}, from its first '
            "agent): the case model holds one for all the agents of a regimen",
        )
    ]
    assert result.case == _import(original, doi=None).case


def test_a_therapy_category_in_words_the_model_does_not_hold_is_listed():
    original = json.loads((EXAMPLES / "case1.bundle.json").read_text())
    bundle = copy.deepcopy(original)
    index, statement = _first(
        bundle,
        lambda r: r["resourceType"] == "MedicationStatement" and r.get("category", {}).get("text") == "other",
    )
    statement["category"]["text"] = "radioligand"
    result = _import(bundle, doi=None)
    assert [(u.location, u.message) for u in result.unmapped] == [
        (f"Bundle.entry[{index}].resource.category", '{"text": "radioligand"}')
    ]
