"""import --out-dir reads each NDJSON line as ``fhirconv import`` does: the one JSON reader judges
and words what the fast parser of the index refuses, and a patient whose Patient line --lenient
leaves out is named with it."""

from __future__ import annotations

import json

WHY_DEEP = "nested more than 100 levels deep (FHIR needs a few dozen)"
BIG = '{"resourceType": "Patient", "id": "p3", "multipleBirthInteger": '
WHY_BIG = "a number of 5000 digits (fhirconv reads at most 4300)"


def _export(folder):
    folder.mkdir()
    start = '{"resourceType": "Patient", "id": "p2", "x": '
    lines = [
        json.dumps({"resourceType": "Patient", "id": "p1", "gender": "female"}),
        start + "[" * 100_000 + "]" * 100_000 + "}",
        BIG + "9" * 5000 + "}",
        # A lone surrogate: orjson refuses the line, the one reader reads it and validation names it.
        json.dumps({"resourceType": "Patient", "id": "p4", "gender": "fe\ud800male"}),
    ]
    (folder / "Patient.ndjson").write_text("\n".join(lines) + "\n")
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/p4"},
    }
    (folder / "Observation.ndjson").write_text(json.dumps(observation) + "\n")
    return len(start) + 100


def test_lines_the_index_parser_refuses_get_the_one_readers_words(run_cli, tmp_path):
    column = _export(tmp_path / "bulk")
    name = tmp_path / "bulk" / "Patient.ndjson"
    result = run_cli("import", tmp_path / "bulk", "--out-dir", tmp_path / "out")
    assert result.code == 2
    lines = result.err.splitlines()
    assert f"Error: {name}:2: not valid JSON at column {column}: {WHY_DEEP}" in lines
    assert f"Error: {name}:3: not valid JSON at column {len(BIG) + 1}: {WHY_BIG}" in lines
    assert (
        f"Error: Patient/p4: {name}:4: not valid FHIR R4, not imported (2 errors; --lenient imports the "
        "rest):" in lines
    )
    assert (
        "  Patient.gender: lone UTF-16 surrogate U+D800 at character 3: not a Unicode character, so not FHIR "
        "text (json-surrogate)"
    ) in lines
    assert (tmp_path / "out" / "p1.yaml").is_file()


def test_lenient_names_the_patient_line_it_left_out(run_cli, tmp_path):
    _export(tmp_path / "bulk")
    name = tmp_path / "bulk" / "Patient.ndjson"
    result = run_cli("import", tmp_path / "bulk", "--out-dir", tmp_path / "out", "--lenient")
    assert result.code == 2
    assert (
        f"Error: Patient/p4: the bundle has no Patient: a case is about one patient (--lenient left out "
        f"what breaks FHIR's rules: {name}:4)"
    ) in result.err.splitlines()
