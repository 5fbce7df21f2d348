"""fhirconv validate of Bulk Data exports: folders, manifests, .jsonl, NDJSON on standard input."""

from __future__ import annotations

import io
import json
import sys

import pytest

from fhirconv.server.references import references
from tests.bulk.helpers import client_layout, mcode_resources, synthea_layout


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    from fhirconv.cli import main

    out = tmp_path_factory.mktemp("bulk") / "export"
    with pytest.raises(SystemExit) as done:
        main(["export", "case1", "case2", "--out-dir", str(out), "--layout", "bulk", "--jobs", "1"])
    assert done.value.code == 0
    return out


def test_own_export_is_valid_with_every_reference_resolved(run_cli, export):
    for target in (export, export / "manifest.json"):
        result = run_cli("validate", "--format", "json", "--strict", "--jobs", "1", target)
        assert result.code == 0, result.out
        files = json.loads(result.out)["files"]
        assert [f["file"] for f in files] == [str(p) for p in sorted(export.glob("*.ndjson"))]
        assert not [i for f in files for i in f["issues"] if i["severity"] != "information"]


def test_dangling_references_are_located_by_file_line_and_path(run_cli, export, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in export.glob("*.ndjson"):
        if path.name != "Patient.ndjson":
            (copy / path.name.replace(".ndjson", ".jsonl")).write_bytes(path.read_bytes())
    result = run_cli("validate", "--jobs", "1", copy)
    assert result.code == 0  # warnings only
    condition = copy / "Condition.jsonl"
    assert (
        f"  warning     [bundle] {condition}:1: Condition.subject.reference: "
        "reference 'Patient/case1-patient' does not resolve: no resource of the export has this type "
        "and id (bulk-reference-unresolved)"
    ) in result.out.splitlines()
    strict = run_cli("validate", "--strict", "--jobs", "1", copy)
    assert strict.code == 1


def test_ndjson_on_standard_input(run_cli, export, monkeypatch):
    data = (export / "Patient.ndjson").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    result = run_cli("validate", "--format", "json", "-")
    assert result.code == 0, result.err
    (only,) = json.loads(result.out)["files"]
    assert only["file"] == "stdin" and only["valid"]
    # Each resource was read as a line of its own: notes carry line numbers 1 and 2.
    assert {i["line"] for i in only["issues"]} == {1, 2}


def test_a_line_that_is_not_json_is_named_and_the_rest_still_reported(run_cli, export, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    for path in export.glob("*.ndjson"):
        (folder / path.name).write_bytes(path.read_bytes())
    lines = (folder / "Condition.ndjson").read_text().splitlines()
    lines.insert(2, '{"resourceType": "Condition", oops')
    (folder / "Condition.ndjson").write_text("\n".join(lines) + "\n")
    result = run_cli("validate", "--format", "json", "--jobs", "2", folder)
    assert result.code == 2
    assert result.err == (
        f"Error: {folder / 'Condition.ndjson'}:3: invalid JSON at column 31: "
        "Expecting property name enclosed in double quotes\n"
    )
    files = json.loads(result.out)["files"]
    assert len(files) == 9  # every file still reported
    (syntax,) = [i for f in files for i in f["issues"] if i["rule"] == "json-syntax"]
    assert syntax["line"] == 3
    # The lines after the broken one were validated too: their references resolve.
    assert not [i for f in files for i in f["issues"] if i["rule"] == "bulk-reference-unresolved"]


def test_a_manifest_naming_a_missing_file(run_cli, export, tmp_path):
    folder = tmp_path / "partial"
    folder.mkdir()
    for path in export.iterdir():
        if path.name != "Specimen.ndjson":
            (folder / path.name).write_bytes(path.read_bytes())
    result = run_cli("validate", "--format", "json", folder / "manifest.json")
    assert result.code == 2
    (index,) = [
        i
        for i, o in enumerate(json.loads((folder / "manifest.json").read_text())["output"])
        if o["type"] == "Specimen"
    ]
    assert result.err == (
        f"Error: {folder / 'manifest.json'}: output[{index}]: Specimen.ndjson is not there "
        "(looked for Specimen.ndjson, 1.Specimen.ndjson beside the manifest)\n"
    )
    files = json.loads(result.out)["files"]
    assert len(files) == 8
    # Specimens are gone, so the references to them dangle: checked across what is there.
    assert any(
        i["rule"] == "bulk-reference-unresolved" and "Specimen/" in i["message"]
        for f in files
        for i in f["issues"]
    )


def test_third_party_layouts_read_back_unchanged(run_cli, tmp_path):
    # The official mCODE examples, without their practitioners: an export filtered by _type.
    resources = [r for r in mcode_resources() if r["resourceType"] != "Practitioner"]
    ids = {f"{r['resourceType']}/{r['id']}" for r in resources}
    client = run_cli("validate", "--format", "json", client_layout(tmp_path / "client", resources))
    synthea = run_cli("validate", "--format", "json", synthea_layout(tmp_path / "synthea", resources))
    for result in (client, synthea):
        assert result.code == 0, result.err
        files = json.loads(result.out)["files"]
        assert sum(1 for f in files for _ in f["issues"]) > 0
        assert not [i for f in files for i in f["issues"] if i["severity"] == "error"]
        dangling = {
            i["message"].split("'")[1]
            for f in files
            for i in f["issues"]
            if i["rule"] == "bulk-reference-unresolved"
        }
        # Exactly the references of the examples whose target is not among them.
        expected = {
            ref
            for r in resources
            for ref in references(r)
            if ref.count("/") == 1 and not ref.startswith(("#", "urn:", "http")) and ref not in ids
        }
        assert dangling == expected and len(expected) > 3
        assert {ref.split("/")[0] for ref in expected} == {"Practitioner"}
    client_issues = sorted(
        json.dumps(i, sort_keys=True) for f in json.loads(client.out)["files"] for i in f["issues"]
    )
    synthea_issues = sorted(
        json.dumps(i, sort_keys=True) for f in json.loads(synthea.out)["files"] for i in f["issues"]
    )
    assert len(client_issues) == len(synthea_issues)


def test_jobs_give_the_same_report(run_cli, export, monkeypatch):
    from fhirconv.bulk import ndjson, validate

    monkeypatch.setattr(validate, "SMALL_RUN_BYTES", 0)  # workers even for this small export,
    monkeypatch.setattr(ndjson, "PARTITION_LINES", 5)  # and many partitions of each file
    one = run_cli("validate", "--format", "json", "--jobs", "1", export)
    two = run_cli("validate", "--format", "json", "--jobs", "2", export)
    assert one.out == two.out and one.code == two.code == 0
