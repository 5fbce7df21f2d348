"""The server layer's pieces on their own: no network."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhirconv.errors import ExitCode, InputError
from fhirconv.server import errors
from fhirconv.server.client import FhirClient, display_url, is_loopback, normalize_base
from fhirconv.server.pull import offers_everything, searchable_types
from fhirconv.server.retry import RetryPolicy, parse_retry_after
from fhirconv.server.transaction import as_transaction, parse_location, split_transaction
from fhirconv.server.verify import comparable, differences

from . import conftest

SERVER_PACKAGE = Path(__file__).resolve().parents[2] / "fhirconv" / "server"


def test_exit_codes_of_the_server_errors():
    assert errors.ServerUnreachable("x").exit_code == ExitCode.SERVER_UNREACHABLE == 3
    assert errors.AuthorizationError("x").exit_code == ExitCode.SERVER_AUTH == 4
    assert errors.ServerFailure("x").exit_code == ExitCode.SERVER_ERROR == 5
    assert errors.ServerRejected("x").exit_code == ExitCode.FINDINGS == 1
    assert errors.ResourceNotFound("x").exit_code == ExitCode.FINDINGS
    assert errors.InsecureTransport("x").exit_code == ExitCode.BAD_INPUT == 2


def test_outcome_is_rendered_in_full():
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "processing",
                "details": {
                    "text": "Unknown code",
                    "coding": [{"system": "http://x", "code": "E1", "display": "Bad"}],
                },
                "diagnostics": "at line 3",
                "expression": ["Observation.code"],
            },
            {"severity": "warning", "code": "informational"},
        ],
    }
    error = errors.ServerRejected("POST x: rejected", outcome, 422)
    assert str(error) == (
        "POST x: rejected\n"
        "  error processing: Unknown code; [http://x|E1] Bad; at line 3 (at Observation.code)\n"
        "  warning informational: (no details)"
    )
    assert error.outcome is outcome
    assert error.status == 422


def test_retry_after_in_seconds_and_as_a_date():
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Sat, 01 Mar 2025 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_doubles_up_to_the_cap_and_retry_after_wins():
    policy = RetryPolicy(retries=5, backoff=0.5, max_delay=3.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(1, "2") == 2.0
    assert policy.delay(1, "3600") == 3.0


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("[::1]", True),
        ("localhost", True),
        ("api.localhost", True),
        ("10.0.0.1", False),
        ("fhir.example.org", False),
        ("localhost.example.org", False),
    ],
)
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_token_over_http_only_to_loopback_or_when_allowed():
    with pytest.raises(errors.InsecureTransport):
        FhirClient("http://10.1.2.3/fhir", token="t")
    FhirClient("http://10.1.2.3/fhir", token="t", allow_insecure_http=True).close()
    FhirClient("http://10.1.2.3/fhir").close()  # no token, nothing to protect
    FhirClient("http://127.0.0.1:8080/fhir", token="t").close()
    FhirClient("https://fhir.example.org/r4", token="t").close()


def test_base_url_checks_and_credentials_are_not_displayed():
    assert normalize_base("https://h/fhir/r4///") == "https://h/fhir/r4/"
    with pytest.raises(errors.InsecureTransport, match="must be an http:// or https:// URL"):
        normalize_base("ftp://h/fhir")
    with pytest.raises(errors.InsecureTransport, match="without \\?query"):
        normalize_base("https://h/fhir?x=1")
    assert display_url("https://user:pw@h:8443/fhir/") == "https://h:8443/fhir/"


@pytest.mark.parametrize(
    ("location", "parsed"),
    [
        ("Patient/p1", ("Patient", "p1", None)),
        ("Patient/p1/_history/3", ("Patient", "p1", "3")),
        ("http://h/fhir/Observation/o-1/_history/abc", ("Observation", "o-1", "abc")),
        ("https://h/fhir/Condition/c.1", ("Condition", "c.1", None)),
        ("", None),
        ("not a location", None),
    ],
)
def test_parse_location(location, parsed):
    assert parse_location(location) == parsed


def test_as_transaction_refuses_what_it_cannot_push():
    with pytest.raises(InputError, match=r"x\.json: not a FHIR Bundle"):
        as_transaction({"resourceType": "Patient"}, "x.json")
    with pytest.raises(InputError, match="has no entries"):
        as_transaction({"resourceType": "Bundle", "type": "transaction", "entry": []}, "x.json")
    with pytest.raises(InputError, match="not a 'searchset' Bundle"):
        as_transaction({"resourceType": "Bundle", "type": "searchset", "entry": [{}]}, "x.json")
    with pytest.raises(InputError, match=r"entry\[0\] has no request"):
        as_transaction(
            {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {}}]}, "x.json"
        )
    with pytest.raises(InputError, match=r"entry\[0\] has no resource with resourceType and id"):
        as_transaction(
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "X"}}]},
            "x.json",
        )


def test_everything_is_found_where_servers_declare_it():
    assert not offers_everything({"rest": [{"mode": "server"}]})
    assert offers_everything({"rest": [{"operation": [{"name": "everything", "definition": "x"}]}]})
    assert offers_everything(
        {
            "rest": [
                {
                    "resource": [
                        {
                            "type": "Patient",
                            "operation": [
                                {
                                    "name": "patient-everything",
                                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                                }
                            ],
                        }
                    ]
                }
            ]
        }
    )
    capabilities = {
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {"type": "Condition", "interaction": [{"code": "search-type"}]},
                    {"type": "Observation", "interaction": [{"code": "read"}]},
                ],
            }
        ]
    }
    assert searchable_types(capabilities, ["Condition", "Observation", "Procedure"]) == ["Condition"]
    assert searchable_types({}, ["Condition"]) == ["Condition"]


def test_verify_ignores_server_bookkeeping_only():
    sent = {"resourceType": "Patient", "id": "p", "meta": {"profile": ["x"]}, "active": True}
    got = {
        **sent,
        "meta": {"profile": ["x"], "versionId": "2", "lastUpdated": "t", "source": "#abc"},
        "text": {"status": "generated", "div": "<div/>"},
    }
    assert list(differences("Patient/p", comparable(sent), comparable(got, sent), "Patient")) == []
    changed = {**got, "active": 1, "gender": "female"}
    found = [str(d) for d in differences("Patient/p", comparable(sent), comparable(changed, sent), "Patient")]
    assert found == [
        "Patient/p: Patient.active: sent True, server has 1",
        "Patient/p: Patient.gender: sent nothing, server has 'female'",
    ]
    # A sent meta.source the server replaced is a difference.
    with_source = {**sent, "meta": {"source": "https://doi.org/x"}}
    replaced = {**with_source, "meta": {"source": "#req-1"}}
    assert (
        len(list(differences("Patient/p", comparable(with_source), comparable(replaced, with_source), "P")))
        == 1
    )


def _transaction(refs: list[list[int]]) -> dict:
    entries = []
    for i, targets in enumerate(refs):
        resource = {
            "resourceType": "Observation",
            "id": f"o{i}",
            "hasMember": [{"reference": f"urn:uuid:00000000-0000-4000-8000-{t:012d}"} for t in targets],
        }
        entries.append(
            {
                "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
                "resource": resource,
                "request": {"method": "PUT", "url": f"Observation/o{i}"},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=30).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(st.integers(min_value=0, max_value=n - 1), max_size=3), min_size=n, max_size=n),
            st.integers(min_value=1, max_value=12),
        )
    )
)
def test_split_parts_are_small_complete_and_self_contained(case):
    refs, size = case
    bundle = _transaction(refs)
    try:
        parts = split_transaction(bundle, size, "b.json")
    except InputError as err:
        assert "in a cycle" in str(err)
        return
    ids = [e["resource"]["id"] for part in parts for e in part["entry"]]
    assert sorted(ids) == sorted(f"o{i}" for i in range(len(refs)))
    if len(refs) <= size:
        assert parts == [bundle]
        return
    stored: set[str] = set()
    for part in parts:
        assert 1 <= len(part["entry"]) <= size
        here = {e["request"]["url"] for e in part["entry"]}
        for entry in part["entry"]:
            for member in entry["resource"]["hasMember"]:
                # No urn:uuid left, and every target is stored by now or in this part.
                assert member["reference"] in stored | here
        stored |= here


def test_split_refuses_what_it_cannot_split():
    bundle = _transaction([[1], [0], []])
    with pytest.raises(InputError, match="2 resources refer to each other in a cycle"):
        split_transaction(bundle, 1, "b.json")
    bundle["entry"][2]["request"] = {"method": "POST", "url": "Observation"}
    with pytest.raises(InputError, match=r"Bundle.entry\[2\] is POST Observation, not PUT Type/id"):
        split_transaction(bundle, 2, "b.json")


def test_server_layer_does_not_reach_up():
    for path in SERVER_PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            for name in names:
                assert not name.startswith(
                    (
                        "fhirconv.model",
                        "fhirconv.mapping",
                        "fhirconv.commands",
                        "fhirconv.cli",
                        "fhirconv.validation",
                    )
                ), f"{path.name} imports {name}"


def test_help_does_not_import_httpx():
    code = "import sys, fhirconv.cli; print('httpx' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_fixture_fails_loudly_without_node_modules(tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "NODE_SERVER_DIR", tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"run `npm ci --prefix tests/fhir_server`"):
        conftest._start_node_server()


def test_dependency_order_puts_referenced_resources_first():
    from fhirconv.server.references import dependency_order

    def r(kind, rid, *refs):
        return {"resourceType": kind, "id": rid, "x": [{"reference": ref} for ref in refs]}

    resources = [
        r("Condition", "c1", "Patient/p", "Observation/stage"),  # cycle with the stage
        r("DetectedIssue", "d", "MedicationStatement/m"),
        r("MedicationStatement", "m", "Patient/p"),
        r("Observation", "stage", "Condition/c1", "Observation/t"),
        r("Observation", "t", "Patient/p"),
        r("Patient", "p"),
    ]
    ordered = [f"{x['resourceType']}/{x['id']}" for x in dependency_order(resources)]
    assert sorted(ordered) == sorted(f"{x['resourceType']}/{x['id']}" for x in resources)
    for before, after in [
        ("Patient/p", "Condition/c1"),
        ("MedicationStatement/m", "DetectedIssue/d"),
        ("Observation/t", "Observation/stage"),
        ("Patient/p", "MedicationStatement/m"),
    ]:
        assert ordered.index(before) < ordered.index(after)
    # The cycle's two members sit next to each other.
    assert abs(ordered.index("Condition/c1") - ordered.index("Observation/stage")) == 1
