"""Pushing what others produced, and servers that cap a transaction's size.

The user's bundle is validated as given (the official mCODE patient bundle is a collection,
and its profile says so); a server that refuses a transaction as too large gets the same
entries in smaller transactions, with no flag; a push that ends half-stored says so.
"""

from __future__ import annotations

import json

from .conftest import DATA, Reply, Seen
from .test_server_faults import FAST, outcome, transaction_ok

SMALL = DATA / "small-transaction.json"


def test_a_case_larger_than_the_server_takes_goes_in_parts_without_a_flag(fhir_server, run_cli):
    result = run_cli("push", "case2", "--server", fhir_server.base_url, "--verify")
    assert result.code == 0, result.err
    assert result.err.startswith(
        "case2: the server refused 77 entries in one transaction; sending them in 2 parts of at "
        "most 39 (--max-entries sets the size from the start)\n"
    )
    assert "case2 (part 1 of 2): 39 entries\n" in result.out
    assert "case2 (part 2 of 2): 38 entries\n" in result.out
    assert result.out.count("as sent") == 2
    pushed = f"Pushed 1 of 1 bundle in 2 transactions (77 resources) to {fhir_server.base_url}\n"
    assert result.err.endswith(pushed)


def test_the_official_mcode_patient_bundle_is_validated_as_given(fhir_package, fhir_server, run_cli):
    jenny = fhir_package("hl7.fhir.us.mcode") / "example" / "Bundle-mcode-patient-bundle-jenny-m.json"
    assert json.loads(jenny.read_text())["type"] == "collection"
    result = run_cli("push", jenny, "--server", fhir_server.base_url)
    assert result.code == 0, result.err
    assert result.err == f"Pushed 1 of 1 bundle (40 resources) to {fhir_server.base_url}\n"


def test_a_key_given_twice_in_a_bundle_file_is_refused_before_sending(run_cli, tmp_path):
    text = SMALL.read_text().replace('"status": "final"', '"status": "final", "status": "final"', 1)
    path = tmp_path / "twice.json"
    path.write_text(text)
    result = run_cli("push", path, "--server", "http://127.0.0.1:9/fhir")
    assert result.code == 1
    assert "duplicate key 'status' [json-duplicate-key]" in result.err


def _too_large(request: Seen) -> Reply | None:
    entries = len(json.loads(request.body)["entry"])
    if entries > 4:
        return Reply(400, outcome("Transaction contains more update operations than allowed", "invalid"))
    return None


def test_each_part_is_split_again_until_the_server_takes_it(faulty_server, run_cli):
    server = faulty_server(lambda request: _too_large(request) or transaction_ok(request))
    result = run_cli("push", SMALL, "--server", server.base_url, *FAST)
    assert result.code == 0, result.err
    sizes = [len(json.loads(seen.body)["entry"]) for seen in server.seen]
    assert sizes == [9, 5, 3, 2, 4]  # 9 refused; 5 refused, sent as 3 + 2; then the other 4
    assert f"Pushed 1 of 1 bundle in 3 transactions (9 resources) to {server.base_url}" in result.err


def test_a_bundle_that_cannot_be_split_names_the_way_out(faulty_server, run_cli, tmp_path):
    bundle = json.loads(SMALL.read_text())
    for entry in bundle["entry"]:
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    path = tmp_path / "posts.json"
    path.write_text(json.dumps(bundle))
    server = faulty_server(Reply(413, outcome("Request Entity Too Large", "too-costly")))
    result = run_cli("push", path, "--server", server.base_url, *FAST)
    assert result.code == 1
    assert result.err.startswith(
        f"Error: {path}: the server refused a transaction of 9 entries as too large, and it cannot go "
        "in parts (cannot split into transactions of 5: Bundle.entry[0] is POST Patient, not PUT "
        "Type/id):\n"
    )
    assert len(server.seen) == 1


def test_a_push_that_ends_half_stored_says_what_the_server_holds(faulty_server, run_cli):
    server = faulty_server(
        Reply(413, outcome("too large", "too-costly")),
        transaction_ok,
        Reply(422, outcome("Observation.code is required", "required")),
    )
    result = run_cli("push", SMALL, "--server", server.base_url, *FAST)
    assert result.code == 1
    assert result.err.endswith(
        f"Error: the server rejected 1 of 1 bundles: {SMALL}; stored: {SMALL} (part 1 of 2); "
        f"rejected: {SMALL} (part 2 of 2) (pushing again updates what is stored)\n"
    )
