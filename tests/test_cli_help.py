"""Help that reads whole, and options checked before anything is sent."""

from __future__ import annotations

import json
import re

import pytest

from fhirconv.cli import cli

NO_SERVER = ("--server", "http://127.0.0.1:9/fhir", "--patient", "p")


def test_every_summary_in_the_command_list_is_whole(run_cli):
    done = run_cli("--help")
    listed = done.out.split("Commands:\n", 1)[1]
    assert "..." not in listed and "…" not in listed
    for name, command in cli.commands.items():
        summary = command.get_short_help_str(limit=10_000)
        words = " ".join(summary.split())
        # The list wraps long summaries: compare with the wrapping undone.
        assert words in " ".join(listed.split()), name


def test_pull_help_names_only_what_pull_has(run_cli):
    text = run_cli("pull", "--help").out
    assert "--verify" not in text and "local validation" not in text
    assert "Exit codes: 0 ok; 1 something pulled could not be mapped to the case (--strict)" in " ".join(
        text.split()
    )
    push = " ".join(run_cli("push", "--help").out.split())
    assert "1 the server rejected a bundle, or --verify found a difference" in push


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("Foo", "--type 'Foo' is not a FHIR R4 resource type"),
        ("observation", "--type 'observation' is not a FHIR R4 resource type; did you mean Observation?"),
        ("Conditon", "--type 'Conditon' is not a FHIR R4 resource type; did you mean Condition?"),
        (
            "Medication",
            "--type Medication: not in the R4 Patient compartment, so no search by patient finds it",
        ),
        ("Patient", "--type Patient: the Patient is always read; --type names the other types"),
    ],
)
def test_pull_refuses_a_type_no_search_by_patient_finds(run_cli, given, message):
    done = run_cli("pull", *NO_SERVER, "--type", "Condition", "--type", given)
    assert done.code == 2
    assert done.err == f"Error: {message}\n"


def test_import_report_prints_values_as_fhir_json(run_cli, tmp_path):
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "active": True,
        "gender": "female",
        "multipleBirthBoolean": False,
    }
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(patient))
    done = run_cli("import", path, "--doi", "10.1000/xyz")
    assert done.code == 0, done.err
    assert re.search(r"active: not mapped: true$", done.err, re.M), done.err
    assert "True" not in done.err and "False" not in done.err
