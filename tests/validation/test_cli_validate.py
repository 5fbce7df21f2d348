"""``fhirconv validate``: exit codes, formats, stdin, NDJSON, unreadable input."""

import json
import shutil
import subprocess
import sys

from tests.validation.conftest import EXAMPLES

GOOD = EXAMPLES / "Condition-primary-cancer-condition-jenny-m.json"


def run_cli(args, stdin=None):
    done = subprocess.run(
        [sys.executable, "-m", "fhirconv", "validate", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def test_valid_file_exits_0():
    code, out, err = run_cli([str(GOOD)])
    assert code == 0, err
    assert out.startswith(f"{GOOD}: valid (0 errors, ")
    assert err == ""


def test_errors_exit_1_with_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"resourceType": "Patient", "gender": "boy"}))
    code, out, err = run_cli([str(bad)])
    assert code == 1
    assert "error       [schema] Patient.gender: 'boy' is not one of the allowed codes" in out
    assert err == "Error: 1 of 1 file failed validation with errors\n"


def test_broken_json_exits_2_naming_file_line_and_column(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{\n  "resourceType": "Patient",\n  "id": \n}\n')
    code, _, err = run_cli([str(bad)])
    assert code == 2
    assert err == f"Error: {bad}: invalid JSON at line 4, column 1: Expecting value\n"
    assert "Traceback" not in err


def test_missing_file_exits_2(tmp_path):
    code, _, err = run_cli([str(tmp_path / "nope.json")])
    assert code == 2
    assert err == f"Error: {tmp_path / 'nope.json'}: no such file\n"


def test_strict_turns_warnings_into_failure(tmp_path):
    bundle = json.loads((EXAMPLES / "Bundle-mcode-patient-bundle-jenny-m.json").read_text())
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    assert run_cli([str(path), "--no-profiles"])[0] == 0  # unresolved references are warnings
    assert run_cli([str(path), "--no-profiles", "--strict"])[0] == 1


def test_stdin_and_json_format():
    code, out, _ = run_cli(["--format", "json", "-"], stdin=GOOD.read_text())
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["files"]
    assert data["files"][0]["file"] == "stdin"
    assert data["files"][0]["valid"] is True
    for issue in data["files"][0]["issues"]:
        assert set(issue) == {"severity", "layer", "location", "message", "rule"}


def test_operationoutcome_format_is_a_valid_resource(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"resourceType": "Patient", "gender": "boy"}))
    code, out, _ = run_cli(["--format", "operationoutcome", str(bad)])
    assert code == 1
    outcome = json.loads(out)
    assert outcome["resourceType"] == "OperationOutcome"
    assert {"severity": "error", "code": "structure", "expression": ["Patient.gender"]}.items() <= outcome[
        "issue"
    ][0].items()
    # The outcome itself passes the validator.
    again = tmp_path / "oo.json"
    again.write_text(out)
    assert run_cli([str(again)])[0] == 0


def test_own_operationoutcome_bundle_passes_strict_validation(tmp_path):
    bad = tmp_path / "bad.ndjson"
    bad.write_text(json.dumps({"resourceType": "Patient", "gender": "boy"}) + "\n")
    code, out, _ = run_cli(["--format", "operationoutcome", str(GOOD), str(bad)])
    assert code == 1
    outcomes = tmp_path / "outcomes.json"
    outcomes.write_text(out)
    assert run_cli(["--strict", str(outcomes)])[0] == 0
    single = tmp_path / "single.json"
    single.write_text(run_cli(["--format", "operationoutcome", str(bad)])[1])
    assert run_cli(["--strict", str(single)])[0] == 0


def test_ndjson_and_many_files_in_parallel(tmp_path):
    lines = [
        json.dumps(json.loads(GOOD.read_text())),
        json.dumps({"resourceType": "Patient", "gender": "boy"}),
    ]
    nd = tmp_path / "two.ndjson"
    nd.write_text("\n".join(lines) + "\n")
    copies = []
    for index in range(4):
        copy = tmp_path / f"c{index}.json"
        shutil.copy(GOOD, copy)
        copies.append(str(copy))
    code, out, _ = run_cli(["--jobs", "2", "--format", "json", str(nd), *copies])
    assert code == 1
    files = json.loads(out)["files"]
    assert [f["file"] for f in files] == [str(nd), *copies]  # input order, whatever the scheduling
    assert [f["valid"] for f in files] == [False, True, True, True, True]
    bad = [i for i in files[0]["issues"] if i["severity"] == "error"]
    assert [(i["line"], i["location"]) for i in bad] == [(2, "Patient.gender")]


def test_usage_errors_exit_2():
    code, _, err = run_cli([])
    assert code == 2
    assert "Missing argument 'FILE...'" in err
    code, _, err = run_cli(["--format", "xml", str(GOOD)])
    assert code == 2
    assert "Invalid value for '--format'" in err


def test_help_lists_examples():
    code = subprocess.run(
        [sys.executable, "-m", "fhirconv", "validate", "--help"], capture_output=True, text=True
    )
    assert code.returncode == 0
    assert "fhirconv validate examples/case2.bundle.json" in code.stdout


def test_validate_module_keeps_heavy_imports_lazy():
    probe = (
        "import sys, fhirconv.cli; "
        "print(sorted(m for m in ('jsonschema', 'fhir.resources', 'fhirpathpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_validation_leaves_no_cyclic_garbage():
    # Validation runs with the cyclic GC paused; anything it left in cycles would pile
    # up across the files of a long run.
    import gc

    from fhirconv.validation import validate_bytes

    data = (EXAMPLES / "Bundle-mcode-patient-bundle-jenny-m.json").read_bytes()
    validate_bytes(data, source="b.json")
    gc.collect()
    gc.disable()
    try:
        validate_bytes(data, source="b.json")
    finally:
        gc.enable()
    assert gc.collect() == 0


def test_progress_bar_only_on_a_terminal(tmp_path):
    import os
    import pty

    files = []
    for index in range(3):
        copy = tmp_path / f"p{index}.json"
        shutil.copy(GOOD, copy)
        files.append(str(copy))
    # Not a terminal: nothing on stderr.
    code, _, err = run_cli(["--jobs", "1", *files])
    assert code == 0 and err == ""
    # A terminal on stderr: the bar is drawn there, never on stdout.
    main_fd, child_fd = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-m", "fhirconv", "validate", "--jobs", "1", *files],
        stdout=subprocess.PIPE,
        stderr=child_fd,
        timeout=120,
    )
    os.close(child_fd)
    drawn = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(main_fd)
    assert done.returncode == 0
    assert b"Validating" in drawn
    assert b"Validating" not in done.stdout


def test_stdin_among_files_with_workers():
    code, out, _ = run_cli(
        ["--jobs", "2", "--format", "json", "-", str(GOOD)],
        stdin=json.dumps({"resourceType": "Patient", "gender": "boy"}),
    )
    assert code == 1
    files = json.loads(out)["files"]
    assert [(f["file"], f["valid"]) for f in files] == [("stdin", False), (str(GOOD), True)]
