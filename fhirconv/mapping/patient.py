"""Patient (mCODE CancerPatient), the article as a DocumentReference, ages and vital status."""

from __future__ import annotations

import html

from fhirconv.errors import MappingError
from fhirconv.mapping.common import (
    DATA_ABSENT_REASON,
    JSON,
    codeable,
    effective,
    meta,
    notes,
    patient_id,
    patient_ref,
    report_url,
    resource_id,
    text_concept,
)
from fhirconv.model.case import Case
from fhirconv.terminology import CDCREC, table

US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
# The five OMB race categories; every other CDC race code is a 'detailed' one.
OMB_RACE_CATEGORIES = frozenset({"1002-5", "2028-9", "2054-5", "2076-8", "2106-3"})


def race_extension(case: Case) -> JSON | None:
    ethnicity = case.patient.ethnicity
    if ethnicity is None:
        return None
    parts: list[JSON] = []
    for key in ethnicity.codes:
        concept = table().get(key)
        if concept.system != CDCREC:
            raise MappingError(
                f"patient.ethnicity: {key!r} is not a CDC race code; US Core race holds only those"
            )
        slot = "ombCategory" if concept.code in OMB_RACE_CATEGORIES else "detailed"
        parts.append({"url": slot, "valueCoding": concept.coding()})
    parts.append({"url": "text", "valueString": ethnicity.text})
    return {"url": US_CORE_RACE, "extension": parts}


def to_patient(case: Case) -> JSON:
    resource: JSON = {
        "resourceType": "Patient",
        "id": patient_id(case),
        "meta": meta(case, case.patient.sources, "mcode-cancer-patient"),
    }
    if case.patient.note:
        # Patient has no note element: the note is narrative that adds to the data.
        resource["text"] = narrative(case.patient.note)
    race = race_extension(case)
    if race:
        resource["extension"] = [race]
    # A case report names a publication, not a person: the identifier is the case's
    # place in the article, and the name is withheld (US Core us-core-6 allows this).
    resource["identifier"] = [{"system": report_url(case), "value": case.id}]
    resource["name"] = [{"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]}]
    resource["gender"] = case.patient.sex
    vital = case.vital_status
    if vital and vital.status == "deceased":
        if vital.date:
            resource["deceasedDateTime"] = vital.date
        else:
            resource["deceasedBoolean"] = True
    elif vital and vital.status == "alive":
        resource["deceasedBoolean"] = False
    return resource


NARRATIVE_OPEN = '<div xmlns="http://www.w3.org/1999/xhtml"><p>'
NARRATIVE_CLOSE = "</p></div>"
REPORT_TYPE = "Case report (journal article)"


def narrative(text: str) -> JSON:
    return {"status": "additional", "div": NARRATIVE_OPEN + html.escape(text, quote=False) + NARRATIVE_CLOSE}


def from_narrative(value: JSON) -> str | None:
    div = value.get("div")
    if value.get("status") != "additional" or not isinstance(div, str):
        return None
    if not (div.startswith(NARRATIVE_OPEN) and div.endswith(NARRATIVE_CLOSE)):
        return None
    return html.unescape(div[len(NARRATIVE_OPEN) : -len(NARRATIVE_CLOSE)])


def to_report_document(case: Case) -> JSON:
    """The article: DOI, title, journal (as custodian) and year; the case's title describes it here."""
    report = case.report
    attachment: JSON = {"url": report_url(case)}
    if report.title:
        attachment["title"] = report.title
    if report.year is not None:
        if not 1 <= report.year <= 9999:
            raise MappingError(f"report.year: {report.year} is not a year FHIR can write (1 to 9999)")
        attachment["creation"] = f"{report.year:04d}"
    document: JSON = {
        "resourceType": "DocumentReference",
        "id": resource_id(case, "report"),
        "meta": {"source": report_url(case)},
        "identifier": [{"system": "https://doi.org", "value": report.doi}],
        "status": "current",
        "type": text_concept(REPORT_TYPE),
        "subject": patient_ref(case),
        "description": case.title,
    }
    if report.journal:
        document["custodian"] = {"display": report.journal}
    document["content"] = [{"attachment": attachment}]
    return document


def to_age_observations(case: Case) -> list[JSON]:
    out = []
    for age in case.ages:
        out.append(
            {
                "resourceType": "Observation",
                "id": resource_id(case, age.id),
                "meta": meta(case, age.sources),
                "status": "final",
                "code": text_concept("Age at stated event"),
                "subject": patient_ref(case),
                **effective(age.date, allow_partial_datetime=True),
                "valueQuantity": {
                    "value": age.age_years,
                    "unit": "year",
                    "system": table().get("unit.year").system,
                    "code": "a",
                },
                "component": [{"code": text_concept("Event"), "valueString": age.event}],
                **({"note": notes(age.note)} if age.note else {}),
            }
        )
    return out


def to_vital_status_observation(case: Case) -> JSON | None:
    vital = case.vital_status
    if vital is None:
        return None
    resource: JSON = {
        "resourceType": "Observation",
        "id": resource_id(case, vital.id),
        "meta": meta(case, vital.sources),
        "status": "final",
        "code": text_concept("Vital status"),
        "subject": patient_ref(case),
        **effective(vital.date, allow_partial_datetime=True),
        "valueCodeableConcept": text_concept(vital.status),
    }
    if vital.causes:
        resource["component"] = [
            {"code": text_concept("Cause of death"), "valueCodeableConcept": codeable(cause)}
            for cause in vital.causes
        ]
    if vital.note:
        resource["note"] = notes(vital.note)
    return resource


__all__ = ["to_age_observations", "to_patient", "to_report_document", "to_vital_status_observation"]
