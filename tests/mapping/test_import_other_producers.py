"""What other producers write that fhirconv's own bundles never do: entries identified by
fullUrl alone, ids that differ only in case or share a long beginning, the same id in two
resource types, and a server's version bookkeeping."""

import copy
import json
import re
import uuid
from pathlib import Path

from fhirconv.importing.reader import import_entries, read_entries
from fhirconv.mapping.common import short_slug

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
