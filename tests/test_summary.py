"""``fhirconv show``: sections, order of imprecise dates, declined treatments, disagreements."""

from pathlib import Path

import pytest

from fhirconv.cases import load_case
from fhirconv.importing.reader import import_entries, read_files
from fhirconv.summary import summarize

JENNY = Path(__file__).parent / "data" / "mcode-examples" / "Bundle-mcode-patient-bundle-jenny-m.json"


@pytest.fixture(scope="module")
def case1():
    return summarize(load_case("case1")).splitlines()


@pytest.fixture(scope="module")
def case2():
    return summarize(load_case("case2")).splitlines()


def section(lines, heading):
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    body = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        body.append(line)
    return body


def headings(lines):
    return [line for line in lines if line and not line.startswith(" ") and line.endswith(":")]


def test_no_empty_section_headings():
    text = summarize(import_entries(read_files([JENNY]), "10.1000/xyz").case)
    lines = text.splitlines()
    for heading in headings(lines):
        assert section(lines, heading), heading
    assert "Metastases:" not in lines  # the Jenny M bundle names none
    # Results linked to no tumour are shown, not dropped.
    assert section(lines, "Receptor results not linked") == [
        "  receptors 2018-03-10: ER positive, PR negative, HER2 negative"
    ]


def test_the_seed_cases_have_every_section(case1, case2):
    assert headings(case1) == [
        "Primary tumours:",
        "Metastases:",
        "Timeline (dates as the report gives them; a month or a year alone is listed at its end):",
        "Not dated in the report:",
        "Declined (offered or recommended, not given):",
        "Where the text and a figure disagree (the text's value is kept):",
    ]


def test_a_year_alone_sorts_within_its_year_not_first(case2):
    timeline = section(case2, "Timeline")
    assert timeline[0].startswith("  2020-07-21  surgery: ultrasound-guided vacuum-assisted excision")
    dates = [line.split()[0] for line in timeline]
    chemo = next(i for i, line in enumerate(timeline) if "docetaxel" in line)
    assert dates[chemo] == "2020"
    assert all(d.startswith("2020-07") for d in dates[:chemo])
    assert timeline[chemo] == (
        "  2020        chemotherapy: docetaxel, epirubicin, cyclophosphamide, 6 cycles (until 2020-11-10) [1]"
    )
    goserelin = next(i for i, line in enumerate(timeline) if "goserelin" in line)
    assert dates[goserelin - 1] == "2020-12-18" and dates[goserelin + 2] == "2022-05-19"


def test_declined_treatments_are_listed_with_their_reasons(case1):
    assert section(case1, "Declined") == [
        "  2021-10-08  multidisciplinary team (MDT) consult for further management \u2014 refused by the "
        "patient and her family due to financial reasons",
        "  no date     further chemotherapy \u2014 refused by the patient and family (the Discussion "
        "attributes the refusals to financial constraints)",
        "  no date     CDK 4/6 inhibitors, exemestane, everolimus \u2014 refused by the patient and family "
        "(the Discussion attributes the refusals to financial constraints)",
        "  no date     positron emission tomography/computed tomography (PET/CT) for extended cancer "
        "assessment \u2014 declined because of financial constraints",
    ]
    assert section(case1, "Not dated in the report") == ["  radiotherapy: localized radiation therapy"]


def test_disagreements_show_both_values_and_mark_the_fact(case1):
    assert section(case1, "Where the text and a figure disagree")[:3] == [
        "  [1] adjuvant-chemotherapy, agents",
        "      text:     docetaxel, epirubicin and cyclophosphamide",
        "      Figure 4: Adjuvant chemotherapy (doxorubicin, cyclophosphamide, paclitaxel) 8 cycles",
    ]
    marked = [line for line in section(case1, "Timeline") if line.endswith(("[1]", "[2]", "[3]"))]
    assert [line.split()[0] for line in marked] == ["2016-09-15", "2018-11-29", "2019-12"]


def test_receptors_in_a_fixed_order(case1):
    assert "    receptors 2016: ER positive, PR positive, HER2 negative, Ki-67 20%" in case1
