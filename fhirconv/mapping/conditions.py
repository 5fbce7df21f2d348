"""Primary and secondary cancer conditions, their staging, sizes and recurrences."""

from __future__ import annotations

from fhirconv.mapping.common import (
    JSON,
    absent,
    body_site,
    codeable,
    coded,
    effective,
    labelled_note,
    meta,
    notes,
    patient_ref,
    reference,
    resource_id,
    size_components,
    text_concept,
)
from fhirconv.model.case import Case, Metastasis, PrimaryCancer, Size, Staging
from fhirconv.terminology import table

HISTOLOGY_EXT = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"
CONDITION_RELATED_EXT = "http://hl7.org/fhir/StructureDefinition/condition-related"
PATHOLOGICAL_PREFIXES = frozenset({"p", "yp", "rp"})
CONFIRMED_BY = "Confirmed by"
DESCRIPTION_NOTE = "description"
RECURRENCE_CODE = "Cancer recurrence"
STAGE_PREFIX = "TNM stage group, prefix "


def condition_ref(case: Case, fact_id: str) -> JSON:
    return reference("Condition", resource_id(case, fact_id))


def _condition_base(case: Case, fact_id: str, sources: tuple[str, ...], profile: str) -> JSON:
    return {
        "resourceType": "Condition",
        "id": resource_id(case, fact_id),
        "meta": meta(case, sources, profile),
    }


def to_primary_condition(case: Case, primary: PrimaryCancer) -> JSON:
    resource = _condition_base(case, primary.id, primary.sources, "mcode-primary-cancer-condition")
    resource["extension"] = [{"url": HISTOLOGY_EXT, "valueCodeableConcept": codeable(primary.histology)}]
    resource["clinicalStatus"] = coded(f"clinical.{primary.clinical_status}")
    resource["verificationStatus"] = coded("verification.confirmed")
    resource["category"] = [coded("category.problem_list")]
    resource["code"] = codeable(primary.condition)
    sites = [body_site(primary.body_site, primary.laterality)]
    if primary.quadrant:
        sites.append(body_site(primary.quadrant, primary.laterality))
    resource["bodySite"] = sites
    resource["subject"] = patient_ref(case)
    if primary.diagnosis_date:
        resource["onsetDateTime"] = primary.diagnosis_date
    stages = [
        {
            "summary": _stage_value(staging),
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


def _category_code(prefix: str, axis: str) -> str:
    kind = "p" if prefix in PATHOLOGICAL_PREFIXES else "c"
    return f"staging.{kind}{axis.lower()}"


def _tnm_value(prefix: str, category: str) -> JSON:
    kind = "p" if prefix in PATHOLOGICAL_PREFIXES else "c"
    key = f"tnm.{kind}{category}"
    concept: JSON = {}
    if table().has_key(key):
        concept["coding"] = [table().get(key).coding()]
    concept["text"] = f"{prefix}{category}"
    return concept


def _stage_value(staging: Staging) -> JSON:
    key = f"stage.{staging.stage_group}"
    concept: JSON = {}
    if table().has_key(key):
        concept["coding"] = [table().get(key).coding()]
    concept["text"] = f"Stage {staging.stage_group}"
    return concept


_AXES = (
    ("t", "T", "mcode-tnm-primary-tumor-category"),
    ("n", "N", "mcode-tnm-regional-nodes-category"),
    ("m", "M", "mcode-tnm-distant-metastases-category"),
)


def to_staging_observations(case: Case, primary: PrimaryCancer, staging: Staging) -> list[JSON]:
    """T, N and M category observations, then the stage group that gathers them."""
    focus = condition_ref(case, primary.id)
    common: JSON = {
        "status": "final",
        "category": [coded("category.laboratory")],
        "subject": patient_ref(case),
        "focus": [focus],
        **effective(staging.date, allow_partial_datetime=False),
    }
    members = []
    out = []
    for attr, axis, profile in _AXES:
        value = getattr(staging, attr)
        if value is None:
            continue
        rid = resource_id(case, f"{staging.id}-{attr}")
        members.append(reference("Observation", rid))
        out.append(
            {
                "resourceType": "Observation",
                "id": rid,
                "meta": meta(case, staging.sources, profile),
                **common,
                "code": coded(_category_code(staging.prefix, axis)),
                "valueCodeableConcept": _tnm_value(staging.prefix, value),
                # The report names no staging system; AJCC edition is not invented.
                "method": absent(),
            }
        )
    group: JSON = {
        "resourceType": "Observation",
        "id": resource_id(case, staging.id),
        "meta": meta(case, staging.sources, "mcode-tnm-stage-group"),
        **common,
        # The exact prefix (c, p, yp, rp, ...) is in the code's text: the coding says only
        # clinical or pathological.
        "code": coded(
            "staging.pathological_group"
            if staging.prefix in PATHOLOGICAL_PREFIXES
            else "staging.clinical_group",
            STAGE_PREFIX + staging.prefix,
        ),
        "method": absent(),
    }
    if staging.stage_group:
        # The group itself is in the Condition's stage summary ("Stage IV"); here the
        # report's words.
        group["valueCodeableConcept"] = {**_stage_value(staging), "text": staging.stated}
    else:
        group["dataAbsentReason"] = {**coded_absent(), "text": staging.stated}
    if members:
        group["hasMember"] = members
    if staging.note:
        group["note"] = notes(staging.note)
    return [group, *out]


def coded_absent() -> JSON:
    return {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}]
    }


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
    components = [
        {"code": text_concept(CONFIRMED_BY), "valueString": way} for way in recurrence.confirmed_by
    ]
    if recurrence.size:
        components.extend(size_components(recurrence.size))
    if components:
        resource["component"] = components
    if recurrence.note:
        resource["note"] = notes(recurrence.note)
    return resource


def to_condition_resources(case: Case) -> list[JSON]:
    out: list[JSON] = []
    for primary in case.primaries:
        out.append(to_primary_condition(case, primary))
    for metastasis in case.metastases:
        out.append(to_secondary_condition(case, metastasis))
    for primary in case.primaries:
        focus = condition_ref(case, primary.id)
        for staging in primary.staging:
            out.extend(to_staging_observations(case, primary, staging))
        for i, size in enumerate(primary.sizes):
            out.append(to_size_observation(case, primary.id, i, size, primary.sources, focus))
        for i in range(len(primary.recurrences)):
            out.append(to_recurrence_observation(case, primary, i))
    for metastasis in case.metastases:
        focus = condition_ref(case, metastasis.id)
        for i, size in enumerate(metastasis.sizes):
            out.append(to_size_observation(case, metastasis.id, i, size, metastasis.sources, focus))
    return out
