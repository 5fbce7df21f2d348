"""Pulling what others stored: resources outside the Patient compartment that the pulled ones name.

A Medication names no patient, so no search by patient finds it; a MedicationStatement or
MedicationRequest naming its agent by ``medicationReference`` still imports with that agent.
"""

from __future__ import annotations

import json

import pytest
import yaml

pytestmark = pytest.mark.server

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _entry(resource: dict) -> dict:
    name = f"{resource['resourceType']}/{resource['id']}"
    return {
        "fullUrl": f"urn:uuid:{_uuid(name)}",
        "resource": resource,
        "request": {"method": "PUT", "url": name},
    }


def _uuid(name: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _transaction(patient: str, *resources: dict) -> dict:
    person = {"resourceType": "Patient", "id": patient, "gender": "female"}
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [_entry(r) for r in (person, *resources)],
    }


def _push(run_cli, server, tmp_path, bundle: dict) -> None:
    path = tmp_path / "push.json"
    path.write_text(json.dumps(bundle))
    result = run_cli("push", path, "--server", server.base_url)
    assert result.code == 0, result.err


def test_a_medication_named_by_reference_is_pulled_and_is_the_agent(fhir_server, run_cli, tmp_path):
    patient = "pull-med-patient"
    medication = {
        "resourceType": "Medication",
        "id": "pull-med-toremifene",
        "code": {"coding": [{"system": RXNORM, "code": "38409", "display": "Toremifene"}]},
    }
    statement = {
        "resourceType": "MedicationStatement",
        "id": "pull-med-statement",
        "status": "completed",
        "medicationReference": {"reference": "Medication/pull-med-toremifene"},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2020-03-01",
    }
    request = {
        "resourceType": "MedicationRequest",
        "id": "pull-med-request",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "Medication/pull-med-toremifene"},
        "subject": {"reference": f"Patient/{patient}"},
    }
    _push(run_cli, fhir_server, tmp_path, _transaction(patient, medication, statement, request))
    case_file, bundle_file = tmp_path / "case.yaml", tmp_path / "pulled.json"
    result = run_cli(
        "pull",
        "--server",
        fhir_server.base_url,
        "--patient",
        patient,
        "-o",
        case_file,
        "--bundle",
        bundle_file,
    )
    assert result.code == 0, result.err
    assert result.err.startswith(f"Pulled 4 resources of Patient/{patient}\n")
    pulled = [e["resource"]["resourceType"] for e in json.loads(bundle_file.read_text())["entry"]]
    assert pulled.count("Medication") == 1
    # Read before the resources that name it.
    assert pulled.index("Medication") < min(
        pulled.index("MedicationStatement"), pulled.index("MedicationRequest")
    )
    therapies = yaml.safe_load(case_file.read_text())["therapies"]
    assert sorted(t["id"] for t in therapies) == ["pull-med-request", "pull-med-statement"]
    assert all(t["agents"] == [{"text": "Toremifene", "codes": ["rx.toremifene"]}] for t in therapies)
    assert "no agent" not in result.err and "missing reference" not in result.err


def test_a_medication_the_server_lacks_leaves_the_therapy_out_reported(fhir_server, run_cli, tmp_path):
    patient = "pull-gone-patient"
    statement = {
        "resourceType": "MedicationStatement",
        "id": "pull-gone-statement",
        "status": "completed",
        "medicationReference": {"reference": "Medication/pull-gone-nowhere"},
        "subject": {"reference": f"Patient/{patient}"},
    }
    _push(run_cli, fhir_server, tmp_path, _transaction(patient, statement))
    result = run_cli(
        "pull", "--server", fhir_server.base_url, "--patient", patient, "-o", tmp_path / "c.yaml"
    )
    assert result.code == 0, result.err
    assert "therapies" not in yaml.safe_load((tmp_path / "c.yaml").read_text())
    assert "medicationReference.reference: missing reference: Medication/pull-gone-nowhere" in result.err
    assert "medicationReference: no agent: the MedicationStatement is not imported" in result.err


def _dirty_server(request):
    from .conftest import Reply

    if request.path.endswith("/metadata"):
        return Reply(200, {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance"})
    if "/Patient/p1" in request.path:
        return Reply(200, {"resourceType": "Patient", "id": "p1", "gender": "female"})
    dirty = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2020-01-01T25:00:00Z",
    }
    untyped = {"resourceType": ["Observation"], "id": "o2"}
    entries = [{"resource": dirty}, {"resource": untyped}]
    return Reply(200, {"resourceType": "Bundle", "type": "searchset", "entry": entries})


def test_pull_lenient_imports_what_a_server_holds_that_breaks_fhirs_rules(faulty_server, run_cli, tmp_path):
    server = faulty_server(_dirty_server)
    common = ("pull", "--server", server.base_url, "--patient", "p1", "--type", "Observation")
    refused = run_cli(*common, "-o", tmp_path / "a.yaml")
    assert refused.code == 2
    assert refused.err.splitlines()[1] == (
        "Left out an entry of the Observation search that is no resource with a resourceType and an id"
    )
    assert refused.err.splitlines()[2] == (
        f"Error: Patient/p1 from {server.base_url}/: pulled, but not imported: not valid FHIR R4, not "
        "imported (1 error; --lenient imports the rest):"
    )
    result = run_cli(*common, "-o", tmp_path / "b.yaml", "--lenient")
    assert result.code == 0, result.err
    assert "  Bundle.entry[1]: invalid: an entry that breaks FHIR's rules is not imported\n" in result.err
    assert yaml.safe_load((tmp_path / "b.yaml").read_text())["patient"]["sex"] == "female"
