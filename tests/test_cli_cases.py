"""CLI commands over cases: list, show, export, schema, and their errors."""

import json
import subprocess
import sys
from dataclasses import astuple

from click.testing import CliRunner

from fhirconv.cli import cli


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_list():
    result = run(["list"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("case1\tCase 1:")


def test_show_case2():
    result = run(["show", "case2"])
    assert result.exit_code == 0
    assert "invasive mucinous carcinoma, right breast, outer lower quadrant" in result.output
    assert "ER positive, PR positive, HER2 negative, Ki-67 low" in result.output
    declined = "  no date     single-agent fulvestrant \u2014 refused by the patient and her family"
    assert declined in result.output


def test_export_to_stdout_is_a_transaction_bundle():
    result = run(["export", "case2"])
    assert result.exit_code == 0
    bundle = json.loads(result.output)
    assert bundle["type"] == "transaction"


def test_export_to_file(tmp_path):
    out = tmp_path / "b.json"
    result = CliRunner().invoke(cli, ["export", "case1", "-o", str(out), "--type", "collection"])
    assert result.exit_code == 0
    assert json.loads(out.read_text())["type"] == "collection"
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]  # no temporary file left


def test_export_ndjson():
    result = run(["export", "case1", "--format", "ndjson"])
    lines = result.output.splitlines()
    assert json.loads(lines[0])["resourceType"] == "Patient"
    assert all(json.loads(line)["id"].startswith("case1-") for line in lines)


def test_export_unknown_case_exits_2_with_one_line(run_cli):
    code, out, err = astuple(run_cli("export", "case9"))
    assert code == 2
    assert out == ""
    assert err == "Error: 'case9' is neither a built-in case (case1, case2) nor a case file\n"


def test_export_bad_case_file_exits_2(tmp_path, run_cli):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntitle: t\n")
    code, _, err = astuple(run_cli("export", bad))
    assert code == 2
    assert err == f"Error: {bad}:1: required fields are missing: report, patient\n"


def test_export_into_missing_directory_exits_2(tmp_path, run_cli):
    code, _, err = astuple(run_cli("export", "case1", "-o", tmp_path / "no" / "b.json"))
    assert code == 2
    assert err.startswith(f"Error: {tmp_path / 'no' / 'b.json'}: cannot write:")


def test_schema_is_the_packaged_schema_and_up_to_date():
    from fhirconv.model.schema import case_schema_json

    result = run(["schema"])
    assert result.exit_code == 0
    assert result.output == case_schema_json()
    assert json.loads(result.output)["title"] == "Case"


def test_every_command_has_help():
    for name, command in cli.commands.items():
        assert command.help and command.help.strip(), name
        assert run([name, "--help"]).exit_code == 0


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys; from fhirconv.cli import cli\n"
        "heavy = [m for m in ('pydantic', 'fhir.resources', 'jsonschema', 'fhirpathpy', 'httpx',"
        " 'matplotlib')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
