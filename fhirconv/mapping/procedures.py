"""Procedures (surgery, biopsy, radiotherapy, consultations and tests offered and declined)."""

from __future__ import annotations

from fhirconv.errors import MappingError
from fhirconv.mapping.common import (
    JSON,
    body_site,
    codeable,
    meta,
    notes,
    patient_ref,
    period,
    reference,
    resource_id,
    text_concept,
)
from fhirconv.mapping.reading import Reader, take_text, text_of
from fhirconv.model.case import Case, Procedure

PAST_HISTORY = "past history, date not stated"


def _profile(procedure: Procedure) -> str | None:
    # CancerRelatedSurgicalProcedure fits surgery done for a cancer the case holds; its
    # US Core parent (us-core-7) needs a performed time once the status is completed.
    timed = procedure.date is not None or procedure.period is not None
    if procedure.kind == "surgery" and procedure.primary and procedure.status == "completed" and timed:
        return "mcode-cancer-related-surgical-procedure"
    return None


def _performed(procedure: Procedure) -> JSON:
    """``performed[x]``: one of a period, a date, or 'past history'; FHIR holds only one."""
    owner = f"procedure {procedure.id!r}"
    given = [name for name, value in (("period", procedure.period), ("date", procedure.date)) if value]
    if procedure.history:
        given.append("history")
    if len(given) > 1:
        raise MappingError(f"{owner}: give only one of {' and '.join(given)} (Procedure.performed[x] is one)")
    if procedure.period is not None:
        return {"performedPeriod": period(procedure.period, owner)}
    if procedure.date:
        return {"performedDateTime": procedure.date}
    if procedure.history:
        return {"performedString": PAST_HISTORY}
    return {}


def to_procedure(case: Case, procedure: Procedure) -> JSON:
    resource: JSON = {
        "resourceType": "Procedure",
        "id": resource_id(case, procedure.id),
        "meta": meta(case, procedure.sources, _profile(procedure)),
        "status": procedure.status,
    }
    if procedure.status_reason:
        resource["statusReason"] = text_concept(procedure.status_reason)
    resource["category"] = text_concept(procedure.kind)
    resource["code"] = codeable(procedure.code)
    resource["subject"] = patient_ref(case)
    resource.update(_performed(procedure))
    if procedure.primary:
        resource["reasonReference"] = [reference("Condition", resource_id(case, procedure.primary))]
    site = body_site(procedure.body_site, procedure.laterality)
    if site:
        resource["bodySite"] = [site]
    if procedure.outcome:
        resource["outcome"] = text_concept(procedure.outcome)
    if procedure.note:
        resource["note"] = notes(procedure.note)
    return resource


def to_procedure_resources(case: Case) -> list[JSON]:
    return [to_procedure(case, p) for p in case.procedures]


# --- the way back -------------------------------------------------------------------------

KINDS = ("surgery", "biopsy", "radiotherapy", "consultation", "imaging", "other")
STATUSES = ("completed", "not-done", "in-progress", "unknown")


def from_procedure(reader: Reader, resource: JSON, loc: str) -> JSON:
    out: JSON = reader.fact(resource, loc)
    status = resource.pop("status", None)
    if status in STATUSES:
        out["status"] = status
    elif status is not None:
        out["status"] = "unknown"
        reader.report(f"{loc}.status", "unknown code", f"procedure status {status!r} read as unknown")
    reason = take_text(resource, "statusReason")
    if reason:
        out["status_reason"] = reason
    kind = text_of(resource.get("category"))
    out["kind"] = kind if kind in KINDS else "other"
    if kind in KINDS:
        take_text(resource, "category")
    out["code"] = reader.term(resource.get("code"), f"{loc}.code")
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    performed_period = reader.period(resource.get("performedPeriod"), f"{loc}.performedPeriod")
    if performed_period:
        out["period"] = performed_period
    performed = resource.pop("performedDateTime", None)
    if isinstance(performed, str):
        out["date"] = reader.partial_date(performed, f"{loc}.performedDateTime")
    if resource.get("performedString") == PAST_HISTORY:
        resource.pop("performedString")
        out["history"] = True
    for i, reason_ref in enumerate(resource.get("reasonReference") or []):
        ref = reader.ref(reason_ref, f"{loc}.reasonReference[{i}]", ("Condition",))
        if ref and "primary" not in out:
            out["primary"] = ref
    sites = resource.get("bodySite") or []
    if sites:
        term, side = reader.body_site(sites[0], f"{loc}.bodySite[0]")
        if term:
            out["body_site"] = term
        if side:
            out["laterality"] = side
    outcome = take_text(resource, "outcome")
    if outcome:
        out["outcome"] = outcome
    note = reader.note(resource, loc)
    if note:
        out["note"] = note
    return out
