"""Therapies: a MedicationStatement per agent; a regimen of several agents is a Procedure
that the statements are part of, so the regimen survives the trip.

mCODE STU4 profiles MedicationRequest and MedicationAdministration, not
MedicationStatement: a case report tells what was taken, not what was ordered,
so these are base R4 MedicationStatements.  Therapies offered and refused are
``not-taken`` with the stated reason.
"""

from __future__ import annotations

from typing import Any

from fhirconv.mapping.common import (
    JSON,
    codeable,
    coded,
    meta,
    notes,
    patient_ref,
    period,
    reference,
    resource_id,
    text_concept,
)
from fhirconv.mapping.reading import Reader, has_code, take_text, text_of
from fhirconv.model.case import Case, Therapy

_PROCEDURE_STATUS = {
    "active": "in-progress",
    "completed": "completed",
    "stopped": "stopped",
    "intended": "preparation",
    "not-taken": "not-done",
    "unknown": "unknown",
}


def category_text(therapy: Therapy) -> str:
    return category_words(therapy.intent, therapy.category)


def category_words(intent: str | None, category: str) -> str:
    """'maintenance endocrine', or the category alone: the words the statement's category says."""
    return f"{intent} {category}" if intent else category


def _period(therapy: Therapy) -> JSON:
    value = period(therapy.period, f"therapy {therapy.id!r}")
    return {"effectivePeriod": value} if value else {}


def statement_ids(case: Case, therapy: Therapy) -> list[str]:
    if len(therapy.agents) == 1:
        return [resource_id(case, therapy.id)]
    return [resource_id(case, f"{therapy.id}-{i + 1}") for i in range(len(therapy.agents))]


def to_regimen_procedure(case: Case, therapy: Therapy) -> JSON:
    code: JSON = {"text": f"{category_text(therapy)}: " + ", ".join(a.text for a in therapy.agents)}
    if therapy.category == "chemotherapy":
        code = {**coded("procedure.chemotherapy"), **code}
    resource: JSON = {
        "resourceType": "Procedure",
        "id": resource_id(case, therapy.id),
        "meta": meta(case, therapy.sources),
        "status": _PROCEDURE_STATUS[therapy.status],
    }
    if therapy.reason_not_taken:
        resource["statusReason"] = text_concept(therapy.reason_not_taken)
    resource["category"] = text_concept("regimen")
    resource["code"] = code
    resource["subject"] = patient_ref(case)
    if therapy.period:
        resource["performedPeriod"] = _period(therapy)["effectivePeriod"]
    if therapy.primary:
        resource["reasonReference"] = [reference("Condition", resource_id(case, therapy.primary))]
    return resource


def to_statements(case: Case, therapy: Therapy) -> list[JSON]:
    regimen = len(therapy.agents) > 1
    out = []
    for rid, agent in zip(statement_ids(case, therapy), therapy.agents, strict=True):
        statement: JSON = {
            "resourceType": "MedicationStatement",
            "id": rid,
            "meta": meta(case, therapy.sources),
        }
        if regimen:
            statement["partOf"] = [reference("Procedure", resource_id(case, therapy.id))]
        statement["status"] = therapy.status
        if therapy.reason_not_taken:
            statement["statusReason"] = [text_concept(therapy.reason_not_taken)]
        statement["category"] = text_concept(category_text(therapy))
        statement["medicationCodeableConcept"] = codeable(agent)
        statement["subject"] = patient_ref(case)
        statement.update(_period(therapy))
        if therapy.purpose:
            statement["reasonCode"] = [text_concept(therapy.purpose)]
        if therapy.primary:
            statement["reasonReference"] = [reference("Condition", resource_id(case, therapy.primary))]
        if therapy.note:
            statement["note"] = notes(therapy.note)
        if therapy.cycles:
            statement["dosage"] = [
                {"text": f"{therapy.cycles} cycles", "timing": {"repeat": {"count": therapy.cycles}}}
            ]
        out.append(statement)
    return out


def to_medication_resources(case: Case) -> list[JSON]:
    out: list[JSON] = []
    for therapy in case.therapies:
        if len(therapy.agents) > 1:
            out.append(to_regimen_procedure(case, therapy))
        out.extend(to_statements(case, therapy))
    return out


# --- the way back -------------------------------------------------------------------------

CATEGORIES = ("chemotherapy", "endocrine", "ovarian suppression", "bone-modifying", "targeted", "other")
INTENTS = ("adjuvant", "neoadjuvant", "maintenance", "salvage", "palliative", "curative", "first-line")
THERAPY_STATUSES = ("active", "completed", "stopped", "intended", "not-taken", "unknown")


def split_category(text: str | None) -> tuple[str | None, str]:
    """'maintenance endocrine' -> ('maintenance', 'endocrine'); the inverse of category_text."""
    if not text:
        return None, "other"
    first, _, rest = text.partition(" ")
    if first in INTENTS and rest in CATEGORIES:
        return first, rest
    return None, text if text in CATEGORIES else "other"


def from_regimen(reader: Reader, resource: JSON, loc: str) -> JSON:
    """The regimen Procedure: its id is the therapy's; everything else comes from the statements."""
    reader.sources(resource, loc)
    for key in ("status", "statusReason", "category", "code", "performedPeriod"):
        resource.pop(key, None)
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    for i, item in enumerate(resource.get("reasonReference") or []):
        reader.ref(item, f"{loc}.reasonReference[{i}]", ("Condition",))
    return {"id": reader.fact_id(resource)}


# Other producers' statuses as the model's (None: the resource is not a fact at all).
REQUEST_STATUSES: dict[str, str | None] = {
    "active": "active",
    "completed": "completed",
    "stopped": "stopped",
    "draft": "intended",
    # Withdrawn before any administration: the patient did not take it.
    "cancelled": "not-taken",
    "on-hold": "unknown",
    "unknown": "unknown",
    "entered-in-error": None,
}
ADMINISTRATION_STATUSES: dict[str, str | None] = {
    "in-progress": "active",
    "completed": "completed",
    "stopped": "stopped",
    "not-done": "not-taken",
    "on-hold": "unknown",
    "unknown": "unknown",
    "entered-in-error": None,
}
STATEMENT_STATUSES: dict[str, str | None] = {
    **{status: status for status in THERAPY_STATUSES},
    "on-hold": "unknown",
    "entered-in-error": None,
}
# MedicationRequest.intent values that are plans, not orders carried out.
PLANNED_INTENTS = frozenset({"proposal", "plan"})
PROCEDURE_INTENT_EXT = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-procedure-intent"


class EnteredInError(Exception):
    """The resource says it was entered in error: it states no fact."""


def _status(reader: Reader, resource: JSON, loc: str, statuses: dict[str, str | None]) -> str:
    status = resource.pop("status", None)
    if status in statuses:
        mapped = statuses[status]
        if mapped is None:
            raise EnteredInError
        if mapped == "unknown" and status != "unknown":
            reader.report(f"{loc}.status", "translated", f"status {status!r} is held as {mapped!r}")
        return mapped
    reader.report(f"{loc}.status", "unknown code", f"status {status!r} is held as 'unknown'")
    return "unknown"


def _reason_not_taken(reader: Reader, reasons: list[Any], out: JSON, loc: str) -> None:
    """``statusReason`` as the reason a therapy was not taken.

    fhirconv writes it from that field only.  Another producer's is the reason for the
    status: of a therapy stopped, on hold or even active (the R4 example Bundle-father gives
    its purpose there) it says something else, which the model does not hold: left, reported.
    """
    if reader.foreign and out.get("status") != "not-taken":
        return
    for i, reason in enumerate(reasons):
        if not isinstance(reason, dict) or "reason_not_taken" in out:
            continue
        text = reader.text(reason, f"{loc}[{i}]")
        if text:
            out["reason_not_taken"] = text


def _effective_period(reader: Reader, resource: JSON, loc: str, out: JSON) -> None:
    """``effectivePeriod``, or ``effectiveDateTime`` as a period of one day, as the therapy's period."""
    effective = reader.period(resource.get("effectivePeriod"), f"{loc}.effectivePeriod")
    date = reader.date(resource, "effective", loc)
    if effective or date:
        out["period"] = effective or {"start": date, "end": date}


class NoAgent(Exception):
    """The resource names no medication the import can read: a therapy is held only with its agent."""

    def __init__(self, location: str, why: str) -> None:
        super().__init__(why)
        self.location = location
        self.why = why


def _agent(reader: Reader, resource: JSON, loc: str) -> JSON:
    """The agent ``medication[x]`` names, as the producer words or codes it; never a made-up one.

    A reference is followed to a Medication of the bundle or one ``contained`` in the
    resource; the Reference's ``display`` is the producer's name for it when the
    Medication cannot be read.  No agent raises :class:`NoAgent`.
    """
    where = f"{loc}.medicationCodeableConcept"
    agent = reader.term(resource.get("medicationCodeableConcept"), where)
    value = resource.get("medicationReference")
    if agent is None and isinstance(value, dict):
        where = f"{loc}.medicationReference"
        target = value.get("reference")
        if isinstance(target, str) and target.startswith("#"):
            agent = _contained_agent(reader, resource, value, target[1:], loc)
        else:
            medication = reader.ref(value, where, ("Medication",))
            agent = reader.medications.get(medication or "")
        display = value.get("display")
        if agent is None and isinstance(display, str) and display.strip():
            agent = {"text": value.pop("display")}
    if agent is not None:
        return agent
    if "medicationCodeableConcept" not in resource and not isinstance(value, dict):
        raise NoAgent(loc, "it has no medication[x]")
    why = "no text, no display, no code in fhirconv's terminology table"
    if isinstance(value, dict):
        why = "no readable Medication, no display"
    raise NoAgent(where, f"its medication cannot be read ({why})")


def _contained_agent(reader: Reader, resource: JSON, value: JSON, wanted: str, loc: str) -> JSON | None:
    """The agent of the Medication ``contained`` in the resource with id ``wanted``."""
    for i, item in enumerate(resource.get("contained") or []):
        if isinstance(item, dict) and item.get("resourceType") == "Medication" and item.get("id") == wanted:
            agent = from_medication(reader, item, f"{loc}.contained[{i}]")
            if agent is not None:
                value.pop("reference")
                value.pop("type", None)
                item.pop("resourceType")
                item.pop("id")
            return agent
    target = value.pop("reference")
    reader.report(f"{loc}.medicationReference.reference", "missing reference", f"{target} is not contained")
    return None


def _therapy_common(reader: Reader, resource: JSON, loc: str, out: JSON) -> JSON:
    """What every medication resource says the same way: agent, subject, reasons, intent, note."""
    agent = _agent(reader, resource, loc)
    intent = None
    for i, ext in enumerate(resource.get("extension") or []):
        if isinstance(ext, dict) and ext.get("url") == PROCEDURE_INTENT_EXT:
            # Only the intents the model holds are taken (mCODE's also has screening, forensic, ...).
            value = ext.get("valueCodeableConcept")
            held = [name for name in INTENTS if has_code(value, f"intent.{name}")]
            if held:
                reader.concept_key(value, f"{loc}.extension[{i}]", f"intent.{held[0]}")
                intent = held[0]
                ext.pop("url")
    if intent and "intent" not in out:
        out["intent"] = intent
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    for i, item in enumerate(resource.get("reasonCode") or []):
        if isinstance(item, dict) and "purpose" not in out:
            text = reader.text(item, f"{loc}.reasonCode[{i}]")
            if text:
                out["purpose"] = text
    for i, item in enumerate(resource.get("reasonReference") or []):
        ref = reader.ref(item, f"{loc}.reasonReference[{i}]", ("Condition",))
        if ref and "primary" not in out:
            out["primary"] = ref
    note = reader.note(resource, loc)
    if note:
        out["note"] = note
    return agent


def from_medication(reader: Reader, resource: JSON, loc: str) -> JSON | None:
    """A Medication resource as the agent a therapy names by reference (its code)."""
    return reader.term(resource.get("code"), f"{loc}.code")


def from_statement(reader: Reader, resource: JSON, loc: str) -> tuple[str | None, JSON, JSON]:
    """(the regimen it is part of, the therapy's fields, the agent)."""
    out: JSON = reader.fact(resource, loc)
    regimen = None
    for i, part in enumerate(resource.get("partOf") or []):
        regimen = regimen or reader.ref(part, f"{loc}.partOf[{i}]", ("Procedure",))
    out["status"] = _status(reader, resource, loc, STATEMENT_STATUSES)
    _reason_not_taken(reader, resource.get("statusReason") or [], out, f"{loc}.statusReason")
    text = text_of(resource.get("category"))
    intent, category = split_category(text)
    if text == category_words(intent, category):
        take_text(resource, "category")  # words the case model holds; others stay to be listed
    out["category"] = category
    if intent:
        out["intent"] = intent
    _effective_period(reader, resource, loc, out)
    agent = _therapy_common(reader, resource, loc, out)
    for dosage in resource.get("dosage") or []:
        if not isinstance(dosage, dict):
            continue
        repeat = (dosage.get("timing") or {}).get("repeat") or {}
        if isinstance(repeat.get("count"), int):
            out["cycles"] = repeat.pop("count")
            if dosage.get("text") == f"{out['cycles']} cycles":
                dosage.pop("text")
    return regimen, out, agent


def from_request(reader: Reader, resource: JSON, loc: str) -> JSON:
    """A MedicationRequest (mCODE CancerRelatedMedicationRequest) as a one-agent therapy.

    An order says what was prescribed: its dosage bounds give the period; the date
    it was written (``authoredOn``) is not when the patient took it and stays reported.
    """
    out: JSON = reader.fact(resource, loc)
    out["status"] = _status(reader, resource, loc, REQUEST_STATUSES)
    if resource.get("intent") in PLANNED_INTENTS and out["status"] == "active":
        out["status"] = "intended"
    resource.pop("intent", None)
    reason = resource.get("statusReason")
    _reason_not_taken(reader, [reason] if reason else [], out, f"{loc}.statusReason")
    out["category"] = "other"
    for i, dosage in enumerate(resource.get("dosageInstruction") or []):
        repeat = (dosage.get("timing") or {}).get("repeat") if isinstance(dosage, dict) else None
        if isinstance(repeat, dict) and "period" not in out:
            where = f"{loc}.dosageInstruction[{i}].timing.repeat.boundsPeriod"
            bounds = reader.period(repeat.get("boundsPeriod"), where)
            if bounds:
                out["period"] = bounds
    out["agents"] = [_therapy_common(reader, resource, loc, out)]
    return out


def from_administration(reader: Reader, resource: JSON, loc: str) -> JSON:
    """A MedicationAdministration (mCODE CancerRelatedMedicationAdministration): one agent given."""
    out: JSON = reader.fact(resource, loc)
    out["status"] = _status(reader, resource, loc, ADMINISTRATION_STATUSES)
    _reason_not_taken(reader, resource.get("statusReason") or [], out, f"{loc}.statusReason")
    out["category"] = "other"
    _effective_period(reader, resource, loc, out)
    out["agents"] = [_therapy_common(reader, resource, loc, out)]
    return out
