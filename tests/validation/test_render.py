"""Rendering is separate from checking: the same issues as text, JSON and OperationOutcome."""

import json

from fhirconv.validation import FileResult, Issue, Layer, Severity, render
from fhirconv.validation.issues import sort_key

ISSUES = [
    Issue(
        Severity.ERROR, Layer.SCHEMA, "Patient.gender", "'boy' is not one of the allowed codes", "schema-enum"
    ),
    Issue(
        Severity.WARNING,
        Layer.TERMINOLOGY,
        "Patient.language",
        "display differs",
        "terminology-display",
    ),
    Issue(Severity.INFORMATION, Layer.INVARIANT, "Patient", "dom-6: narrative", "dom-6"),
]


def test_text_is_grouped_by_file_with_a_verdict():
    out = render([FileResult("a.json", ISSUES), FileResult("b.json", [])], "text")
    assert out.splitlines() == [
        "a.json: INVALID (1 error, 1 warning, 1 note)",
        "  error       [schema] Patient.gender: 'boy' is not one of the allowed codes (schema-enum)",
        "  warning     [terminology] Patient.language: display differs (terminology-display)",
        "  note        [invariant] Patient: dom-6: narrative (dom-6)",
        "b.json: valid (0 errors, 0 warnings, 0 notes)",
    ]


def test_text_folds_notes_of_one_kind():
    notes = [
        Issue(
            Severity.INFORMATION, Layer.INVARIANT, f"Bundle.entry[{n}].resource", "dom-6: narrative", "dom-6"
        )
        for n in range(3)
    ]
    out = render([FileResult("a.json", notes)], "text")
    assert out.splitlines()[1:] == [
        "  note        [invariant] Bundle.entry[0].resource: dom-6: narrative (dom-6) (and 2 more like it)"
    ]


def test_text_shows_errors_all_and_repeated_warnings_counted():
    same = [
        Issue(Severity.WARNING, Layer.INVARIANT, f"Bundle.entry[{n}].resource", "dom-6: narrative", "dom-6")
        for n in range(5)
    ]
    errs = [
        Issue(Severity.ERROR, Layer.SCHEMA, f"Bundle.entry[{n}].resource.x", "bad", "schema-type")
        for n in range(5)
    ]
    lines = render([FileResult("a.json", errs + same)], "text").splitlines()
    assert sum("[schema]" in line for line in lines) == 5
    assert sum("[invariant]" in line for line in lines) == 3
    assert (
        lines[-1] == "  warning     ... and 2 more dom-6 warnings like these (--format json lists every one)"
    )


def test_strict_makes_warnings_invalid():
    result = FileResult("a.json", ISSUES[1:])
    assert result.valid()
    assert not result.valid(strict=True)
    assert json.loads(render([result], "json", strict=True))["files"][0]["valid"] is False


def test_json_shape():
    data = json.loads(render([FileResult("a.json", ISSUES)], "json"))
    assert data == {"files": [{"file": "a.json", "valid": False, "issues": [i.as_dict() for i in ISSUES]}]}
    assert data["files"][0]["issues"][0] == {
        "severity": "error",
        "layer": "schema",
        "location": "Patient.gender",
        "message": "'boy' is not one of the allowed codes",
        "rule": "schema-enum",
    }


def test_operation_outcome_one_file_and_many():
    one = json.loads(render([FileResult("a.json", ISSUES)], "operationoutcome"))
    assert one["resourceType"] == "OperationOutcome"
    assert [(i["severity"], i["code"]) for i in one["issue"]] == [
        ("error", "structure"),
        ("warning", "code-invalid"),
        ("information", "informational"),
    ]
    assert one["issue"][0]["expression"] == ["Patient.gender"]
    many = json.loads(render([FileResult("a.json", ISSUES), FileResult("b.json", [])], "operationoutcome"))
    assert many["resourceType"] == "Bundle"
    assert [e["resource"]["resourceType"] for e in many["entry"]] == ["OperationOutcome"] * 2
    assert many["entry"][1]["resource"]["issue"] == [
        {"severity": "information", "code": "informational", "details": {"text": "no issues"}}
    ]


def test_each_operation_outcome_names_its_file_and_has_a_narrative():
    results = [FileResult("a.json", ISSUES), FileResult("dir/b & <c>.ndjson", [])]
    many = json.loads(render(results, "operationoutcome"))
    outcomes = [e["resource"] for e in many["entry"]]
    assert [o["extension"] for o in outcomes] == [
        [{"url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-file", "valueString": name}]
        for name in ("a.json", "dir/b & <c>.ndjson")
    ]
    urls = [e["fullUrl"] for e in many["entry"]]
    assert all(u.startswith("urn:uuid:") for u in urls) and len(set(urls)) == 2
    assert outcomes[0]["text"]["status"] == "generated"
    assert outcomes[0]["text"]["div"] == (
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>a.json: INVALID (1 error, 1 warning, 1 note)</p>'
        "<table><tr><th>Severity</th><th>Location</th><th>Issue</th></tr>"
        "<tr><td>error</td><td>Patient.gender</td><td>'boy' is not one of the allowed codes "
        "(schema: schema-enum)</td></tr>"
        "<tr><td>warning</td><td>Patient.language</td><td>display differs "
        "(terminology: terminology-display)</td></tr>"
        "<tr><td>information</td><td>Patient</td><td>dom-6: narrative (invariant: dom-6)</td></tr>"
        "</table></div>"
    )
    assert outcomes[1]["text"]["div"] == (
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>dir/b &amp; &lt;c&gt;.ndjson: valid '
        "(0 errors, 0 warnings, 0 notes)</p></div>"
    )


def test_an_ndjson_line_is_an_issue_extension():
    issue = Issue(Severity.ERROR, Layer.SCHEMA, "Patient.gender", "bad", "schema-enum", line=7)
    one = json.loads(render([FileResult("x.ndjson", [issue])], "operationoutcome"))
    assert one["issue"][0]["extension"] == [
        {"url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line", "valueInteger": 7}
    ]


def test_issue_order_compares_indexes_as_numbers():
    a = Issue(Severity.ERROR, Layer.BUNDLE, "Bundle.entry[10].fullUrl", "m", "r")
    b = Issue(Severity.ERROR, Layer.BUNDLE, "Bundle.entry[9].fullUrl", "m", "r")
    assert sorted([a, b], key=sort_key) == [b, a]
