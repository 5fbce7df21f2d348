"""Case-file loading: valid files load, invalid ones fail with one exact, located message."""

from pathlib import Path

import pytest

from fhirconv.cases import builtin_names, load_case
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
            "not a key of fhirconv's terminology table",
        ),
        (
            "laterality: left",
            "laterality: [left]",
            "c.yaml:14: primaries[0].laterality: Input should be 'left', 'right' or 'bilateral'",
        ),
        (
            "    laterality: left\n",
            "    laterality: left\n    side: left\n",
            "c.yaml:15: primaries[0].side: unknown field (not part of the case-file schema; "
            "see `fhirconv schema`)",
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
