"""Case-file loading: valid files load, invalid ones fail with one exact, located message."""

from pathlib import Path

import pytest

from fhirconv.cases import builtin_names, builtin_text, load_case
from fhirconv.errors import CaseFileError, ExitCode, UnknownCaseError
from fhirconv.model.load import parse_case_text

DATA = Path(__file__).parent / "data" / "cases"
MINIMAL = (DATA / "minimal.yaml").read_text()


def test_minimal_case_loads():
    case = load_case(str(DATA / "minimal.yaml"))
    assert case.primaries[0].diagnosis_date == "2016"  # an unquoted year is still a year


def test_builtin_cases_are_case1_and_case2():
    assert builtin_names() == ["case1", "case2"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "  sex: female\n",
            "",
            "c.yaml:5: patient.sex: required field is missing",
        ),
        (
            "diagnosis_date: 2016",
            "diagnosis_date: 2016-13",
            "c.yaml:15: primaries[0].diagnosis_date: '2016-13' is not a calendar date",
        ),
        (
            "diagnosis_date: 2016",
            "diagnosis_date: 16/08/2016",
            "c.yaml:15: primaries[0].diagnosis_date: expected a date as YYYY, YYYY-MM or YYYY-MM-DD "
            "(got '16/08/2016')",
        ),
        (
            "codes: [morphology.idc]",
            "codes: [morphology.idk]",
            "c.yaml:12: primaries[0].histology.codes[0]: unknown code 'morphology.idk': "
            "not a key of fhirconv's terminology table; did you mean 'morphology.idc' or 'morphology.lcis'?",
        ),
        (
            "laterality: left",
            "laterality: [left]",
            "c.yaml:14: primaries[0].laterality: expected one of: left, right, bilateral",
        ),
        (
            "    laterality: left\n",
            "    laterality: left\n    side: left\n",
            "c.yaml:15: primaries[0].side: unknown field (fields here: id, sources, note, condition, "
            "histology, body_site, laterality, quadrant, diagnosis_date, sizes, staging, recurrences, "
            "clinical_status)",
        ),
        (
            "    laterality: left\n",
            '    laterality: left\n    note: ""\n',
            "c.yaml:15: primaries[0].note: must not be empty or only whitespace (got '')",
        ),
        (
            "    laterality: left\n",
            '    laterality: left\n    note: "\\u00a0\\u3000"\n',
            "c.yaml:15: primaries[0].note: must not be empty or only whitespace (got '\\xa0\\u3000')",
        ),
        (
            "{text: invasive ductal carcinoma,",
            '{text: "",',
            "c.yaml:12: primaries[0].histology.text: must not be empty or only whitespace (got '')",
        ),
        (
            "{text: invasive ductal carcinoma,",
            '{text: "\\u00a0\\u3000",',
            "c.yaml:12: primaries[0].histology.text: must not be empty or only whitespace "
            "(got '\\xa0\\u3000')",
        ),
        (
            "title: A minimal case",
            "title: ' '",
            "c.yaml:2: title: must not be empty or only whitespace (got ' ')",
        ),
        (
            "{text: invasive ductal carcinoma,",
            '{text: "ductal\\x07 carcinoma",',
            "c.yaml:12: primaries[0].histology.text: must not contain U+0007 (at position 6): "
            "a control character; only tab, line feed and carriage return are allowed "
            "(got 'ductal\\x07 carcinoma')",
        ),
    ],
)
def test_bad_case_file_gives_one_located_message(old, new, message):
    assert old in MINIMAL
    with pytest.raises(CaseFileError) as caught:
        parse_case_text(MINIMAL.replace(old, new), "c.yaml")
    assert str(caught.value) == message
    assert caught.value.exit_code == ExitCode.BAD_INPUT


def test_broken_yaml_names_line_and_column():
    with pytest.raises(CaseFileError) as caught:
        parse_case_text("id: x\npatient: [unclosed\n", "c.yaml")
    assert str(caught.value).startswith("c.yaml:3:1: not valid YAML:")


def test_broken_json_names_line_and_column():
    with pytest.raises(CaseFileError) as caught:
        parse_case_text('{"id": "x",\n  "title": }', "c.json")
    assert str(caught.value) == "c.json:2:12: not valid JSON: Expecting value"


def test_dangling_fact_reference_is_rejected():
    text = MINIMAL + (
        "metastases:\n  - id: met\n    sources: [x]\n    site: {text: bone}\n    primary: nowhere\n"
    )
    with pytest.raises(CaseFileError) as caught:
        parse_case_text(text, "c.yaml")
    assert "metastasis 'met': primary 'nowhere' is not defined in this case" in str(caught.value)


def test_unknown_case_name():
    with pytest.raises(UnknownCaseError) as caught:
        load_case("case9")
    assert str(caught.value) == "'case9' is neither a built-in case (case1, case2) nor a case file"


def test_missing_case_file(tmp_path):
    with pytest.raises(CaseFileError) as caught:
        load_case(str(tmp_path / "nope.yaml"))
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: no such file"


def test_period_that_ends_before_it_starts_is_rejected():
    text = MINIMAL + (
        "therapies:\n  - id: t\n    sources: [x]\n    category: endocrine\n    agents: [{text: a}]\n"
        "    period: {start: 2020-05, end: 2019}\n"
    )
    with pytest.raises(CaseFileError) as caught:
        parse_case_text(text, "c.yaml")
    assert (
        str(caught.value)
        == "c.yaml:21: therapies[0].period: the period ends (2019) before it starts (2020-05)"
    )


def test_procedure_with_date_and_history_is_rejected():
    text = MINIMAL + (
        "procedures:\n  - id: p\n    sources: [x]\n    kind: surgery\n    code: {text: s}\n"
        "    date: 2020\n    history: true\n"
    )
    with pytest.raises(CaseFileError) as caught:
        parse_case_text(text, "c.yaml")
    assert (
        str(caught.value)
        == "c.yaml:17: procedures[0]: give one of date, period and history, not date and history"
    )


def test_free_text_is_kept_as_written():
    text = MINIMAL.replace("{text: invasive ductal carcinoma,", '{text: " ductal\\u3000carcinoma\\t",')
    case = parse_case_text(text, "c.yaml")
    assert case.primaries[0].histology.text == " ductal\u3000carcinoma\t"


# -- duplicate keys, every problem at once, plain words ---------------------------------------


def test_a_key_given_twice_in_yaml_is_an_error_with_both_lines():
    text = MINIMAL.replace("    laterality: left\n", "    laterality: left\n    laterality: right\n")
    with pytest.raises(CaseFileError) as caught:
        parse_case_text(text, "c.yaml")
    assert str(caught.value) == "c.yaml:15: primaries[0].laterality: given twice (first at line 14); keep one"


def test_a_key_given_twice_in_json_is_an_error_with_both_lines():
    text = '{\n  "id": "x",\n  "title": "t",\n  "id": "y"\n}'
    with pytest.raises(CaseFileError) as caught:
        parse_case_text(text, "c.json")
    assert str(caught.value) == "c.json:4: id: given twice (first at line 2); keep one"


def test_every_schema_problem_is_reported_at_once_in_file_order():
    text = (
        MINIMAL.replace("sex: female", "sex: femal")
        .replace("doi: 10.1234/example.5678", "doi: https://doi.org/10.1234/example.5678")
        .replace("    laterality: left\n", "    lateralty: left\n")
    )
    with pytest.raises(CaseFileError) as caught:
        parse_case_text(text, "c.yaml")
    assert str(caught.value) == (
        "c.yaml: 3 problems:\n"
        "  c.yaml:4: report.doi: expected a DOI such as 10.3389/fonc.2024.1382415 (no https://doi.org/ "
        "or doi: in front) (got 'https://doi.org/10.1234/example.5678')\n"
        "  c.yaml:7: patient.sex: expected one of: female, male, other, unknown (got 'femal'); "
        "did you mean 'female'?\n"
        "  c.yaml:14: primaries[0].lateralty: unknown field; did you mean 'laterality'? (fields here: id, "
        "sources, note, condition, histology, body_site, laterality, quadrant, diagnosis_date, sizes, "
        "staging, recurrences, clinical_status)"
    )


def test_many_problems_are_capped():
    ages = "".join(f"  - {{id: Age{n}, sources: [x], age_years: {n}, event: e}}\n" for n in range(25))
    with pytest.raises(CaseFileError) as caught:
        parse_case_text(MINIMAL + "ages:\n" + ages, "c.yaml")
    lines = str(caught.value).splitlines()
    assert lines[0] == "c.yaml: 25 problems:"
    assert lines[1].startswith("  c.yaml:17: ages[0].id: expected an id of lower-case letters")
    assert len(lines) == 22 and lines[-1] == "  ... and 5 more"


@pytest.mark.parametrize(
    ("staging", "message"),
    [
        (
            "t: pT2",
            "t: expected a T category without its prefix: TX, Tis, T0 to T4 with a letter where AJCC "
            "gives one (T1c, T4d), or T1mi (got 'pT2'); did you mean 'T2' (the prefix p goes in `prefix`)?",
        ),
        ("m: M2", "m: expected an M category without its prefix: M0 or M1 (got 'M2')"),
        (
            "stage_group: IIIc",
            "stage_group: expected a stage group: 0, I, II, III or IV, with A, B or C where AJCC gives one "
            "(IIB, IIIC) (got 'IIIc'); did you mean 'IIIC'?",
        ),
    ],
)
def test_patterns_are_said_in_plain_words(staging, message):
    text = MINIMAL + (
        "    staging:\n      - id: s\n        sources: [x]\n        prefix: p\n        stated: x\n"
        f"        {staging}\n"
    )
    with pytest.raises(CaseFileError) as caught:
        parse_case_text(text, "c.yaml")
    assert str(caught.value) == f"c.yaml:21: primaries[0].staging[0].{message}"
    assert "^" not in str(caught.value) and "\\d" not in str(caught.value)


def test_a_mapping_where_text_was_given_lists_its_fields():
    text = MINIMAL + "metastases:\n  - id: met\n    sources: [x]\n    site: bone\n"
    with pytest.raises(CaseFileError) as caught:
        parse_case_text(text, "c.yaml")
    assert str(caught.value) == (
        "c.yaml:19: metastases[0].site: expected a mapping of text, codes (got 'bone')"
    )


@pytest.mark.parametrize(
    ("site", "laterality", "names"),
    [
        ("site.left_breast", "right", "the left side"),
        ("site.right_breast", "bilateral", "the right side"),
        ("site.both_breasts", "left", "both sides"),
    ],
)
def test_laterality_that_contradicts_the_site_code_is_refused(site, laterality, names):
    text = MINIMAL.replace("codes: [site.left_breast]", f"codes: [{site}]").replace(
        "laterality: left", f"laterality: {laterality}"
    )
    with pytest.raises(CaseFileError) as caught:
        parse_case_text(text, "c.yaml")
    assert str(caught.value) == (
        f"c.yaml:14: primaries[0].laterality: {laterality!r} contradicts body_site code {site!r}, "
        f"which names {names}"
    )


def test_laterality_that_agrees_with_the_site_code_is_kept():
    text = MINIMAL.replace("codes: [site.left_breast]", "codes: [site.both_breasts]").replace(
        "laterality: left", "laterality: bilateral"
    )
    assert parse_case_text(text, "c.yaml").primaries[0].laterality == "bilateral"


def test_multi_problem_case_file_through_the_cli(run_cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        MINIMAL.replace("sex: female", "sex: F").replace("diagnosis_date: 2016", "diagnosis_date: 2016-13")
    )
    done = run_cli("export", bad)
    assert done.code == 2
    assert done.err == (
        f"Error: {bad}: 2 problems:\n"
        f"  {bad}:7: patient.sex: expected one of: female, male, other, unknown (got 'F')\n"
        f"  {bad}:15: primaries[0].diagnosis_date: '2016-13' is not a calendar date\n"
    )


# Hostile case files (or FHIR files given where a case is read): one line naming the file, exit 2.
_DEEP_BLOCK = "id: x\nnote:\n" + "".join("  " * i + "- \n" for i in range(500)) + "  " * 500 + "- 1\n"
HOSTILE_CASE_FILES = [
    (
        "flow.yaml",
        "id: x\nnote: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "flow.yaml:1: not valid YAML: nested too deeply to read",
    ),
    ("block.yaml", _DEEP_BLOCK, "block.yaml: not valid YAML: nested more than 100 levels deep"),
    (
        "deep.json",
        '{"id": "x", "note": ' + "[" * 900 + "]" * 900 + "}",
        "deep.json: not valid JSON: nested more than 100 levels deep",
    ),
    (
        "deeper.json",
        '{"id": "x", "note": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "deeper.json: not valid JSON: nested too deeply to read",
    ),
    (
        "big.yaml",
        "id: x\ntitle: t\nage: " + "9" * 5000 + "\n",
        "big.yaml:3:6: not valid YAML: a number of 5000 digits (at most 4300)",
    ),
    (
        "big.json",
        '{"id": "x", "age": ' + "9" * 5000 + "}",
        "big.json:1:20: not valid JSON: a number of 5000 digits (at most 4300)",
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "message"), HOSTILE_CASE_FILES, ids=[h[0] for h in HOSTILE_CASE_FILES]
)
@pytest.mark.parametrize("command", ["show", "export", "timeline"])
def test_hostile_case_files_are_refused_in_one_line(run_cli, tmp_path, name, text, message, command):
    path = tmp_path / name
    path.write_text(text)
    result = run_cli(command, path, *(["-o", tmp_path / "t.svg"] if command == "timeline" else []))
    assert (result.code, result.err) == (2, f"Error: {tmp_path / message}\n")


def test_an_impossible_unquoted_date_is_the_case_readers_to_word(run_cli, tmp_path):
    """PyYAML's own loader would make 2020-13-45 a timestamp and fail on the month."""
    path = tmp_path / "date.yaml"
    path.write_text(builtin_text("case1") + "\nextra: 2020-13-45\n")
    result = run_cli("show", path)
    assert result.code == 2 and "Internal error" not in result.err
    assert f"{path}:" in result.err.splitlines()[0]
