"""End to end against the real FHIR engine (Medplum's, in tests/fhir_server) on loopback."""

from __future__ import annotations

import json

import httpx
import pytest

from fhirconv.model.load import load_case_file

from .conftest import DATA, PAGE_SIZE, TOKEN

pytestmark = pytest.mark.server

SMALL = DATA / "small-transaction.json"
REJECTED = DATA / "rejected-transaction.json"
COLLECTION = DATA / "small-collection.json"
SERVER_META = ("versionId", "lastUpdated", "source")


def load(path):
    return json.loads(path.read_text())


def patient_resources(base_url: str, patient_id: str) -> list[dict]:
    """Everything the server holds for the patient, read without fhirconv (raw httpx, big pages)."""
    found = [httpx.get(f"{base_url}/Patient/{patient_id}").json()]
    for kind in ("Condition", "Observation", "MedicationStatement", "Procedure"):
        answer = httpx.get(
            f"{base_url}/{kind}", params={"patient": f"Patient/{patient_id}", "_count": "1000"}
        )
        found.extend(e["resource"] for e in answer.json().get("entry", []))
    return found


def without_server_meta(resource: dict) -> dict:
    out = dict(resource)
    meta = {k: v for k, v in (out.pop("meta", None) or {}).items() if k not in SERVER_META}
    if meta:
        out["meta"] = meta
    return out


def as_stored(bundle: dict) -> dict[str, dict]:
    """What a correct server holds after the transaction: urn:uuid references become Type/id."""
    names = {e["fullUrl"]: e["request"]["url"] for e in bundle["entry"]}
    text = json.dumps([e["resource"] for e in bundle["entry"]])
    for full_url, name in names.items():
        text = text.replace(f'"{full_url}"', f'"{name}"')
    return {f"{r['resourceType']}/{r['id']}": r for r in json.loads(text)}


def test_push_stores_every_resource_as_sent(fhir_server, run_cli):
    result = run_cli("push", SMALL, "--server", fhir_server.base_url)
    assert result.code == 0, result.err
    sent = as_stored(load(SMALL))
    for name in sent:
        assert f" {name}" in result.out  # one line per entry, with where the server stored it
    assert "Pushed 1 of 1 bundle (9 resources)" in result.err
    held = {
        f"{r['resourceType']}/{r['id']}": without_server_meta(r)
        for r in patient_resources(fhir_server.base_url, "srv-small-patient")
    }
    assert held == sent


def test_repush_creates_no_duplicates(fhir_server, run_cli):
    for _ in range(2):
        assert run_cli("push", SMALL, "--server", fhir_server.base_url).code == 0
    held = patient_resources(fhir_server.base_url, "srv-small-patient")
    assert len(held) == len(load(SMALL)["entry"]) == 9
    assert len({(r["resourceType"], r["id"]) for r in held}) == 9
    # The second push updated in place: the patient has more than one version.
    history = httpx.get(f"{fhir_server.base_url}/Patient/srv-small-patient/_history").json()
    assert len(history["entry"]) >= 2


def test_verify_reads_everything_back(fhir_server, run_cli):
    result = run_cli("push", SMALL, "--server", fhir_server.base_url, "--verify")
    assert result.code == 0, result.out + result.err
    assert "verified 9 resources: as sent" in result.out
    assert "differs" not in result.out


def test_rejected_bundle_shows_the_operation_outcome_and_stores_nothing(fhir_server, run_cli):
    result = run_cli("push", REJECTED, "--server", fhir_server.base_url, "--no-validate")
    assert result.code == 1
    assert result.err.startswith(
        f"Error: {REJECTED}: POST {fhir_server.base_url}/: "
        "the server rejected the request (400 Bad Request)\n"
        '  error structure: Invalid additional property "tumourGrade" (at Observation.tumourGrade)\n'
    )
    # The Patient came first in the transaction and was valid: all or nothing means it is not there either.
    assert httpx.get(f"{fhir_server.base_url}/Patient/srv-rejected-patient").status_code == 404
    assert httpx.get(f"{fhir_server.base_url}/Observation/srv-rejected-obs").status_code == 404


def test_collection_bundle_is_pushed_as_puts(fhir_server, run_cli):
    result = run_cli("push", COLLECTION, "--server", fhir_server.base_url)
    assert result.code == 0, result.err
    assert "PUT Patient/srv-coll-patient" in result.out
    condition = httpx.get(f"{fhir_server.base_url}/Condition/srv-coll-primary").json()
    assert condition["subject"] == {"reference": "Patient/srv-coll-patient"}


def test_pull_reads_back_what_was_pushed(fhir_server, run_cli, tmp_path):
    assert run_cli("push", SMALL, "--server", fhir_server.base_url).code == 0
    out = tmp_path / "pulled.json"
    result = run_cli(
        "pull",
        "--server",
        fhir_server.base_url,
        "--patient",
        "srv-small-patient",
        "--bundle-only",
        "--bundle",
        out,
    )
    assert result.code == 0, result.err
    assert result.out == ""
    assert "Pulled 9 resources of Patient/srv-small-patient" in result.err
    bundle = json.loads(out.read_text())
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    # Five Observations and pages of PAGE_SIZE: the search had to follow a `next` link.
    assert PAGE_SIZE < 5
    pulled = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}": without_server_meta(e["resource"])
        for e in bundle["entry"]
    }
    assert pulled == as_stored(load(SMALL))
    assert bundle["entry"][0]["fullUrl"] == f"{fhir_server.base_url}/Patient/srv-small-patient"
    assert not list(tmp_path.glob(".*tmp")), "no temporary file left behind"


def test_pull_to_stdout(fhir_server, run_cli):
    assert run_cli("push", COLLECTION, "--server", fhir_server.base_url).code == 0
    result = run_cli(
        "pull", "--server", fhir_server.base_url, "--patient", "srv-coll-patient", "--bundle-only"
    )
    assert result.code == 0, result.err
    bundle = json.loads(result.out)
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["srv-coll-patient", "srv-coll-primary"]


def test_pull_unknown_patient(fhir_server, run_cli, tmp_path):
    out = tmp_path / "pulled.json"
    result = run_cli("pull", "--server", fhir_server.base_url, "--patient", "no-such-patient", "-o", out)
    assert result.code == 1
    assert result.err.startswith(
        "Error: The server has no Patient/no-such-patient\n  error not-found: Not found"
    )
    assert not out.exists()


def test_pull_everything_when_the_server_lacks_it(fhir_server, run_cli):
    # The engine does not implement $everything and does not offer it; forcing it
    # must end in the server's own answer, not in a traceback.
    assert run_cli("push", COLLECTION, "--server", fhir_server.base_url).code == 0
    result = run_cli(
        "pull", "--server", fhir_server.base_url, "--patient", "srv-coll-patient", "--everything"
    )
    assert result.code == 1
    assert "Patient/srv-coll-patient/$everything: not found (404 Not Found)" in result.err


def test_token_is_sent_and_never_shown(fhir_server_with_token, run_cli, caplog):
    caplog.set_level("DEBUG")
    base = fhir_server_with_token.base_url
    result = run_cli("push", SMALL, "--server", base, "--verify", env={"FHIRCONV_TOKEN": TOKEN})
    assert result.code == 0, result.err
    pulled = run_cli(
        "pull", "--server", base, "--patient", "srv-small-patient", "--token", TOKEN, "--bundle-only"
    )
    assert pulled.code == 0, pulled.err
    assert len(json.loads(pulled.out)["entry"]) == 9
    for text in (result.out, result.err, pulled.out, pulled.err, caplog.text):
        assert TOKEN not in text


def test_missing_or_wrong_token_is_exit_4(fhir_server_with_token, run_cli):
    base = fhir_server_with_token.base_url
    for extra in ([], ["--token", "wrong-token"]):
        result = run_cli("push", SMALL, "--server", base, "--no-validate", *extra)
        assert result.code == 4
        assert result.err.startswith(
            f"Error: POST {base}/: the server refused the credentials (401 Unauthorized). "
            "Check --token or FHIRCONV_TOKEN.\n"
        )
        assert "wrong-token" not in result.err


def test_pull_of_a_patient_naming_no_publication_records_the_server(fhir_server, run_cli, tmp_path):
    # The hand-written bundle has no case report (DocumentReference): the case cites the server.
    assert run_cli("push", SMALL, "--server", fhir_server.base_url).code == 0
    out, raw = tmp_path / "small.yaml", tmp_path / "small.json"
    result = run_cli(
        "pull", "--server", fhir_server.base_url, "--patient", "srv-small-patient", "-o", out, "--bundle", raw
    )
    assert result.code == 0, result.err
    report = load_case_file(out).report
    assert (report.doi, report.source) == (None, f"{fhir_server.base_url}/Patient/srv-small-patient")
    assert len(json.loads(raw.read_text())["entry"]) == 9


def test_bundle_only_takes_no_case_file(fhir_server, run_cli, tmp_path):
    result = run_cli(
        "pull", "--server", fhir_server.base_url, "--patient", "x", "--bundle-only", "-o", tmp_path / "x.yaml"
    )
    assert result.code == 2
    assert result.err == "Error: --bundle-only writes no case file: use --bundle FILE instead of -o\n"
