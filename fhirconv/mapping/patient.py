"""Patient (mCODE CancerPatient), the article as a DocumentReference, ages and vital status."""

from __future__ import annotations

import html
import json

from fhirconv.errors import MappingError
from fhirconv.mapping.common import (
    DATA_ABSENT_REASON,
    JSON,
    case_urn,
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
from fhirconv.mapping.reading import Reader, take_text, text_of
from fhirconv.model.case import Case
from fhirconv.terminology import CDCREC, table

AGE_CODE = "Age at stated event"
EVENT_CODE = "Event"
VITAL_CODE = "Vital status"
CAUSE_CODE = "Cause of death"
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
    deceased = deceased_value(vital.status, vital.date) if vital else None
    if isinstance(deceased, str):
        resource["deceasedDateTime"] = deceased
    elif deceased is not None:
        resource["deceasedBoolean"] = deceased
    return resource


NARRATIVE_OPEN = '<div xmlns="http://www.w3.org/1999/xhtml"><p>'
NARRATIVE_CLOSE = "</p></div>"
REPORT_TYPE = "Case report (journal article)"
# The document of an imported case that names no publication: the data it was read from.
ORIGIN_TYPE = "Imported data the case was read from"


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
    """Where the case comes from, as a DocumentReference.

    The article (DOI, title, journal as custodian, year) when the case names one; for an
    imported case also the source its producer named (an attachment's url) and the files it
    was read from (attachments with a title only).  The case's title describes it.
    """
    report = case.report
    content: list[JSON] = []
    if report.doi:
        attachment: JSON = {"url": report_url(case)}
        if report.title:
            attachment["title"] = report.title
        if report.year is not None:
            if not 1 <= report.year <= 9999:
                raise MappingError(f"report.year: {report.year} is not a year FHIR can write (1 to 9999)")
            attachment["creation"] = f"{report.year:04d}"
        content.append({"attachment": attachment})
    if report.source:
        content.append({"attachment": {"url": report.source}})
    content.extend({"attachment": {"title": name}} for name in report.files)
    document: JSON = {
        "resourceType": "DocumentReference",
        "id": resource_id(case, "report"),
        "meta": {"source": report_url(case)},
    }
    if report.doi:
        document["identifier"] = [{"system": "https://doi.org", "value": report.doi}]
    document["status"] = "current"
    document["type"] = text_concept(REPORT_TYPE if report.doi else ORIGIN_TYPE)
    document["subject"] = patient_ref(case)
    document["description"] = case.title
    if report.journal:
        document["custodian"] = {"display": report.journal}
    document["content"] = content
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
                "code": text_concept(AGE_CODE),
                "subject": patient_ref(case),
                **effective(age.date, allow_partial_datetime=True),
                "valueQuantity": {
                    "value": age.age_years,
                    "unit": "year",
                    "system": table().get("unit.year").system,
                    "code": "a",
                },
                "component": [{"code": text_concept(EVENT_CODE), "valueString": age.event}],
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
        "code": text_concept(VITAL_CODE),
        "subject": patient_ref(case),
        **effective(vital.date, allow_partial_datetime=True),
        "valueCodeableConcept": text_concept(vital.status),
    }
    if vital.causes:
        resource["component"] = [
            {"code": text_concept(CAUSE_CODE), "valueCodeableConcept": codeable(cause)}
            for cause in vital.causes
        ]
    if vital.note:
        resource["note"] = notes(vital.note)
    return resource




# --- the way back -------------------------------------------------------------------------


def from_patient(reader: Reader, resource: JSON, loc: str) -> JSON:
    """The model's ``patient`` (and the case id, from the identifier the export writes)."""
    out: JSON = {"sources": reader.sources(resource, loc)}
    sex = resource.pop("gender", None)
    out["sex"] = sex if sex in ("female", "male", "other", "unknown") else "unknown"
    for i, ext in enumerate(resource.get("extension") or []):
        if isinstance(ext, dict) and ext.get("url") == US_CORE_RACE:
            out["ethnicity"] = _race_from(reader, ext, f"{loc}.extension[{i}]")
    text = resource.get("text")
    if isinstance(text, dict):
        note = from_narrative(text)
        if note is not None:
            out["note"] = note
            resource.pop("text")
    # Compared with the vital status once it is read (see vital_from_patient).
    for key in ("deceasedBoolean", "deceasedDateTime"):
        if key in resource:
            out["_deceased"] = resource.pop(key)
    # The withheld name: checked by the export's own tests.
    for name in resource.get("name") or []:
        if isinstance(name, dict) and _is_masked(name):
            name.clear()
    return out


def vital_from_patient(reader: Reader, data: JSON, loc: str) -> None:
    """The Patient's ``deceased[x]`` against the case's vital status.

    fhirconv writes ``deceased[x]`` from the vital status, and a Patient that agrees with it
    adds nothing.  Without a vital status (other producers: Synthea's dead patients carry only
    ``deceasedDateTime``), the Patient's word becomes the vital status; where the two disagree,
    the vital status is kept and the Patient's word listed as not mapped.
    """
    said = data["patient"].pop("_deceased", None)
    if said is None:
        return
    where = f"{loc}.deceased{'DateTime' if isinstance(said, str) else 'Boolean'}"
    if isinstance(said, str):
        status: JSON = {"status": "deceased", "date": reader.partial_date(said, where)}
    elif isinstance(said, bool):
        status = {"status": "deceased" if said else "alive"}
    else:
        reader.report(where, "not mapped", _short_json(said))
        return
    vital = data.get("vital_status")
    if vital is None:
        ident = reader.assign("Patient.deceased", "vital-status")
        data["vital_status"] = {"id": ident, "sources": data["patient"]["sources"], **status}
        return
    written = deceased_value(vital.get("status"), vital.get("date"))
    if written != said:
        reader.report(
            where,
            "not mapped",
            f"{_short_json(said)}: the vital status says {vital.get('status')}"
            + (f" ({vital['date']})" if vital.get("date") else "")
            + "; kept the vital status",
        )


def deceased_value(status: str | None, date: str | None) -> str | bool | None:
    """What the export writes in Patient.deceased[x] for a vital status: the twin of the reading."""
    if status == "deceased":
        return date if date else True
    if status == "alive":
        return False
    return None


def _short_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _is_masked(name: JSON) -> bool:
    extensions = name.get("extension") or []
    return set(name) == {"extension"} and all(
        isinstance(e, dict) and e.get("url") == DATA_ABSENT_REASON for e in extensions
    )


def _race_from(reader: Reader, ext: JSON, loc: str) -> JSON | None:
    codes: list[str] = []
    text = None
    for i, part in enumerate(ext.get("extension") or []):
        if not isinstance(part, dict):
            continue
        if part.get("url") in ("ombCategory", "detailed"):
            key = reader.code_key(part.get("valueCoding"), f"{loc}.extension[{i}].valueCoding")
            if key is not None:
                codes.append(key)
                part.pop("url")
        elif part.get("url") == "text" and isinstance(part.get("valueString"), str):
            text = part.pop("valueString")
            part.pop("url")
    if text is None and codes:
        text = table().get(codes[0]).display
    if text is None:
        return None
    ext.pop("url")
    return {"text": text, "codes": codes} if codes else {"text": text}


def case_id_from_patient(resource: JSON, report_url: str | None) -> str | None:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == report_url:
            value = identifier.get("value")
            return value if isinstance(value, str) else None
    return None


def own_case_urn(resource: JSON) -> str | None:
    """The case URN of a Patient fhirconv wrote for a case that names no publication, if it is one."""
    for identifier in resource.get("identifier") or []:
        if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
            continue
        if identifier.get("system") == case_urn(identifier["value"]):
            return str(identifier["system"])
    return None


def take_case_identifier(resource: JSON, report_url: str | None) -> None:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == report_url:
            identifier.clear()


def from_report_document(reader: Reader, resource: JSON, loc: str) -> tuple[JSON, str | None]:
    """The model's ``report``, and the case title the document is described by."""
    report: JSON = {}
    for identifier in resource.get("identifier") or []:
        if (
            isinstance(identifier, dict)
            and identifier.get("system") == "https://doi.org"
            and isinstance(identifier.get("value"), str)
        ):
            report["doi"] = identifier.pop("value")
            identifier.pop("system")
    meta = resource.get("meta")
    if isinstance(meta, dict) and reader.report_url and meta.get("source") == reader.report_url:
        meta.pop("source")
    resource.pop("status", None)
    if take_text(resource, "type") not in (REPORT_TYPE, ORIGIN_TYPE):
        reader.report(f"{loc}.type", "unexpected", "not the case-report document fhirconv writes")
    if reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",)) is None:
        pass
    title = resource.pop("description", None)
    custodian = resource.get("custodian")
    if isinstance(custodian, dict) and isinstance(custodian.get("display"), str):
        report["journal"] = custodian.pop("display")
    files = []
    for content in resource.get("content") or []:
        attachment = content.get("attachment") if isinstance(content, dict) else None
        if not isinstance(attachment, dict):
            continue
        url = attachment.get("url")
        if url is None:
            if set(attachment) == {"title"}:
                files.append(attachment.pop("title"))  # a file an imported case was read from
            continue
        if url != reader.report_url:
            if "source" not in report:
                report["source"] = attachment.pop("url")  # the source an imported case's producer named
            continue
        attachment.pop("url")
        if isinstance(attachment.get("title"), str):
            report["title"] = attachment.pop("title")
        creation = attachment.get("creation")
        if isinstance(creation, str) and creation[:4].isdigit():
            report["year"] = int(creation[:4])
            attachment.pop("creation")
    if files:
        report["files"] = files
    return report, title if isinstance(title, str) else None


def from_age_observation(reader: Reader, resource: JSON, loc: str) -> JSON | None:
    years = reader.quantity(resource.get("valueQuantity"), {"unit.year": 1}, whole=True)
    if years is None:
        # Reported whole: read anyway, months would become years.
        said = json.dumps(resource.get("valueQuantity"), ensure_ascii=False)
        reader.report(loc, "not mapped", f"an age that is not a whole number of years: {said}")
        return None
    out: JSON = reader.fact(resource, loc)
    resource.pop("status", None)
    resource.pop("code")
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    date = reader.date(resource, "effective", loc)
    if date:
        out["date"] = date
    out["age_years"] = int(years)
    for component in resource.get("component") or []:
        if isinstance(component, dict) and text_of(component.get("code")) == EVENT_CODE:
            out["event"] = component.pop("valueString", None)
            component.pop("code")
    note = reader.note(resource, loc)
    if note:
        out["note"] = note
    return out


def from_vital_status(reader: Reader, resource: JSON, loc: str) -> JSON:
    out: JSON = reader.fact(resource, loc)
    resource.pop("status", None)
    resource.pop("code")
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    date = reader.date(resource, "effective", loc)
    if date:
        out["date"] = date
    out["status"] = take_text(resource, "valueCodeableConcept")
    causes = []
    for i, component in enumerate(resource.get("component") or []):
        if isinstance(component, dict) and text_of(component.get("code")) == CAUSE_CODE:
            component.pop("code")
            where = f"{loc}.component[{i}].valueCodeableConcept"
            cause = reader.term(component.get("valueCodeableConcept"), where)
            if cause:
                causes.append(cause)
    if causes:
        out["causes"] = causes
    note = reader.note(resource, loc)
    if note:
        out["note"] = note
    return out
