"""validate and import read JSON the same way (one reader): what one refuses the other refuses,
with the same words; import --lenient takes the readable part and lists the rest."""

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _case2():
    return json.loads((EXAMPLES / "case2.bundle.json").read_text())


def _marker_entry(bundle, code="16112-5"):
    """Index of the first ER observation (or another LOINC code) in the bundle."""
    for i, entry in enumerate(bundle["entry"]):
        codings = entry["resource"].get("code", {}).get("coding", [])
        if any(c.get("code") == code for c in codings):
            return i
    raise AssertionError(f"no {code} observation")


def _er_twice(tmp_path):
    """The ER result recorded twice under one key: the second value silently wins in Python."""
    bundle = _case2()
    index = _marker_entry(bundle)
    text = json.dumps(bundle)
    value = json.dumps(bundle["entry"][index]["resource"]["valueCodeableConcept"])
    negative = value.replace("10828004", "260385009").replace("Positive", "Negative")
    marker = f'"valueCodeableConcept": {value}'
    assert text.count(marker) >= 1
    at = text.index(marker, text.index('"16112-5"'))
    text = text[:at] + f'"valueCodeableConcept": {negative}, ' + text[at:]
    path = tmp_path / "er-twice.json"
    path.write_text(text)
    return path, index


def test_a_key_given_twice_is_refused_by_import_as_by_validate(run_cli, tmp_path):
    path, index = _er_twice(tmp_path)
    assert run_cli("validate", path).code == 1
    result = run_cli("import", path)
    assert result.code == 2
    assert result.err == (
        f"Error: {path}: not valid FHIR R4, not imported (1 error; --lenient imports the rest):\n"
        f"  Bundle.entry[{index}].resource.valueCodeableConcept: duplicate key 'valueCodeableConcept' "
        "(json-duplicate-key)\n"
    )


def test_lenient_import_takes_the_rest_and_lists_what_it_left(run_cli, tmp_path):
    path, index = _er_twice(tmp_path)
    out, report = tmp_path / "case.yaml", tmp_path / "report.json"
    result = run_cli("import", path, "--lenient", "-o", out, "--report", report)
    assert result.code == 0, result.err
    listed = json.loads(report.read_text())["unmapped"]
    assert listed[:2] == [
        {
            "location": f"Bundle.entry[{index}].resource.valueCodeableConcept",
            "reason": "invalid",
            "message": "duplicate key 'valueCodeableConcept' (json-duplicate-key)",
        },
        {
            "location": f"Bundle.entry[{index}]",
            "reason": "invalid",
            "message": "an entry that breaks FHIR's rules is not imported",
        },
    ]
    # The ER result with two values is not among the facts; everything else is.
    assert "- id: er-right-breast" not in out.read_text()
    assert "- id: pr-right-breast" in out.read_text()
    assert run_cli("import", path, "--lenient", "--strict", "-o", out).code == 1


def test_lenient_ndjson_skips_the_broken_lines(run_cli, tmp_path):
    bundle = _case2()
    lines = [json.dumps(e["resource"]) for e in bundle["entry"]]
    lines[3] = lines[3][:40]  # cut short
    lines[5] = lines[5].replace('"status":', '"status": "final", "status":', 1)
    path = tmp_path / "case2.ndjson"
    path.write_text("\n".join(lines) + "\n")
    strict = run_cli("import", path)
    assert strict.code == 2
    assert strict.err == f"Error: {path}:4:39: not valid JSON: Unterminated string starting at\n"
    result = run_cli("import", path, "--lenient", "-o", tmp_path / "c.yaml")
    assert result.code == 0, result.err
    assert f"  {path}:4: invalid: not valid JSON: " in result.err
    assert f"{path}:6: invalid: a resource that breaks FHIR's rules is not imported" in result.err


def test_lenient_import_that_leaves_the_patient_out_says_so(run_cli, tmp_path):
    bundle = _case2()
    assert bundle["entry"][0]["resource"]["resourceType"] == "Patient"
    bundle["entry"][0]["resource"]["gender"] = "fe\ud800male"
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(bundle))
    result = run_cli("import", path, "--lenient")
    assert (result.code, result.err) == (
        2,
        f"Error: {path}: the bundle has no Patient: a case is about one patient "
        "(--lenient left out what breaks FHIR's rules: Bundle.entry[0])\n",
    )
    lines = [json.dumps(e["resource"]) for e in bundle["entry"]]
    lines[0] = lines[0][:30]
    ndjson = tmp_path / "patient.ndjson"
    ndjson.write_text("\n".join(lines[:5]) + "\n")
    result = run_cli("import", ndjson, "--lenient")
    assert result.code == 2
    assert result.err.endswith(f"(--lenient left out what breaks FHIR's rules: {ndjson}:1)\n")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("NaN", "NaN is not a JSON value"),
        ("-Infinity", "-Infinity is not a JSON value"),
        ("1e999", "the number 1e999 is beyond the range of a number"),
        ("9" * 5000, "a number of 5000 digits (fhirconv reads at most 4300)"),
    ],
)
def test_numbers_json_cannot_carry_are_refused_alike(run_cli, tmp_path, value, why):
    head = '{"resourceType": "Observation",\n "status": "final", "valueQuantity": {"value": '
    path = tmp_path / "o.json"
    path.write_text(head + value + "}}")
    column = len(head.split("\n")[1]) + 1
    word = "unreadable" if "number" in why else "invalid"
    validated = run_cli("validate", path)
    assert validated.code == 2
    assert validated.err == f"Error: {path}: {word} JSON at line 2, column {column}: {why}\n"
    imported = run_cli("import", path)
    assert (imported.code, imported.err) == (2, f"Error: {path}:2:{column}: not valid JSON: {why}\n")


@pytest.mark.parametrize("depth", [101, 100_000])
def test_deep_nesting_is_refused_alike(run_cli, tmp_path, depth):
    inner = "[" * depth + "]" * depth
    path = tmp_path / "deep.json"
    start = '{"resourceType": "Basic", "extension": '
    path.write_text(start + inner + "}")
    # The place is the bracket that opens the 101st level (the 100th of the extension's).
    column = len(start) + 100
    why = "nested more than 100 levels deep (FHIR needs a few dozen)"
    validated = run_cli("validate", path)
    expected = f"Error: {path}: invalid JSON at line 1, column {column}: {why}\n"
    assert (validated.code, validated.err) == (2, expected)
    imported = run_cli("import", path)
    assert (imported.code, imported.err) == (2, f"Error: {path}:1:{column}: not valid JSON: {why}\n")


def test_lone_surrogates_are_errors_and_every_format_prints(run_cli, tmp_path):
    bundle = _case2()
    index = _marker_entry(bundle)
    bundle["entry"][index]["resource"]["code"]["coding"][0]["code"] = "\udc0016112-5"
    bundle["entry"][index]["resource"]["code"]["text"] = "ER \ud800"
    path = tmp_path / "surrogates.json"
    path.write_text(json.dumps(bundle))  # ASCII, with \udc00 escapes
    where = f"Bundle.entry[{index}].resource.code"
    for fmt in ("text", "json", "operationoutcome"):
        result = run_cli("validate", "--format", fmt, path)
        assert result.code == 1
        result.out.encode("utf-8")  # printable: no lone surrogate reaches the output
        assert "json-surrogate" in result.out
    text = run_cli("validate", path).out
    assert (
        f"error       [json] {where}.coding[0].code: lone UTF-16 surrogate U+DC00 at character 1: "
        "not a Unicode character, so not FHIR text (json-surrogate)"
    ) in text
    assert "\\udc0016112-5" in text  # the code, quoted by the terminology layer, escaped
    imported = run_cli("import", path)
    assert imported.code == 2
    assert f"  {where}.text: lone UTF-16 surrogate U+D800 at character 4" in imported.err
    report = tmp_path / "r.json"
    lenient = run_cli("import", path, "--lenient", "-o", tmp_path / "c.yaml", "--report", report)
    assert lenient.code == 0
    json.loads(report.read_text())


def test_an_hour_24_does_not_silence_the_invariants(run_cli, tmp_path):
    bundle = _case2()
    period = next(e["resource"] for e in bundle["entry"] if "effectivePeriod" in e["resource"])
    period["effectivePeriod"] = {"start": "2020-07-21T24:00:00Z", "end": "2020-07-22"}
    status = next(e["resource"] for e in bundle["entry"] if "valueCodeableConcept" in e["resource"])
    status["dataAbsentReason"] = {"text": "unknown"}  # breaks obs-6
    path = tmp_path / "hour24.json"
    path.write_text(json.dumps(bundle))
    out = run_cli("validate", path).out
    assert "is not a valid dateTime (schema-format-dateTime)" in out
    assert "(obs-6)" in out
    assert "invariant-internal" not in out


def test_lenient_import_leaves_out_an_entry_whose_resource_type_is_not_a_string(run_cli, tmp_path):
    bundle = _case2()
    index = _marker_entry(bundle)
    bundle["entry"][index]["resource"]["resourceType"] = ["Observation"]
    path = tmp_path / "typed.json"
    path.write_text(json.dumps(bundle))
    refused = run_cli("import", path)
    assert refused.code == 2
    assert (
        f"  Bundle.entry[{index}].resource: a resource needs a resourceType string naming its type; found an "
        "array (schema-resource-type)"
    ) in refused.err.splitlines()
    result = run_cli("import", path, "--lenient", "-o", tmp_path / "c.yaml")
    assert result.code == 0, result.err
    assert f"Bundle.entry[{index}]: invalid: an entry that breaks FHIR's rules is not imported" in result.err


def test_lenient_import_of_a_bundle_whose_entry_list_is_no_list(run_cli, tmp_path):
    # Found by a 3,000-example fuzz run (seed 13): the entries were iterated as given.
    bundle = _case2()
    bundle["entry"] = 1
    path = tmp_path / "entry.json"
    path.write_text(json.dumps(bundle))
    result = run_cli("import", path, "--lenient")
    assert (result.code, result.err) == (
        2,
        f"Error: {path}: the bundle has no Patient: a case is about one patient "
        "(--lenient left out what breaks FHIR's rules: Bundle.entry)\n",
    )
