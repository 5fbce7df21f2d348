"""What is measured or comes back: tumour sizes, the Tumor BodyStructure they measure, recurrences."""

from __future__ import annotations

import json
from typing import Any

from fhirconv.mapping.common import (
    JSON,
    LATERALITY_EXT,
    body_site,
    coded,
    condition_ref,
    effective,
    meta,
    notes,
    patient_ref,
    report_url,
    resource_id,
    size_components,
    text_concept,
)
from fhirconv.mapping.reading import LATERALITY_KEYS, Reader, meanings, take_text, text_of
from fhirconv.model.case import Case, PrimaryCancer, Size, Term

RELATED_CONDITION_EXT = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-related-condition"
CONFIRMED_BY = "Confirmed by"
RECURRENCE_CODE = "Cancer recurrence"


def to_size_observation(
    case: Case, owner_id: str, index: int, size: Size, sources: tuple[str, ...], focus: JSON
) -> JSON:
    resource: JSON = {
        "resourceType": "Observation",
        "id": resource_id(case, f"{owner_id}-size-{index + 1}"),
        "meta": meta(case, sources, "mcode-tumor-size"),
        "status": "final",
        "code": coded("size.tumor"),
        "subject": patient_ref(case),
        "focus": [focus],
    }
    if size.method:
        resource["method"] = text_concept(size.method)
    resource["component"] = size_components(size)
    return resource


def tumor_id(case: Case, owner_id: str) -> str:
    return resource_id(case, f"{owner_id}-tumor")


def to_tumor(
    case: Case, owner_id: str, sources: tuple[str, ...], site: Term | None, laterality: str | None
) -> JSON:
    """The measured tumour as an mCODE Tumor BodyStructure: TumorSize.focus may only name one."""
    rid = tumor_id(case, owner_id)
    resource: JSON = {
        "resourceType": "BodyStructure",
        "id": rid,
        "meta": meta(case, sources, "mcode-tumor"),
        "extension": [{"url": RELATED_CONDITION_EXT, "valueReference": condition_ref(case, owner_id)}],
        # mCODE's body-structure identifier: use 'usual', typed as a BodyStructure identifier.
        "identifier": [
            {
                "use": "usual",
                "type": coded("identifier.bodystructure"),
                "system": report_url(case),
                "value": rid,
            }
        ],
        "location": body_site(site, laterality) or text_concept("not stated"),
        "patient": patient_ref(case),
    }
    return resource


def to_recurrence_observation(case: Case, primary: PrimaryCancer, recurrence_index: int) -> JSON:
    recurrence = primary.recurrences[recurrence_index]
    resource: JSON = {
        "resourceType": "Observation",
        "id": resource_id(case, recurrence.id),
        "meta": meta(case, recurrence.sources),
        "status": "final",
        "code": text_concept(RECURRENCE_CODE),
        "subject": patient_ref(case),
        "focus": [condition_ref(case, primary.id)],
        **effective(recurrence.date, allow_partial_datetime=True),
        "valueString": recurrence.description,
    }
    components = [{"code": text_concept(CONFIRMED_BY), "valueString": way} for way in recurrence.confirmed_by]
    if recurrence.size:
        components.extend(size_components(recurrence.size))
        if recurrence.size.method:
            resource["method"] = text_concept(recurrence.size.method)
    if components:
        resource["component"] = components
    if recurrence.note:
        resource["note"] = notes(recurrence.note)
    return resource


# --- the way back -------------------------------------------------------------------------


def from_size_observation(reader: Reader, resource: JSON, loc: str) -> tuple[str | None, JSON]:
    """(the condition it measures, the model's Size)."""
    reader.sources(resource, loc)
    resource.pop("status", None)
    reader.concept_key(resource.get("code"), f"{loc}.code", "size.tumor")
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    owner = None
    for i, focus in enumerate(resource.get("focus") or []):
        owner = owner or reader.ref(focus, f"{loc}.focus[{i}]", ("Condition", "BodyStructure"))
    size: JSON = {}
    method = take_text(resource, "method")
    if method:
        size["method"] = method
    size.update(size_from_components(reader, resource, loc))
    return owner, size


def size_from_components(reader: Reader, resource: JSON, loc: str) -> JSON:
    """Tumor-size components (longest or other dimension, in cm), in order."""
    dimensions = []
    for i, component in enumerate(resource.get("component") or []):
        if not isinstance(component, dict):
            continue
        key = reader.concept_key(component.get("code"), f"{loc}.component[{i}].code", "size.")
        if key not in ("size.longest_dimension", "size.other_dimension"):
            continue
        value = reader.quantity(component.get("valueQuantity"), {"unit.cm": 1, "unit.mm": 0.1})
        if value is not None:
            dimensions.append(float(value))
    return {"dimensions_cm": dimensions} if dimensions else {}


def from_recurrence(reader: Reader, resource: JSON, loc: str) -> tuple[str | None, JSON]:
    out: JSON = reader.fact(resource, loc)
    resource.pop("status", None)
    take_text(resource, "code")
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    owner = None
    for i, focus in enumerate(resource.get("focus") or []):
        owner = owner or reader.ref(focus, f"{loc}.focus[{i}]", ("Condition",))
    date = reader.date(resource, "effective", loc)
    if date:
        out["date"] = date
    out["description"] = resource.pop("valueString", None)
    confirmed = []
    for component in resource.get("component") or []:
        if isinstance(component, dict) and text_of(component.get("code")) == CONFIRMED_BY:
            confirmed.append(component.pop("valueString", None))
            component.pop("code")
    if confirmed:
        out["confirmed_by"] = confirmed
    size = size_from_components(reader, resource, loc)
    if size:
        out["size"] = with_method(resource, size)
    note = reader.note(resource, loc)
    if note:
        out["note"] = note
    return owner, out


def with_method(resource: JSON, size: JSON) -> JSON:
    """A size measured within another observation: how it was measured is that one's method."""
    method = take_text(resource, "method")
    return {**size, "method": method} if method else size


def from_tumor(reader: Reader, resource: JSON, loc: str) -> str | None:
    """The condition a Tumor BodyStructure stands for (its location is the condition's site)."""
    reader.sources(resource, loc)
    owner = None
    for i, ext in enumerate(resource.get("extension") or []):
        if isinstance(ext, dict) and ext.get("url") == RELATED_CONDITION_EXT:
            where = f"{loc}.extension[{i}].valueReference"
            owner = owner or reader.ref(ext.get("valueReference"), where, ("Condition",))
            ext.pop("url")
    if owner is None:
        return None
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == reader.report_url:
            identifier.clear()
    reader.ref(resource.get("patient"), f"{loc}.patient", ("Patient",))
    return owner


def check_tumor_site(reader: Reader, location: Any, loc: str, condition: JSON) -> None:
    """A Tumor's location is its condition's body site and laterality, which the export writes
    there and the import reads from the condition: a location whose codes say otherwise is
    reported (its words, text and displays, may differ)."""
    if not isinstance(location, dict):
        return
    held = {key for part in ("body_site", "quadrant") for key in (condition.get(part) or {}).get("codes", [])}
    sides = [
        key
        for ext in location.get("extension") or []
        if isinstance(ext, dict) and ext.get("url") == LATERALITY_EXT
        for key in _keys(ext.get("valueCodeableConcept"))
    ]
    for i, ext in enumerate(location.get("extension") or []):
        if not (isinstance(ext, dict) and ext.get("url") == LATERALITY_EXT):
            reader.report(
                f"{loc}.location.extension[{i}]", "not mapped", json.dumps(ext, ensure_ascii=False)[:200]
            )
    other_site = any(key not in held for key in _keys(location))
    other_side = any(LATERALITY_KEYS.get(key or "") != condition.get("laterality") for key in sides)
    if other_site or other_side:
        said = json.dumps(location, ensure_ascii=False)[:200]
        what = "site" if other_site else "side"
        reader.report(
            f"{loc}.location",
            "conflicting facts",
            f"{said}: not the {what} of the condition it is a tumour of; kept the condition's",
        )


def _keys(concept: Any) -> list[str | None]:
    """The table key each coding of a CodeableConcept means (None: a code the table lacks)."""
    if not isinstance(concept, dict):
        return []
    keys: list[str | None] = []
    for coding in concept.get("coding") or []:
        meant = meanings({"coding": [coding]})
        keys.append(meant[0] if meant else None)
    return keys
