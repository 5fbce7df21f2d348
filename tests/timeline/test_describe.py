"""The description of a course: lanes, spans, bars, declined items, disagreements (no drawing)."""

from datetime import date

import pytest

from fhirconv.cases import load_case
from fhirconv.timeline.describe import clause, describe, stage_words
from fhirconv.timeline.items import LANES, span


@pytest.fixture(scope="module")
def case1():
    return load_case("case1")


@pytest.fixture(scope="module")
def case2():
    return load_case("case2")


def items(timeline):
    return {item.key: item for item in timeline.items}


@pytest.mark.parametrize(
    ("text", "first", "last", "precision"),
    [
        ("2016", date(2016, 1, 1), date(2016, 12, 31), "year"),
        ("2020-02", date(2020, 2, 1), date(2020, 2, 29), "month"),
        ("2021-02", date(2021, 2, 1), date(2021, 2, 28), "month"),
        ("2020-07-21", date(2020, 7, 21), date(2020, 7, 21), "day"),
    ],
)
def test_a_date_is_the_span_of_days_it_can_mean(text, first, last, precision):
    found = span(text)
    assert (found.first, found.last, found.precision, found.text) == (first, last, precision, text)
    assert found.exact == (precision == "day")


@pytest.mark.parametrize("name", ["case1", "case2"])
def test_every_fact_is_in_exactly_one_item(name):
    case = load_case(name)
    timeline = describe(case)
    covered = [fact for item in timeline.items for fact in item.facts]
    assert sorted(covered) == sorted(fact.id for fact in case.facts())
    keys = [item.key for item in timeline.items]
    assert len(keys) == len(set(keys))


def test_facts_keep_the_precision_of_their_dates(case1):
    found = items(describe(case1))
    primary = found["primary-left-breast"]
    assert (primary.start.text, primary.start.first, primary.start.last) == (
        "2016",
        date(2016, 1, 1),
        date(2016, 12, 31),
    )
    assert found["recurrence-2018"].start.precision == "month"
    assert found["lumpectomy-2016"].start.exact


def test_therapies_are_bars_with_how_they_end(case1, case2):
    one, two = items(describe(case1)), items(describe(case2))
    toremifene = one["toremifene"]
    assert toremifene.bar and (toremifene.start.text, toremifene.end.text, toremifene.ending) == (
        "2017-03-16",
        "2018",
        "stated",
    )
    assert (one["zoledronic-acid"].ending, two["zoledronic-acid"].ending) == ("not stated", "continues")
    assert one["salvage-chemotherapy"].label == "paclitaxel, capecitabine (salvage chemotherapy, 8 cycles)"
    chemo = two["chemotherapy"]
    assert (chemo.start.text, chemo.end.text) == ("2020", "2020-11-10")
    # The year-only start is capped by the stated end: listed on 2020-11-10, not on 2020-01-01.
    assert chemo.when == date(2020, 11, 10)


def test_declined_items_are_marked_with_their_reason(case1, case2):
    declined = {item.key: item for item in describe(case1).items if item.declined}
    assert set(declined) == {
        "mdt-consult-declined",
        "pet-ct-declined",
        "declined-chemotherapy-2019",
        "declined-targeted-endocrine-2019",
    }
    assert declined["mdt-consult-declined"].start.text == "2021-10-08"
    assert declined["declined-targeted-endocrine-2019"].label == (
        "declined: CDK 4/6 inhibitors, exemestane, everolimus \u2014 refused by the patient and family"
    )
    assert declined["pet-ct-declined"].lane == "imaging"
    assert {i.key for i in describe(case2).items if i.declined} == {
        "declined-cdk46-with-ai",
        "declined-fulvestrant",
        "pet-ct-declined",
    }


def test_year_only_events_sort_within_their_year_after_more_precise_dates(case1, case2):
    order = [item.key for item in describe(case2).items]
    goserelin = order.index("goserelin")
    before, after = order.index("laparoscopic-right-salpingo-oophorectomy"), order.index("status-2022-stable")
    assert before < goserelin < after
    assert order.index("mammogram-2020") < order.index("chemotherapy")
    keys = [item.key for item in describe(case1).items]
    # 2016 (the diagnosis) after the dated 2016 events, before 2017.
    assert keys.index("adjuvant-chemotherapy") < keys.index("primary-left-breast") < keys.index("toremifene")


def test_undated_items_come_last_in_lane_order(case2):
    timeline = describe(case2)
    undated = [item.key for item in timeline.undated]
    assert undated == [
        "partial-hip-replacement",
        "left-salpingo-oophorectomy",
        "anastrozole",
        "declined-cdk46-with-ai",
        "declined-fulvestrant",
        "pet-ct-declined",
    ]
    assert timeline.items[-len(undated) :] == timeline.undated


def test_receptor_results_are_chips_on_their_specimen(case1):
    scalp = items(describe(case1))["specimen-scalp-2020"]
    assert scalp.lane == "pathology"
    assert scalp.label == "left occipital region of the scalp:"
    assert [(c.fact, c.text, c.tone) for c in scalp.chips] == [
        ("er-2020", "ER+", "positive"),
        ("pr-2020", "PR+", "positive"),
        ("her2-2020", "HER2 low", "low"),
        ("ki67-2020", "Ki-67 40%", "value"),
    ]
    core = items(describe(case1))["specimen-recurrence-2018"]
    assert (core.label, core.chips) == ("specimen: left breast", ())


def test_disagreements_are_numbered_and_keep_the_texts_value(case1):
    timeline = describe(case1)
    found = items(timeline)
    assert [(n.number, n.fact, n.figure) for n in timeline.notes] == [
        (1, "adjuvant-chemotherapy", "Figure 4"),
        (2, "oophorectomy-2018", "Figure 4"),
        (3, "met-scalp-parietal", "Figure 1"),
    ]
    adjuvant = found["adjuvant-chemotherapy"]
    assert adjuvant.disagreements == (1,)
    assert "epirubicin" in adjuvant.label and "doxorubicin" not in adjuvant.label
    assert timeline.notes[0].figure_says.startswith("Adjuvant chemotherapy (doxorubicin")
    assert found["oophorectomy-2018"].label == "bilateral oophorectomies for ovarian suppression"
    assert found["met-scalp-parietal"].disagreements == (3,)


def test_lanes_are_the_used_ones_in_order(case1):
    assert describe(case1).lanes() == list(LANES)
    assert LANES[0][0] == "diagnoses" and LANES[-1][0] == "outcome"


def test_span_of_the_course(case1, case2):
    assert (describe(case1).first, describe(case1).last) == (date(2016, 1, 1), date(2022, 3, 17))
    assert (describe(case2).first, describe(case2).last) == (date(2020, 1, 1), date(2023, 12, 31))


def test_labels_are_short_and_cut_visibly():
    long = (
        "enlargement of the scalp lesion and a new left occipital lesion, worsening bony involvement "
        "and left breast recurrent foci, new right axillary and left supraclavicular lymph nodes"
    )
    assert clause(long) == "enlargement of the scalp lesion and a new left occipital lesion \u2026"
    assert clause("new scalp metastasis; left breast recurrent foci") == "new scalp metastasis"
    assert clause("stable disease (confirmed)") == "stable disease"


def test_stage_words(case1, case2):
    assert stage_words(case1.primaries[0].staging[0]) == "stage IV (rpT1cN1M1)"
    found = items(describe(case2))
    assert found["staging-left"].label == "stage IV (pT2N0M1), left breast"


def test_dates_in_words_keep_the_reports_precision(case1, case2):
    one, two = items(describe(case1)), items(describe(case2))
    assert one["primary-left-breast"].dates == "2016"
    assert one["toremifene"].dates == "2017-03-16 to 2018"
    assert one["zoledronic-acid"].dates == "from 2018"
    assert two["zoledronic-acid"].dates == "from 2020, still going on"
    assert two["anastrozole"].dates == ""
