"""Input of the wrong kind: every command says what it was given and what to run instead."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

import pytest

from fhirconv.cases import builtin_text
from fhirconv.kinds import Kind, recognise

BUNDLE = Path("examples/case2.bundle.json")


@pytest.fixture
def files(tmp_path):
    """One file of each kind, made from the built-in case 2."""
    import yaml

    bundle = json.loads(BUNDLE.read_text())
    made = {
        "yaml": tmp_path / "case2.yaml",
        "json": tmp_path / "case2.json",
        "ndjson": tmp_path / "case2.ndjson",
        "resource": tmp_path / "patient.json",
        "gzip": tmp_path / "case2.json.gz",
        "empty": tmp_path / "empty.yaml",
    }
    made["yaml"].write_text(builtin_text("case2"))
    made["json"].write_text(json.dumps(yaml.safe_load(builtin_text("case2")), default=str))
    made["ndjson"].write_text("".join(json.dumps(e["resource"]) + "\n" for e in bundle["entry"]))
    made["resource"].write_text(json.dumps(bundle["entry"][0]["resource"]))
    made["gzip"].write_bytes(gzip.compress(BUNDLE.read_bytes()))
    made["empty"].write_text("\n")
    return made


def feed_stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_recognise_each_kind(files):
    assert recognise(BUNDLE.read_bytes()).description == "a FHIR Bundle (transaction, 77 entries)"
    expected = {
        "yaml": (Kind.CASE_FILE, "a case file (YAML)"),
        "json": (Kind.CASE_FILE, "a case file (JSON)"),
        "ndjson": (Kind.NDJSON, "NDJSON (77 FHIR resources, one a line)"),
        "resource": (Kind.RESOURCE, "a FHIR Patient resource"),
        "gzip": (Kind.FOREIGN, "a gzip archive"),
        "empty": (Kind.EMPTY, "empty"),
    }
    for name, (kind, description) in expected.items():
        found = recognise(files[name].read_bytes())
        assert (found.kind, found.description) == (kind, description), name
    assert recognise(b"just: [some, yaml]").kind is Kind.OTHER
    assert recognise(b'{"resourceType": "Bundle"').kind is Kind.OTHER  # broken JSON: the parser says more


@pytest.mark.parametrize("command", ["show", "export", "roundtrip"])
def test_commands_that_read_a_case_name_what_they_were_given(run_cli, files, command):
    done = run_cli(command, BUNDLE)
    assert done.code == 2
    assert done.err == (
        f"Error: {BUNDLE} is a FHIR Bundle (transaction, 77 entries), not a case file; "
        f"did you mean `fhirconv import {BUNDLE}`?\n"
    )
    done = run_cli(command, files["ndjson"])
    assert done.err == (
        f"Error: {files['ndjson']} is NDJSON (77 FHIR resources, one a line), not a case file; "
        f"did you mean `fhirconv import {files['ndjson']}`?\n"
    )
    done = run_cli(command, files["resource"])
    assert done.err == (
        f"Error: {files['resource']} is a FHIR Patient resource, not a case file; "
        f"did you mean `fhirconv import {files['resource']}`?\n"
    )
    done = run_cli(command, files["gzip"])
    assert done.err == f"Error: {files['gzip']} is a gzip archive, not a case file\n"
    done = run_cli(command, files["empty"])
    assert done.err == f"Error: {files['empty']} is empty, not a case file\n"


def test_import_of_a_case_file(run_cli, files):
    for name in ("yaml", "json"):
        done = run_cli("import", files[name])
        assert done.code == 2
        assert done.err == (
            f"Error: {files[name]} is a case file ({name.upper()}), not FHIR JSON; "
            f"did you mean `fhirconv export {files[name]}`?\n"
        )
    done = run_cli("import", files["gzip"])
    assert done.err == f"Error: {files['gzip']} is a gzip archive, not FHIR JSON\n"


def test_validate_of_a_case_file(run_cli, files):
    done = run_cli("validate", files["yaml"], files["gzip"], files["empty"])
    assert done.code == 2
    assert done.out == ""
    assert done.err == (
        f"Error: {files['yaml']} is a case file (YAML), not FHIR JSON; "
        f"did you mean `fhirconv export {files['yaml']} | fhirconv validate -`?\n"
        f"Error: {files['gzip']} is a gzip archive, not FHIR JSON\n"
        f"Error: {files['empty']} is empty, not FHIR JSON\n"
    )


def test_push_of_ndjson_or_a_resource(run_cli, files):
    for name, what in (
        ("ndjson", "NDJSON (77 FHIR resources, one a line)"),
        ("resource", "a FHIR Patient resource"),
    ):
        done = run_cli("push", files[name], "--server", "http://127.0.0.1:9/fhir")
        assert done.code == 2
        assert done.err == (
            f"Error: {files[name]} is {what}, not a case file or a FHIR Bundle; "
            f"did you mean `fhirconv import {files[name]}`?\n"
        )


def test_import_reads_standard_input(run_cli, monkeypatch):
    feed_stdin(monkeypatch, BUNDLE.read_bytes())
    done = run_cli("import", "-")
    assert done.code == 0, done.err
    assert done.out.startswith("# Imported by fhirconv: case case2\n")
    assert run_cli("import", "-", "-").err == "Error: standard input (-) can be given only once\n"


def test_import_of_ndjson_on_standard_input(run_cli, monkeypatch, files):
    feed_stdin(monkeypatch, files["ndjson"].read_bytes())
    done = run_cli("import", "-")
    assert done.code == 0, done.err
    assert "id: case2\n" in done.out


def test_stdin_of_the_wrong_kind_names_dash_in_the_hint(run_cli, monkeypatch, files):
    feed_stdin(monkeypatch, files["yaml"].read_bytes())
    done = run_cli("import", "-")
    assert done.err == (
        "Error: stdin is a case file (YAML), not FHIR JSON; did you mean `fhirconv export -`?\n"
    )
    feed_stdin(monkeypatch, BUNDLE.read_bytes())
    done = run_cli("show", "-")
    assert done.err == (
        "Error: stdin is a FHIR Bundle (transaction, 77 entries), not a case file; "
        "did you mean `fhirconv import -`?\n"
    )


def test_case_commands_read_standard_input(run_cli, monkeypatch, files):
    feed_stdin(monkeypatch, files["yaml"].read_bytes())
    done = run_cli("export", "-")
    assert done.code == 0, done.err
    assert done.out == BUNDLE.read_text()
    feed_stdin(monkeypatch, files["json"].read_bytes())
    done = run_cli("show", "-")
    assert done.code == 0, done.err
    assert done.out.startswith("case2: Case 2:")
