"""Every way a server can fail, against a local server that misbehaves on purpose.

Each case must end in one clear line (plus the server's OperationOutcome when it
sent one), the documented exit code, and never a traceback or the token.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from .conftest import DATA, Reply, Seen

SMALL = DATA / "small-transaction.json"
COLLECTION_FILE = DATA / "small-collection.json"
TOKEN = "tok-9f8e7d6c5b4a-do-not-print"
FAST = ("--backoff", "0.01", "--no-validate")


def outcome(text: str, code: str = "exception") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }


def transaction_ok(request: Seen) -> Reply:
    """A correct transaction-response to whatever transaction came in."""
    bundle = json.loads(request.body)
    entries = []
    for i, entry in enumerate(bundle["entry"]):
        url = entry["request"]["url"]
        if entry["request"]["method"] == "POST":
            url = f"{url}/new-{i}"  # the server names what is POSTed
        entries.append({"response": {"status": "201 Created", "location": f"{url}/_history/1"}})
    return Reply(200, {"resourceType": "Bundle", "type": "transaction-response", "entry": entries})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_exit_3(run_cli):
    url = f"http://127.0.0.1:{free_port()}/fhir"
    result = run_cli("push", SMALL, "--server", url, "--retries", "1", *FAST)
    assert result.code == 3
    assert result.err.splitlines()[-1] == f"Error: Cannot reach {url}/: connection refused (after 2 attempts)"
    assert "Retrying: connection refused; waiting 0.01 s (attempt 2 of 2)" in result.err


def test_500_then_success_is_retried(faulty_server, run_cli):
    server = faulty_server(Reply(500, outcome("database hiccup")), transaction_ok)
    result = run_cli("push", SMALL, "--server", server.base_url, *FAST)
    assert result.code == 0, result.err
    assert [s.method for s in server.seen] == ["POST", "POST"]
    assert server.seen[0].body == server.seen[1].body
    assert (
        "Retrying: server answered 500 Internal Server Error; waiting 0.01 s (attempt 2 of 4)" in result.err
    )
    assert "201 Created PUT Patient/srv-small-patient" in result.out


def test_429_waits_as_long_as_retry_after_says(faulty_server, run_cli):
    server = faulty_server(
        Reply(429, outcome("slow down", "throttled"), {"Retry-After": "1"}), transaction_ok
    )
    result = run_cli("push", SMALL, "--server", server.base_url, *FAST)
    assert result.code == 0, result.err
    assert "Retrying: server answered 429 Too Many Requests; waiting 1 s (attempt 2 of 4)" in result.err
    # --backoff says 0.01 s; the server's Retry-After wins.
    assert server.seen[1].at - server.seen[0].at >= 0.95


def test_5xx_that_does_not_go_away_is_exit_5_with_the_outcome(faulty_server, run_cli):
    server = faulty_server(Reply(503, outcome("maintenance until noon")))
    result = run_cli("push", SMALL, "--server", server.base_url, "--retries", "2", *FAST)
    assert result.code == 5
    assert len(server.seen) == 3
    assert result.err.endswith(
        f"Error: POST {server.base_url}/: the server answered 503 Service Unavailable after 3 attempts\n"
        "  error exception: maintenance until noon\n"
    )


def test_timeout_is_exit_3(faulty_server, run_cli):
    server = faulty_server(Reply(200, {"resourceType": "Bundle"}, delay=2.0))
    result = run_cli("push", SMALL, "--server", server.base_url, "--timeout", "0.3", "--retries", "0", *FAST)
    assert result.code == 3
    assert result.err == (
        f"Error: POST {server.base_url}/ timed out (no answer) after 1 attempt; "
        "the server may be down or slow (see --timeout)\n"
    )


def test_non_json_error_page_is_exit_5(faulty_server, run_cli):
    page = "<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
    server = faulty_server(Reply(502, page, content_type="text/html"))
    result = run_cli("push", SMALL, "--server", server.base_url, "--retries", "0", *FAST)
    assert result.code == 5
    assert result.err == (
        f"Error: POST {server.base_url}/: the server answered 502 Bad Gateway: (text/html) '{page}'\n"
    )


def test_success_that_is_not_fhir_is_exit_5(faulty_server, run_cli):
    server = faulty_server(Reply(200, "<html>Welcome to the intranet</html>", content_type="text/html"))
    result = run_cli("push", SMALL, "--server", server.base_url, *FAST)
    assert result.code == 5
    assert result.err == (
        f"Error: POST {server.base_url}/ answered 200 OK with something that is not FHIR JSON: "
        "(text/html) '<html>Welcome to the intranet</html>'\n"
    )


def test_401_is_exit_4_and_the_token_stays_secret(faulty_server, run_cli, caplog):
    caplog.set_level("DEBUG")

    def echo_headers(request: Seen) -> Reply:
        # A badly configured proxy that echoes the request headers into its page.
        return Reply(401, f"<p>Denied: {request.headers.get('Authorization')}</p>", content_type="text/html")

    server = faulty_server(echo_headers)
    result = run_cli("push", SMALL, "--server", server.base_url, *FAST, env={"FHIRCONV_TOKEN": TOKEN})
    assert result.code == 4
    assert server.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert result.err == (
        f"Error: POST {server.base_url}/: the server refused the credentials (401 Unauthorized). "
        "Check --token or FHIRCONV_TOKEN.\n"
    )
    assert len(server.seen) == 1, "credentials are not retried"
    for text in (result.out, result.err, caplog.text):
        assert TOKEN not in text


def test_echoed_token_is_struck_from_quoted_pages(faulty_server, run_cli):
    server = faulty_server(
        lambda request: Reply(
            500, f"<pre>{request.headers.get('Authorization')}</pre>", content_type="text/html"
        )
    )
    result = run_cli("push", SMALL, "--server", server.base_url, "--retries", "0", *FAST, "--token", TOKEN)
    assert result.code == 5
    assert "Bearer [token]" in result.err
    assert TOKEN not in result.err


def test_token_not_sent_over_plain_http_to_another_host(run_cli):
    result = run_cli("push", SMALL, "--server", "http://fhir.example.org/r4", "--token", TOKEN, *FAST)
    assert result.code == 2
    assert result.err == (
        "Error: Refusing to send the token over plain http to fhir.example.org: anyone on the way could "
        "read it. Use an https:// server URL, or pass --allow-insecure-http if you accept that.\n"
    )


def test_verify_reports_what_the_server_changed(faulty_server, run_cli):
    sent = json.loads(SMALL.read_text())
    condition = next(e["resource"] for e in sent["entry"] if e["resource"]["resourceType"] == "Condition")
    names = {e["fullUrl"]: e["request"]["url"] for e in sent["entry"]}

    def read_back(request: Seen) -> Reply:
        kind, rid = request.path.split("/")[-2:]
        resource = next(e["resource"] for e in sent["entry"] if e["resource"]["id"] == rid)
        text = json.dumps(resource)
        for full_url, name in names.items():  # as a server rewrites urn:uuid references
            text = text.replace(full_url, name)
        resource = json.loads(text)
        resource["meta"] = {"versionId": "1", "lastUpdated": "2025-01-01T00:00:00Z"}
        resource["text"] = {"status": "generated", "div": "<div xmlns='http://www.w3.org/1999/xhtml'/>"}
        if kind == "Condition":
            resource["code"]["coding"][0]["display"] = "Breast cancer"
            del resource["onsetAge"]
        return Reply(200, resource)

    server = faulty_server(transaction_ok, read_back)
    result = run_cli("push", SMALL, "--server", server.base_url, "--verify", *FAST)
    assert result.code == 1
    assert condition["id"] == "srv-small-primary"
    assert (
        "  differs: Condition/srv-small-primary: Condition.code.coding[0].display: sent "
        "'Malignant neoplasm of breast (disorder)', server has 'Breast cancer'\n" in result.out
    )
    assert "  differs: Condition/srv-small-primary: Condition.onsetAge: sent {" in result.out
    assert "server has nothing" in result.out
    # Version, lastUpdated and a generated narrative are the server's to add: not differences.
    assert result.out.count("differs:") == 2
    assert result.err.endswith("Error: --verify found 2 differences\n")


def test_pull_uses_everything_when_offered_and_follows_next(faulty_server, run_cli):
    base_holder: dict[str, str] = {}

    def answer(request: Seen) -> Reply:
        path = request.path.split("?")[0]
        if path.endswith("/metadata"):
            return Reply(
                200,
                {
                    "resourceType": "CapabilityStatement",
                    "status": "active",
                    "kind": "instance",
                    "fhirVersion": "4.0.1",
                    "format": ["json"],
                    "rest": [
                        {
                            "mode": "server",
                            "operation": [
                                {
                                    "name": "everything",
                                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                                }
                            ],
                        }
                    ],
                },
            )
        if path.endswith("/Patient/p1"):
            return Reply(200, {"resourceType": "Patient", "id": "p1"})
        if path.endswith("/Patient/p1/$everything") and "page=2" not in request.path:
            return Reply(
                200,
                {
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "link": [
                        {"relation": "next", "url": f"{base_holder['base']}/Patient/p1/$everything?page=2"}
                    ],
                    "entry": [
                        {"resource": {"resourceType": "Patient", "id": "p1"}},
                        {
                            "resource": {
                                "resourceType": "Condition",
                                "id": "c1",
                                "subject": {"reference": "Patient/p1"},
                            }
                        },
                    ],
                },
            )
        if path.endswith("/Patient/p1/$everything"):
            return Reply(
                200,
                {
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "entry": [{"resource": {"resourceType": "Observation", "id": "o1"}}],
                },
            )
        return Reply(404, outcome("no", "not-found"))

    server = faulty_server(answer)
    base_holder["base"] = server.base_url
    result = run_cli("pull", "--server", server.base_url, "--patient", "p1", "--bundle-only")
    assert result.code == 0, result.err
    ids = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in json.loads(result.out)["entry"]]
    assert ids == [("Patient", "p1"), ("Condition", "c1"), ("Observation", "o1")]
    assert [s.path for s in server.seen] == [
        "/fhir/Patient/p1",
        "/fhir/metadata",
        "/fhir/Patient/p1/$everything",
        "/fhir/Patient/p1/$everything?page=2",
    ]


def test_next_link_to_another_server_is_not_followed(faulty_server, run_cli):
    def answer(request: Seen) -> Reply:
        if request.path.endswith("/metadata"):
            return Reply(
                200,
                {
                    "resourceType": "CapabilityStatement",
                    "status": "active",
                    "kind": "instance",
                    "fhirVersion": "4.0.1",
                    "format": ["json"],
                    "rest": [{"mode": "server"}],
                },
            )
        if request.path.endswith("/Patient/p1"):
            return Reply(200, {"resourceType": "Patient", "id": "p1"})
        return Reply(
            200,
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "link": [{"relation": "next", "url": "https://elsewhere.example/fhir/Condition?p=2"}],
            },
        )

    server = faulty_server(answer)
    result = run_cli("pull", "--server", server.base_url, "--patient", "p1", "--token", TOKEN)
    assert result.code == 5
    assert result.err == (
        # AdverseEvent: the first type of the Patient compartment searched.
        "Error: AdverseEvent: the server's `next` link points to another server "
        "(https://elsewhere.example/fhir/Condition?p=2); not following it\n"
    )
    assert all("elsewhere" not in s.path for s in server.seen)


def test_real_process_exit_code_and_one_line(tmp_path):
    """The installed entry point, not just main(): one line on stderr, no traceback."""
    url = f"http://127.0.0.1:{free_port()}/fhir"
    done = subprocess.run(
        [sys.executable, "-m", "fhirconv", "pull", "--server", url, "--patient", "x", "--retries", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    assert done.stderr == f"Error: Cannot reach {url}/Patient/x: connection refused (after 1 attempt)\n"
    assert done.stdout == ""


@pytest.mark.parametrize("option", ["push", "pull"])
def test_commands_have_help(run_cli, option):
    result = run_cli(option, "--help")
    assert result.code == 0
    assert "Exit codes: 0 ok" in result.out
    assert "FHIRCONV_TOKEN" in result.out


def _post_bundle(tmp_path):
    path = tmp_path / "post.json"
    entry = {
        "fullUrl": "urn:uuid:6b1e0b8e-4c1a-4f55-9c11-000000000001",
        "resource": {"resourceType": "Patient", "gender": "female"},
        "request": {"method": "POST", "url": "Patient"},
    }
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [entry]}))
    return path


def test_non_idempotent_transaction_is_not_repeated_after_a_500(faulty_server, run_cli, tmp_path):
    # A POST entry would be created twice if the first attempt had in fact gone through.
    server = faulty_server(Reply(500, outcome("maybe stored")), transaction_ok)
    result = run_cli("push", _post_bundle(tmp_path), "--server", server.base_url, *FAST)
    assert result.code == 5
    assert len(server.seen) == 1
    assert "Retrying" not in result.err


def test_non_idempotent_transaction_is_repeated_after_a_503(faulty_server, run_cli, tmp_path):
    # 503 says the server did not process the request: safe to send again.
    server = faulty_server(Reply(503, outcome("busy")), transaction_ok)
    result = run_cli("push", _post_bundle(tmp_path), "--server", server.base_url, *FAST)
    assert result.code == 0, result.err
    assert len(server.seen) == 2
    assert "201 Created POST Patient -> Patient/new-0\n" in result.out


def test_pull_without_a_capability_statement_searches_every_type(faulty_server, run_cli):
    def answer(request: Seen) -> Reply:
        path = request.path.split("?")[0]
        if path.endswith("/Patient/p1"):
            return Reply(200, {"resourceType": "Patient", "id": "p1"})
        if path.endswith("/Condition"):
            assert "patient=Patient%2Fp1" in request.path
            return Reply(
                200,
                {
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}}],
                },
            )
        if path.endswith("/metadata"):
            return Reply(404, outcome("no metadata here", "not-supported"))
        return Reply(200, {"resourceType": "Bundle", "type": "searchset"})

    server = faulty_server(answer)
    result = run_cli("pull", "--server", server.base_url, "--patient", "p1", "--bundle-only")
    assert result.code == 0, result.err
    assert [e["resource"]["id"] for e in json.loads(result.out)["entry"]] == ["p1", "c1"]
    searched = {s.path.split("?")[0].rsplit("/", 1)[-1] for s in server.seen}
    assert {"Condition", "Observation", "MedicationStatement", "Procedure", "Specimen"} <= searched


def test_pull_only_the_types_asked_for(faulty_server, run_cli):
    def answer(request: Seen) -> Reply:
        if request.path.endswith("/Patient/p1"):
            return Reply(200, {"resourceType": "Patient", "id": "p1"})
        if request.path.endswith("/metadata"):
            return Reply(
                200,
                {
                    "resourceType": "CapabilityStatement",
                    "status": "active",
                    "kind": "instance",
                    "fhirVersion": "4.0.1",
                    "format": ["json"],
                    "rest": [{"mode": "server"}],
                },
            )
        return Reply(200, {"resourceType": "Bundle", "type": "searchset"})

    server = faulty_server(answer)
    result = run_cli(
        "pull",
        "--server",
        server.base_url,
        "--patient",
        "p1",
        "--bundle-only",
        "--type",
        "Observation",
        "--type",
        "Condition",
    )
    assert result.code == 0, result.err
    assert [s.path for s in server.seen[2:]] == [
        "/fhir/Observation?subject=Patient%2Fp1",
        "/fhir/Condition?patient=Patient%2Fp1",
    ]
    bad = run_cli("pull", "--server", server.base_url, "--patient", "p1", "--type", "observation;drop")
    assert bad.code == 2
    assert bad.err == (
        "Error: --type 'observation;drop' is not a FHIR R4 resource type; did you mean Observation?\n"
    )


def test_ok_status_with_an_operation_outcome_is_shown_in_full(faulty_server, run_cli):
    server = faulty_server(Reply(200, outcome("bundle ignored: server is read-only", "not-supported")))
    result = run_cli("push", SMALL, "--server", server.base_url, *FAST)
    assert result.code == 5
    assert result.err == (
        "Error: transaction: expected a Bundle from the server, got an OperationOutcome\n"
        "  error not-supported: bundle ignored: server is read-only\n"
    )


def test_progress_bar_only_on_a_terminal(faulty_server, run_cli, monkeypatch):
    server = faulty_server(transaction_ok)
    plain = run_cli("push", SMALL, COLLECTION_FILE, "--server", server.base_url, *FAST)
    assert plain.code == 0, plain.err
    assert "Pushing" not in plain.err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    shown = run_cli("push", SMALL, COLLECTION_FILE, "--server", server.base_url, *FAST)
    assert shown.code == 0, shown.err
    assert "Pushing" in shown.err
    assert "Pushing" not in shown.out


def test_entry_failures_of_a_non_atomic_server_are_shown(faulty_server, run_cli):
    # A server that applies some entries and refuses others (not what FHIR asks of
    # a transaction, but seen in the field) must not pass for a success.
    def partial(request: Seen) -> Reply:
        reply = transaction_ok(request)
        reply.body["entry"][1]["response"] = {
            "status": "422 Unprocessable Entity",
            "outcome": outcome("Condition.code is required", "required"),
        }
        return reply

    server = faulty_server(partial)
    result = run_cli("push", SMALL, COLLECTION_FILE, "--server", server.base_url, *FAST)
    assert result.code == 1
    assert (
        "  entry 1 (PUT Condition/srv-small-primary) failed: 422 Unprocessable Entity\n"
        "  error required: Condition.code is required\n"
    ) in result.err
    assert result.err.endswith(
        "Pushed 0 of 2 bundles (0 resources) to "
        f"{server.base_url}\nError: the server rejected 2 of 2 bundles: {SMALL}, {COLLECTION_FILE}\n"
    )


def test_loopback_server_is_reached_directly_despite_a_proxy(faulty_server, run_cli, monkeypatch):
    proxy = faulty_server(Reply(502, "proxy: cannot reach the client's loopback", content_type="text/plain"))
    server = faulty_server(transaction_ok)
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url.removesuffix("/fhir"))
    result = run_cli("push", SMALL, "--server", server.base_url, *FAST)
    assert result.code == 0, result.err
    assert proxy.seen == []
    assert len(server.seen) == 1


def test_patient_must_be_a_fhir_id(run_cli):
    result = run_cli("pull", "--server", "http://127.0.0.1:9/fhir", "--patient", "../metadata")
    assert result.code == 2
    assert result.err == (
        "Error: --patient '../metadata' is not a FHIR id (letters, digits, '-' and '.', at most 64)\n"
    )
