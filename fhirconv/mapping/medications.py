"""Therapies: a MedicationStatement per agent; a regimen of several agents is a Procedure
that the statements are part of, so the regimen survives the trip.

mCODE STU4 profiles MedicationRequest and MedicationAdministration, not
MedicationStatement: a case report tells what was taken, not what was ordered,
so these are base R4 MedicationStatements.  Therapies offered and refused are
``not-taken`` with the stated reason.
"""

from __future__ import annotations

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
    return f"{therapy.intent} {therapy.category}" if therapy.intent else therapy.category


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
