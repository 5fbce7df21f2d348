"""Primary and secondary cancer conditions: the Conditions themselves, and which a Condition is.

Their staging is in :mod:`fhirconv.mapping.staging`; sizes, tumours and recurrences in
:mod:`fhirconv.mapping.tumors`.
"""

from __future__ import annotations

import re
from typing import Any

from fhirconv.mapping.common import (
    JSON,
    body_site,
    codeable,
    coded,
    condition_ref,
    labelled_note,
    meta,
    notes,
    patient_ref,
    reference,
    resource_id,
)
from fhirconv.mapping.reading import Reader, meanings, text_of
from fhirconv.mapping.staging import STAGE_TEXT, coded_stage_group, stage_value, to_staging_observations
from fhirconv.mapping.tumors import (
    to_recurrence_observation,
    to_size_observation,
    to_tumor,
    tumor_id,
)
from fhirconv.model.case import Case, Metastasis, PrimaryCancer
from fhirconv.terminology import ICDO3, table

HISTOLOGY_EXT = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"
CONDITION_RELATED_EXT = "http://hl7.org/fhir/StructureDefinition/condition-related"
DESCRIPTION_NOTE = "description"
def _condition_base(case: Case, fact_id: str, sources: tuple[str, ...], profile: str) -> JSON:
    return {
        "resourceType": "Condition",
        "id": resource_id(case, fact_id),
        "meta": meta(case, sources, profile),
    }


def to_primary_condition(case: Case, primary: PrimaryCancer) -> JSON:
    resource = _condition_base(case, primary.id, primary.sources, "mcode-primary-cancer-condition")
    if primary.histology:
        resource["extension"] = [{"url": HISTOLOGY_EXT, "valueCodeableConcept": codeable(primary.histology)}]
    resource["clinicalStatus"] = coded(f"clinical.{primary.clinical_status}")
    resource["verificationStatus"] = coded("verification.confirmed")
    resource["category"] = [coded("category.problem_list")]
    resource["code"] = codeable(primary.condition)
    sites = [body_site(primary.body_site, primary.laterality)]
    if primary.quadrant:
        sites.append(body_site(primary.quadrant, primary.laterality))
    if sites[0] is not None:
        resource["bodySite"] = sites
    resource["subject"] = patient_ref(case)
    if primary.diagnosis_date:
        resource["onsetDateTime"] = primary.diagnosis_date
    stages = [
        {
            "summary": stage_value(staging),
            "assessment": [reference("Observation", resource_id(case, staging.id))],
        }
        for staging in primary.staging
        if staging.stage_group
    ]
    if stages:
        resource["stage"] = stages
    if primary.note:
        resource["note"] = notes(primary.note)
    return resource


def to_secondary_condition(case: Case, metastasis: Metastasis) -> JSON:
    resource = _condition_base(case, metastasis.id, metastasis.sources, "mcode-secondary-cancer-condition")
    if metastasis.primary:
        resource["extension"] = [
            {"url": CONDITION_RELATED_EXT, "valueReference": condition_ref(case, metastasis.primary)}
        ]
    resource["clinicalStatus"] = coded("clinical.active")
    if metastasis.verification:
        resource["verificationStatus"] = coded(f"verification.{metastasis.verification}")
    resource["category"] = [coded("category.problem_list")]
    resource["code"] = codeable(metastasis.site)
    site = body_site(metastasis.body_site, metastasis.laterality)
    if site:
        resource["bodySite"] = [site]
    resource["subject"] = patient_ref(case)
    if metastasis.date:
        resource["onsetDateTime"] = metastasis.date
    if metastasis.confirmed_by:
        resource["evidence"] = [confirmation_evidence(way) for way in metastasis.confirmed_by]
    annotations = []
    if metastasis.description:
        annotations.append(labelled_note(DESCRIPTION_NOTE, metastasis.description))
    annotations.extend(notes(metastasis.note))
    if annotations:
        resource["note"] = annotations
    return resource


def confirmation_evidence(way: str) -> JSON:
    """One Condition.evidence per way of confirming, in the report's order.

    Condition.evidence.code has a required binding (disease-status evidence types) in
    which only imaging has a confirmed code; the other ways are named by the
    evidence's detail, a reference that has only a display.
    """
    if table().has_key(f"evidence.{way}"):
        return {"code": [coded(f"evidence.{way}")]}
    return {"detail": [{"display": way}]}


def to_condition_resources(case: Case) -> list[JSON]:
    out: list[JSON] = []
    for primary in case.primaries:
        out.append(to_primary_condition(case, primary))
    for metastasis in case.metastases:
        out.append(to_secondary_condition(case, metastasis))
    for primary in case.primaries:
        for staging in primary.staging:
            out.extend(to_staging_observations(case, primary, staging))
        if primary.sizes:
            out.append(to_tumor(case, primary.id, primary.sources, primary.body_site, primary.laterality))
            focus = reference("BodyStructure", tumor_id(case, primary.id))
            for i, size in enumerate(primary.sizes):
                out.append(to_size_observation(case, primary.id, i, size, primary.sources, focus))
        for i in range(len(primary.recurrences)):
            out.append(to_recurrence_observation(case, primary, i))
    for metastasis in case.metastases:
        if metastasis.sizes:
            out.append(
                to_tumor(case, metastasis.id, metastasis.sources, metastasis.body_site, metastasis.laterality)
            )
            focus = reference("BodyStructure", tumor_id(case, metastasis.id))
            for i, size in enumerate(metastasis.sizes):
                out.append(to_size_observation(case, metastasis.id, i, size, metastasis.sources, focus))
    return out


# Table keys whose codes say which kind of cancer a Condition is.
PRIMARY_CODES = ("condition.", "icd10cm.breast_")
SECONDARY_CODES = ("secondary.", "icd10cm.secondary_")
# ICD-O-3 behaviour codes (the digit after the slash): 2 in situ, 3 malignant, primary site;
# 6 malignant, metastatic site.  0, 1 (benign, uncertain) and 9 (primary or metastatic
# unknown) say no kind the model holds.
ICDO3_BEHAVIOUR = {"2": "primary", "3": "primary", "6": "secondary"}


def condition_kind(resource: JSON) -> str | None:
    """'primary', 'secondary', or None for a condition that is no cancer the model holds.

    Decided by the mCODE profile the resource claims, else by the mCODE extensions it
    carries (histology: a primary; a related condition: a secondary), else by its code:
    the table's primary and secondary cancers (SNOMED CT, ICD-10-CM C50 and C77-C7B), or
    an ICD-O-3 morphology whose behaviour code says primary or metastatic site.
    """
    meta = resource.get("meta")
    profiles = (meta.get("profile") if isinstance(meta, dict) else None) or []
    if not isinstance(profiles, list):
        profiles = []
    if any(str(p).endswith("mcode-secondary-cancer-condition") for p in profiles):
        return "secondary"
    if any(str(p).endswith("mcode-primary-cancer-condition") for p in profiles):
        return "primary"
    urls = [e.get("url") for e in resource.get("extension") or [] if isinstance(e, dict)]
    if HISTOLOGY_EXT in urls:
        return "primary"
    if CONDITION_RELATED_EXT in urls:
        return "secondary"
    code = resource.get("code")
    for key in meanings(code):
        if key.startswith(PRIMARY_CODES):
            return "primary"
        if key.startswith(SECONDARY_CODES):
            return "secondary"
    codings = code.get("coding") if isinstance(code, dict) else None
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict) and coding.get("system") == ICDO3 and isinstance(coding.get("code"), str):
            behaviour = ICDO3_BEHAVIOUR.get(coding["code"].rpartition("/")[2])
            if behaviour and re.fullmatch(r"\d{4}/\d", coding["code"]):
                return behaviour
    return None


# --- the way back -------------------------------------------------------------------------


CLINICAL_STATUSES = ("active", "recurrence", "remission", "resolved")


def _condition_common(reader: Reader, resource: JSON, loc: str) -> JSON:
    out: JSON = reader.fact(resource, loc)
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    for i, category in enumerate(resource.get("category") or []):
        reader.concept_key(category, f"{loc}.category[{i}]", "category.problem_list")
    onset = resource.pop("onsetDateTime", None)
    if isinstance(onset, str):
        out["_date"] = reader.partial_date(onset, f"{loc}.onsetDateTime")
    return out


def from_primary_condition(reader: Reader, resource: JSON, loc: str) -> JSON:
    """A PrimaryCancerCondition as the model's primary (staging, sizes, recurrences come later)."""
    out = _condition_common(reader, resource, loc)
    if "_date" in out:
        out["diagnosis_date"] = out.pop("_date")
    for i, ext in enumerate(resource.get("extension") or []):
        if isinstance(ext, dict) and ext.get("url") == HISTOLOGY_EXT:
            out["histology"] = reader.term(ext.get("valueCodeableConcept"), f"{loc}.extension[{i}]")
            ext.pop("url")
    key = reader.concept_key(resource.get("clinicalStatus"), f"{loc}.clinicalStatus", "clinical.")
    if key and key != "clinical.active":
        out["clinical_status"] = key.removeprefix("clinical.")
    # A primary cancer in the case model is confirmed: any other verification is reported.
    verification = resource.get("verificationStatus")
    reader.concept_key(verification, f"{loc}.verificationStatus", "verification.confirmed")
    out["condition"] = reader.term(resource.get("code"), f"{loc}.code")
    sites = resource.get("bodySite") or []
    for i, site in enumerate(sites[:2]):
        term, side = reader.body_site(site, f"{loc}.bodySite[{i}]")
        if side and (i == 0 or side != out.get("laterality")):
            out["laterality"] = side
        out["body_site" if i == 0 else "quadrant"] = term
    # The stage summaries give each staging's stage group (read with the staging).
    out["_stages"] = {}
    for i, stage in enumerate(resource.get("stage") or []):
        if not isinstance(stage, dict):
            continue
        for j, assessment in enumerate(stage.get("assessment") or []):
            staging_id = reader.ref(assessment, f"{loc}.stage[{i}].assessment[{j}]", ("Observation",))
            summary = stage.get("summary")
            text = text_of(summary)
            if staging_id and isinstance(text, str) and text.startswith(STAGE_TEXT):
                out["_stages"][staging_id] = text.removeprefix(STAGE_TEXT)
                stage.pop("summary")
            elif staging_id and isinstance(summary, dict) and text is None:
                # Another producer's coded summary: read, then checked against its assessment.
                group = coded_stage_group(reader, summary, f"{loc}.stage[{i}].summary")
                if group:
                    out["_stages"][staging_id] = group
    note = reader.note(resource, loc)
    if note:
        out["note"] = note
    return out


def from_secondary_condition(reader: Reader, resource: JSON, loc: str) -> JSON:
    out = _condition_common(reader, resource, loc)
    if "_date" in out:
        out["date"] = out.pop("_date")
    for i, ext in enumerate(resource.get("extension") or []):
        if isinstance(ext, dict) and ext.get("url") == CONDITION_RELATED_EXT:
            where = f"{loc}.extension[{i}].valueReference"
            primary = reader.ref(ext.get("valueReference"), where, ("Condition",))
            if primary:
                out["primary"] = primary
                ext.pop("url")
    reader.concept_key(resource.get("clinicalStatus"), f"{loc}.clinicalStatus", "clinical.active")
    key = reader.concept_key(resource.get("verificationStatus"), f"{loc}.verificationStatus", "verification.")
    if key:
        out["verification"] = key.removeprefix("verification.")
    out["site"] = reader.term(resource.get("code"), f"{loc}.code")
    sites = resource.get("bodySite") or []
    if sites:
        term, side = reader.body_site(sites[0], f"{loc}.bodySite[0]")
        if term:
            out["body_site"] = term
        if side:
            out["laterality"] = side
    confirmed = []
    for i, evidence in enumerate(resource.get("evidence") or []):
        way = _confirmation(reader, evidence, f"{loc}.evidence[{i}]")
        if way:
            confirmed.append(way)
    if confirmed:
        out["confirmed_by"] = confirmed
    labelled, plain = reader.notes(resource)
    if DESCRIPTION_NOTE in labelled:
        out["description"] = labelled.pop(DESCRIPTION_NOTE)
    for label, text in labelled.items():
        plain.append(text)
        reader.report(f"{loc}.note", "unknown label", f"annotation labelled {label!r} kept as note")
    if plain:
        out["note"] = "\n\n".join(plain)
    return out


CONFIRMATIONS = ("biopsy", "imaging", "clinical examination")


def _confirmation(reader: Reader, evidence: Any, loc: str) -> str | None:
    if not isinstance(evidence, dict):
        return None
    for j, code in enumerate(evidence.get("code") or []):
        key = reader.concept_key(code, f"{loc}.code[{j}]", "evidence.")
        if key:
            return key.removeprefix("evidence.")
    for detail in evidence.get("detail") or []:
        if isinstance(detail, dict) and set(detail) == {"display"} and detail["display"] in CONFIRMATIONS:
            way: str = detail.pop("display")
            return way
    return None
