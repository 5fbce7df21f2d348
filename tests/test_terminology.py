import pytest

from fhirconv.errors import TerminologyError
from fhirconv.terminology import parse_table, table


def test_every_concept_names_a_source():
    for concept in table():
        assert concept.source.strip(), concept.key
        assert concept.system and concept.code, concept.key


def test_unknown_key_raises():
    with pytest.raises(TerminologyError):
        table().get("no.such.key")


def test_duplicate_codes_are_rejected():
    text = "key,system,code,display,other_displays,source\na,s,1,x,,src\nb,s,1,y,,src\n"
    with pytest.raises(TerminologyError, match="appears twice"):
        parse_table(text)


def test_easy_mistakes_from_the_reference_are_avoided():
    # ../shared/reference/terminology.md lists these as easy to get wrong.
    assert table().get("procedure.bilateral_oophorectomy").code == "76876009"
    assert table().get("secondary.axillary_nodes").code == "94181007"
    assert table().get("icd10cm.breast_right_loq").code == "C50.511"
    assert table().get("icd10cm.breast_left_uiq").code == "C50.212"


def test_an_alias_means_its_plain_key():
    text = (
        "key,system,code,display,other_displays,source\n"
        "marker.er,http://loinc.org,16112-5,ER,,src\n"
        "marker.er~85337-4,http://loinc.org,85337-4,ER IHC,,src\n"
    )
    alias = parse_table(text).find("http://loinc.org", "85337-4")
    assert alias is not None and alias.is_alias and alias.meaning == "marker.er"


def test_an_alias_of_no_key_is_rejected():
    text = "key,system,code,display,other_displays,source\nmarker.xx~1,s,1,x,,src\n"
    with pytest.raises(TerminologyError, match=r"stands for no key 'marker\.xx'"):
        parse_table(text)
