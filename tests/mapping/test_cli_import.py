"""The import and roundtrip commands: output, report, exit codes, exact messages."""

import json
from pathlib import Path

from fhirconv.cases import load_case
from fhirconv.model.load import load_case_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_roundtrip_builtin_cases_is_empty(run_cli):
    for name, resources in (("case1", 76), ("case2", 77)):
        result = run_cli("roundtrip", name)
        assert result.code == 0, result.out + result.err
        assert result.out == (
            f"{name}: {resources} resources, 0 validation issue(s), 0 unmapped, 0 difference(s)\n"
        )


def test_roundtrip_of_a_case_file(run_cli, tmp_path):
    path = tmp_path / "c.yaml"
    assert run_cli("import", EXAMPLES / "case1.bundle.json", "-o", path).code == 0
    result = run_cli("roundtrip", path)
    assert result.code == 0, result.out


def test_import_writes_case_file_atomically_and_reports(run_cli, tmp_path):
    out = tmp_path / "case2.yaml"
    report = tmp_path / "report.json"
    result = run_cli("import", EXAMPLES / "case2.bundle.json", "-o", out, "--report", report, "--strict")
    assert result.code == 0, result.err
    assert load_case_file(out) == load_case("case2")
    assert result.err.splitlines() == [
        f"Wrote case case2 (77 resources read) to {out}",
        "Import report: everything was mapped.",
    ]
    assert json.loads(report.read_text()) == {"unmapped": [], "count": 0, "case": "case2", "resources": 77}
    # Written atomically: no temporary file left beside the outputs.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case2.yaml", "report.json"]


def test_import_to_stdout(run_cli):
    result = run_cli("import", EXAMPLES / "case1.bundle.json")
    assert result.code == 0
    assert result.out.startswith("# Imported by fhirconv: case case1\nid: case1\n")


def test_import_missing_file(run_cli, tmp_path):
    result = run_cli("import", tmp_path / "nope.json")
    assert result.code == 2
    assert result.err == f"Error: {tmp_path / 'nope.json'}: no such file\n"


def test_import_broken_json(run_cli, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"resourceType": "Bundle",\n  "type": }')
    result = run_cli("import", path)
    assert result.code == 2
    assert result.err == f"Error: {path}:2:11: not valid JSON: Expecting value\n"


def test_help_has_examples(run_cli):
    for command in ("import", "roundtrip"):
        result = run_cli(command, "--help")
        assert result.code == 0
        assert "Examples:" in result.out
