"""The field-level comparison the round trip reports."""

from fhirconv.cases import load_case
from fhirconv.importing.compare import compare_cases


def test_facts_compare_by_id_whatever_their_order():
    case = load_case("case2")
    shuffled = case.model_copy(update={"tumor_markers": tuple(reversed(case.tumor_markers))})
    assert compare_cases(case, shuffled) == []


def test_a_changed_field_is_named_by_the_fact_id():
    case = load_case("case2")
    marker = case.tumor_markers[0]
    changed = case.model_copy(
        update={"tumor_markers": (marker.model_copy(update={"date": "1999"}), *case.tumor_markers[1:])}
    )
    (difference,) = compare_cases(case, changed)
    assert difference.render() == f"tumor_markers[{marker.id}].date: {marker.date!r} -> '1999'"


def test_a_missing_fact_is_named():
    case = load_case("case1")
    fewer = case.model_copy(update={"therapies": case.therapies[1:]})
    (difference,) = compare_cases(case, fewer)
    assert difference.path == f"therapies[{case.therapies[0].id}]"
    assert difference.render().endswith(" -> (absent)")


def test_lists_of_values_compare_by_position():
    case = load_case("case1")
    agents = case.therapies[0].agents
    assert len(agents) > 1
    swapped = case.model_copy(
        update={
            "therapies": (
                case.therapies[0].model_copy(update={"agents": tuple(reversed(agents))}),
                *case.therapies[1:],
            )
        }
    )
    assert compare_cases(case, swapped)[0].path == f"therapies[{case.therapies[0].id}].agents[0].text"
