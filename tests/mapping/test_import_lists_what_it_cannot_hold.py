"""What the case model cannot hold is listed as not mapped, never taken and lost: each test
changes one place of case 1's own bundle as another producer might write it, and the import
either reads it (the case changes) or lists it (the case stays as it was)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from fhirconv.importing.reader import import_entries, read_entries
from fhirconv.mapping.patient import VITAL_CODE
from fhirconv.mapping.reading import LATERALITY_EXT
from fhirconv.terminology import table

CASE1 = Path(__file__).resolve().parents[2] / "examples" / "case1.bundle.json"
Resource = dict[str, Any]


def _import(bundle: dict[str, Any]) -> Any:
    return import_entries(read_entries(json.dumps(bundle).encode(), "bundle.json"))


@cache
def _original() -> dict[str, Any]:
    return json.loads(CASE1.read_text())


@cache
def _original_case() -> Any:
    return _import(_original()).case


def _change(
    which: Callable[[Resource], bool],
    change: Callable[[Resource], None],
    *,
    drop: Callable[[Resource], bool] | None = None,
) -> tuple[int, Resource, Any]:
    """(the index of the first resource ``which`` picks, it, the import) after ``change`` (and
    without the resources ``drop`` picks)."""
    bundle = copy.deepcopy(_original())
    if drop is not None:
        bundle["entry"] = [e for e in bundle["entry"] if not drop(e["resource"])]
    index, resource = next((i, e["resource"]) for i, e in enumerate(bundle["entry"]) if which(e["resource"]))
    before = copy.deepcopy(resource)
    change(resource)
    return index, before, _import(bundle)


def _listed(result: Any, at: int, *places: str, same_case: bool = True) -> bool:
    """Exactly ``places`` of entry ``at`` are listed, and the case is as the unchanged bundle's."""
    listed = [u.location for u in result.unmapped]
    expected = [f"Bundle.entry[{at}].resource{p}" for p in places]
    return listed == expected and (not same_case or result.case == _original_case())


def _coding(key: str) -> dict[str, Any]:
    return {"coding": [table().get(key).coding()]}


def _of(rtype: str, test: Callable[[Resource], Any] = lambda r: True) -> Callable[[Resource], bool]:
    return lambda r: r["resourceType"] == rtype and bool(test(r))


IMAGING_STUDY = _of(
    "Procedure", lambda r: r.get("bodySite") and r.get("category", {}).get("text") == "imaging study"
)
FINDING = _of("Observation", lambda r: r.get("partOf") and isinstance(r.get("bodySite"), dict))
PRIMARY = _of("Condition", lambda r: "primary" in json.dumps(r.get("meta", {})).lower())
SIZE = _of(
    "Observation",
    lambda r: any(c.get("valueQuantity", {}).get("code") == "cm" for c in r.get("component", [])),
)
AGE = _of("Observation", lambda r: r.get("valueQuantity", {}).get("code") == "a")
VITAL = _of("Observation", lambda r: r.get("code", {}).get("text") == VITAL_CODE)
PATIENT = _of("Patient")
AGENT = _of("MedicationStatement", lambda r: r.get("partOf") and r.get("effectivePeriod"))


def test_a_side_on_an_imaging_study_site():
    """The model holds a site for a study and a side only for its findings."""
    left = {"url": LATERALITY_EXT, "valueCodeableConcept": _coding("laterality.left")}
    at, _, result = _change(IMAGING_STUDY, lambda r: r["bodySite"][0].update(extension=[left]))
    assert _listed(result, at, ".bodySite[0].extension")


def test_a_site_on_an_imaging_finding():
    at, _, result = _change(FINDING, lambda r: r["bodySite"].update(_coding("site.left_breast")))
    assert _listed(result, at, ".bodySite.coding")


def test_a_finding_dated_apart_from_its_study():
    at, before, result = _change(FINDING, lambda r: r.update(effectiveDateTime="2001-02-03"))
    assert _listed(result, at, ".effective[x]")
    assert result.unmapped[0].message == (
        f"the finding's date 2001-02-03 is not its study's ({before['effectiveDateTime']}): "
        "the case model dates a finding by its study"
    )


def test_a_provisional_primary_cancer():
    """The model's primary cancers are confirmed ones."""
    at, _, result = _change(
        PRIMARY, lambda r: r.update(verificationStatus=_coding("verification.provisional"))
    )
    assert _listed(result, at, ".verificationStatus")


def _sizes_in(unit: str, factor: float) -> Callable[[Resource], None]:
    def change(resource: Resource) -> None:
        for component in resource["component"]:
            quantity = component.get("valueQuantity")
            if quantity and quantity.get("code") == "cm":
                quantity.update(value=round(quantity["value"] * factor, 6), unit=unit, code=unit)

    return change


def test_a_tumour_size_in_millimetres_is_read_in_centimetres():
    _, _, result = _change(SIZE, _sizes_in("mm", 10))
    assert result.unmapped == [] and result.case == _original_case()


@pytest.mark.parametrize(
    "quantity",
    [
        {"value": 2, "unit": "in", "system": "http://unitsofmeasure.org", "code": "[in_i]"},
        {"value": 2, "unit": "cm", "system": "http://example.org/units", "code": "cm"},
        {"value": 2},
    ],
    ids=["inches", "another system", "no unit"],
)
def test_a_tumour_size_in_another_unit_or_none_is_not_read_as_centimetres(quantity):
    def change(resource: Resource) -> None:
        first = next(c for c in resource["component"] if c.get("valueQuantity", {}).get("code") == "cm")
        first["valueQuantity"] = quantity

    at, before, result = _change(SIZE, change)
    first = next(
        i for i, c in enumerate(before["component"]) if c.get("valueQuantity", {}).get("code") == "cm"
    )
    # The other dimension is still read: the case has one size less.
    assert _listed(result, at, f".component[{first}].valueQuantity", same_case=False)


@pytest.mark.parametrize(
    ("quantity", "taken"),
    [
        ({"value": 45, "unit": "year", "system": "http://unitsofmeasure.org", "code": "a"}, True),
        ({"value": 45, "unit": "years"}, True),
        ({"value": 45, "unit": "month", "system": "http://unitsofmeasure.org", "code": "mo"}, False),
        ({"value": 45.5, "unit": "year", "system": "http://unitsofmeasure.org", "code": "a"}, False),
    ],
    ids=["years", "years in words", "months", "not whole"],
)
def test_an_age_is_taken_in_whole_years_only(quantity, taken):
    at, _, result = _change(AGE, lambda r: r.update(valueQuantity=quantity))
    if taken:
        assert result.unmapped == [] and 45 in [a.age_years for a in result.case.ages]
    else:
        assert [(u.location, u.message) for u in result.unmapped] == [
            (
                f"Bundle.entry[{at}].resource",
                f"an age that is not a whole number of years: {json.dumps(quantity)}",
            )
        ]
        assert result.case.ages == ()


def test_a_death_only_the_patient_records_becomes_the_vital_status():
    """Synthea's dead patients say so only in Patient.deceasedDateTime."""
    _, patient, result = _change(PATIENT, lambda r: None, drop=VITAL)
    vital, before = result.case.vital_status, _original_case().vital_status
    assert result.unmapped == []
    assert (
        (vital.status, vital.date)
        == (before.status, before.date)
        == ("deceased", patient["deceasedDateTime"])
    )


def test_a_death_the_vital_status_contradicts():
    at, _, result = _change(PATIENT, lambda r: r.update(deceasedDateTime="2001-02-03"))
    assert _listed(result, at, ".deceasedDateTime")
    date = _original_case().vital_status.date
    assert result.unmapped[0].message == (
        f'"2001-02-03": the vital status says deceased ({date}); kept the vital status'
    )


@pytest.mark.parametrize(("said", "status"), [(True, "deceased"), (False, "alive")])
def test_a_patient_s_deceased_boolean_becomes_the_vital_status(said, status):
    def change(patient: Resource) -> None:
        del patient["deceasedDateTime"]
        patient["deceasedBoolean"] = said

    _, _, result = _change(PATIENT, change, drop=VITAL)
    assert result.unmapped == []
    assert (result.case.vital_status.status, result.case.vital_status.date) == (status, None)


def test_an_agent_of_a_regimen_that_says_another_period():
    """A regimen holds one period for its agents, from its first statement."""
    agents = [e["resource"] for e in _original()["entry"] if AGENT(e["resource"])]
    second = agents[1]
    assert agents[0]["partOf"] == second["partOf"]
    start = agents[0]["effectivePeriod"]["start"]
    at, _, result = _change(
        lambda r: r is not None and r.get("id") == second["id"],
        lambda r: r["effectivePeriod"].update(start="2001-02-03"),
    )
    assert _listed(result, at, "")
    assert result.unmapped[0].message == (
        f'period {{"start": "2001-02-03"}} is not the regimen\'s ({{"start": "{start}"}}, from its first '
        "agent): the case model holds one for all the agents of a regimen"
    )


def test_a_therapy_category_in_words_the_model_does_not_hold():
    other = _of("MedicationStatement", lambda r: r.get("category", {}).get("text") == "other")
    at, _, result = _change(other, lambda r: r["category"].update(text="radioligand"))
    assert _listed(result, at, ".category")
    assert result.unmapped[0].message == '{"text": "radioligand"}'


TUMOR = _of("BodyStructure", lambda r: r.get("location"))


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (lambda location: location.update(_coding("site.right_breast")), "site"),
        (
            lambda location: location["extension"][0].update(
                valueCodeableConcept=_coding("laterality.right")
            ),
            "side",
        ),
    ],
    ids=["another site", "another side"],
)
def test_a_tumour_located_apart_from_its_condition(change, what):
    """A Tumor's location is its condition's site: one whose codes say otherwise is reported."""
    at, _, result = _change(TUMOR, lambda r: change(r["location"]))
    assert _listed(result, at, ".location")
    assert result.unmapped[0].message.endswith(
        f": not the {what} of the condition it is a tumour of; kept the condition's"
    )


def test_a_tumour_location_in_other_words_is_not_reported():
    _, _, result = _change(TUMOR, lambda r: r["location"].update(text="the left breast"))
    assert result.unmapped == [] and result.case == _original_case()
