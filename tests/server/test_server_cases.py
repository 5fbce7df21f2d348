"""The built-in cases through the real FHIR engine: push, verify, re-push, pull."""

from __future__ import annotations

import json

import httpx
import pytest

from fhirconv.cases import load_case
from fhirconv.importing.compare import compare_cases
from fhirconv.mapping.bundle import build_bundle

from .conftest import DATA, Reply

pytestmark = pytest.mark.server

CASES = ("case1", "case2")
# The server's side is under test here; whether the export passes the local
# validator is asserted once, in test_push_validates_the_builtin_cases_first.
NO_VALIDATE = "--no-validate"
# Medplum's engine refuses transactions with more than 50 updates; the cases have more.
MEDPLUM_MAX_UPDATES = "50"
SERVER_VERSIONING = ("versionId", "lastUpdated")


def exported(name: str) -> dict:
    return build_bundle(load_case(name), bundle_type="transaction")


def patient_id(bundle: dict) -> str:
    (patient,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    return patient["id"]


def as_stored(bundle: dict) -> dict[str, dict]:
    """The resources as a correct server holds them: fullUrl references become Type/id."""
    names = {e["fullUrl"]: e["request"]["url"] for e in bundle["entry"]}
    text = json.dumps([e["resource"] for e in bundle["entry"]])
    for full_url, name in names.items():
        text = text.replace(f'"{full_url}"', f'"{name}"')
    return {f"{r['resourceType']}/{r['id']}": r for r in json.loads(text)}


def without_versioning(resource: dict) -> dict:
    out = dict(resource)
    meta = {k: v for k, v in (out.pop("meta", None) or {}).items() if k not in SERVER_VERSIONING}
    if meta:
        out["meta"] = meta
    return out


@pytest.fixture(scope="module")
def pushed(fhir_server):
    """Both cases pushed once."""
    from fhirconv.cli import main

    with pytest.raises(SystemExit) as done:
        main(
            [
                "push",
                *CASES,
                "--server",
                fhir_server.base_url,
                "--max-entries",
                MEDPLUM_MAX_UPDATES,
                NO_VALIDATE,
            ]
        )
    assert done.value.code == 0
    return fhir_server


def test_the_cases_need_splitting_on_this_engine(fhir_server, run_cli):
    # The engine refuses the whole case (measured, so the test notices if it stops being true);
    # push then splits it by itself.
    assert len(exported("case1")["entry"]) > int(MEDPLUM_MAX_UPDATES)
    result = run_cli("push", "case1", "--server", fhir_server.base_url, NO_VALIDATE)
    assert result.code == 0, result.err
    assert result.err.startswith("case1: the server refused 76 entries in one transaction; ")


@pytest.mark.parametrize("case", CASES)
def test_push_with_verify_finds_every_resource_as_sent(fhir_server, run_cli, case):
    result = run_cli(
        "push",
        case,
        "--server",
        fhir_server.base_url,
        "--max-entries",
        MEDPLUM_MAX_UPDATES,
        "--verify",
        NO_VALIDATE,
    )
    assert result.code == 0, result.out + result.err
    assert "differs" not in result.out
    verified = sum(int(line.split()[1]) for line in result.out.splitlines() if line.startswith("  verified "))
    assert verified == len(exported(case)["entry"])


@pytest.mark.parametrize("case", CASES)
def test_pull_gives_back_exactly_what_was_exported(pushed, run_cli, tmp_path, case):
    bundle = exported(case)
    case_file, bundle_file = tmp_path / f"{case}.yaml", tmp_path / f"{case}.json"
    result = run_cli(
        "pull",
        "--server",
        pushed.base_url,
        "--patient",
        patient_id(bundle),
        "-o",
        case_file,
        "--bundle",
        bundle_file,
        "--strict",
    )
    assert result.code == 0, result.err
    assert result.err.endswith(f"Wrote case {case} to {case_file}\nImport report: everything was mapped.\n")
    pulled = json.loads(bundle_file.read_text())
    got = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}": without_versioning(e["resource"])
        for e in pulled["entry"]
    }
    assert got == as_stored(bundle)


@pytest.mark.parametrize("case", CASES)
def test_round_trip_through_the_server_gives_the_case_back(pushed, run_cli, tmp_path, case):
    case_file = tmp_path / f"{case}.yaml"
    result = run_cli(
        "pull", "--server", pushed.base_url, "--patient", f"{case}-patient", "-o", case_file, "--strict"
    )
    assert result.code == 0, result.err
    original, pulled = load_case(case), load_case(str(case_file))
    # Every fact comes back, field by field; a server returns resources in its own
    # order, and facts compare by id (their order in a list is not a fact).
    assert [d.render() for d in compare_cases(original, pulled)] == []
    assert patient_id(exported(case)) == f"{case}-patient"


@pytest.mark.parametrize("case", CASES)
def test_repush_leaves_one_copy_of_each_resource(pushed, run_cli, case):
    bundle = exported(case)
    result = run_cli(
        "push", case, "--server", pushed.base_url, "--max-entries", MEDPLUM_MAX_UPDATES, NO_VALIDATE
    )
    assert result.code == 0, result.err
    reference = f"Patient/{patient_id(bundle)}"
    held = []
    for kind in sorted({e["resource"]["resourceType"] for e in bundle["entry"]} - {"Patient"}):
        answer = httpx.get(
            f"{pushed.base_url}/{kind}", params={"patient": reference, "_count": "1000"}
        ).json()
        held.extend((kind, e["resource"]["id"]) for e in answer.get("entry", []))
    expected = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]]
    assert sorted(held) == sorted(k for k in expected if k[0] != "Patient")
    assert len(held) == len(set(held))


def test_invalid_bundle_is_refused_before_sending(faulty_server, run_cli):
    server = faulty_server(Reply(500, "must not be called"))
    result = run_cli("push", DATA / "rejected-transaction.json", "--server", server.base_url)
    assert result.code == 1
    assert result.err == (
        f"Error: {DATA / 'rejected-transaction.json'}: not pushed, local validation found 1 error "
        "(push anyway with --no-validate):\n"
        "  Bundle.entry[1].resource.tumourGrade: unknown element 'tumourGrade' [schema-unknown-element]\n"
    )
    assert server.seen == []


def test_unknown_case_is_bad_input(run_cli):
    result = run_cli("push", "case99", "--server", "http://127.0.0.1:9/fhir")
    assert result.code == 2
    assert result.err == "Error: 'case99' is neither a built-in case (case1, case2) nor a case file\n"


def test_broken_bundle_file_is_bad_input(run_cli, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"resourceType": "Bundle",\n  "type": "transaction"\n  "entry": []}')
    result = run_cli("push", broken, "--server", "http://127.0.0.1:9/fhir")
    assert result.code == 2
    assert result.err == f"Error: {broken}:3:3: not valid JSON: Expecting ',' delimiter\n"


def test_push_validates_the_builtin_cases_first(faulty_server, run_cli):
    """As a user pushes: local validation on.  Fails when export and validator disagree."""
    from .test_server_faults import transaction_ok

    server = faulty_server(transaction_ok)
    result = run_cli("push", *CASES, "--server", server.base_url)
    assert result.code == 0, result.err
    assert len(server.seen) == 2
