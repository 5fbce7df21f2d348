"""The two seed cases hold the report's facts, each with a source."""

import pytest

from fhirconv.cases import load_case


@pytest.fixture(scope="module")
def case1():
    return load_case("case1")


@pytest.fixture(scope="module")
def case2():
    return load_case("case2")


def test_every_fact_has_a_source(case1, case2):
    for case in (case1, case2):
        for fact in case.facts():
            assert fact.sources, fact.id


def test_case1_core_facts(case1):
    assert case1.patient.sex == "female"
    assert case1.ages[0].age_years == 45
    primary = case1.primaries[0]
    assert primary.laterality == "left"
    assert primary.staging[0].prefix == "rp"
    assert (primary.staging[0].t, primary.staging[0].n, primary.staging[0].m) == ("T1c", "N1", "M1")
    assert primary.sizes[0].dimensions_cm == (1.3, 1.3, 1.3)
    ki67 = {m.date: m.percent for m in case1.tumor_markers if m.marker == "Ki-67"}
    assert ki67 == {"2016": 20, "2019-12": 20, "2020-11": 40}
    her2 = {m.date: m.result for m in case1.tumor_markers if m.marker == "HER2"}
    assert her2 == {"2016": "negative", "2019-12": "negative", "2020-11": "low"}
    assert case1.vital_status.status == "deceased"
    assert case1.vital_status.date == "2022-03-17"
    salvage = next(t for t in case1.therapies if t.id == "salvage-chemotherapy")
    assert salvage.cycles == 8 and salvage.intent == "salvage"
    refused = [t for t in case1.therapies if t.status == "not-taken"]
    assert {a.text for t in refused for a in t.agents} >= {"CDK 4/6 inhibitors", "exemestane", "everolimus"}


def test_case1_keeps_text_over_figure(case1):
    adjuvant = next(t for t in case1.therapies if t.id == "adjuvant-chemotherapy")
    assert [a.text for a in adjuvant.agents] == ["docetaxel", "epirubicin", "cyclophosphamide"]
    disputed = {(d.fact, d.field) for d in case1.disagreements}
    assert ("adjuvant-chemotherapy", "agents") in disputed
    assert ("oophorectomy-2018", "code") in disputed


def test_case2_core_facts(case2):
    assert case2.ages[0].age_years == 40
    right, left = case2.primaries
    assert (right.laterality, right.quadrant.text) == ("right", "outer lower quadrant")
    assert (left.laterality, left.quadrant.text) == ("left", "upper medial region")
    assert right.staging[0].stated.endswith("(pT3N1M1) breast mucinous carcinoma")
    assert (left.staging[0].t, left.staging[0].n) == ("T2", "N0")
    birads = sorted(f.birads for i in case2.imaging for f in i.findings if f.birads)
    assert birads == ["4a-b", "4b", "4c"]
    chemo = next(t for t in case2.therapies if t.id == "chemotherapy")
    assert chemo.cycles == 6
    assert [a.text for a in chemo.agents] == ["docetaxel", "epirubicin", "cyclophosphamide"]
    assert case2.vital_status.status == "alive"
    assert [s.status for s in case2.disease_status] == ["improving", "stable", "stable"]
