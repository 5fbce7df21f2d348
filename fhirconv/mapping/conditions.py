"""Primary and secondary cancer conditions, their staging, sizes and recurrences."""

from __future__ import annotations

import re
from typing import Any

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
    report_url,
    resource_id,
    size_components,
    text_concept,
)
from fhirconv.mapping.reading import Reader, take_text, text_of
from fhirconv.model.case import (
    STAGE_GROUP_PATTERN,
    TNM_PATTERNS,
    Case,
    Metastasis,
    PrimaryCancer,
    Size,
    Staging,
    Term,
)
from fhirconv.terminology import table

HISTOLOGY_EXT = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"
CONDITION_RELATED_EXT = "http://hl7.org/fhir/StructureDefinition/condition-related"
RELATED_CONDITION_EXT = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-related-condition"
PATHOLOGICAL_PREFIXES = frozenset({"p", "yp", "rp"})
CONFIRMED_BY = "Confirmed by"
DESCRIPTION_NOTE = "description"
RECURRENCE_CODE = "Cancer recurrence"
STAGE_PREFIX = "TNM stage group, prefix "
STAGE_TEXT = "Stage "


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
        "extension": [
            {"url": RELATED_CONDITION_EXT, "valueReference": condition_ref(case, owner_id)}
        ],
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
    concept["text"] = f"{STAGE_TEXT}{staging.stage_group}"
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
        if recurrence.size.method:
            resource["method"] = text_concept(recurrence.size.method)
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
    reader.concept_key(resource.get("verificationStatus"), f"{loc}.verificationStatus", "verification.")
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
                group = _coded_stage_group(reader, summary, f"{loc}.stage[{i}].summary")
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
        quantity = component.get("valueQuantity")
        if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
            value = float(quantity.pop("value"))
            unit = quantity.get("code")
            if unit == "mm":
                value /= 10
            for k in ("unit", "system", "code"):
                quantity.pop(k, None)
            dimensions.append(value)
    return {"dimensions_cm": dimensions} if dimensions else {}


TNM_AXES = {"staging.ct": "t", "staging.pt": "t", "staging.cn": "n", "staging.pn": "n", "staging.cm": "m",
            "staging.pm": "m"}
GROUP_KEYS = ("staging.clinical_group", "staging.pathological_group")


def from_staging_group(reader: Reader, resource: JSON, loc: str) -> tuple[str | None, JSON, list[str]]:
    """(the primary it stages, the model's Staging without T/N/M, the member fact ids)."""
    out: JSON = reader.fact(resource, loc)
    resource.pop("status", None)
    for i, category in enumerate(resource.get("category") or []):
        reader.concept_key(category, f"{loc}.category[{i}]", "category.laboratory")
    code = resource.get("code")
    key = reader.concept_key(code, f"{loc}.code", "staging.")
    text = text_of(code)
    if isinstance(code, dict) and isinstance(text, str) and text.startswith(STAGE_PREFIX):
        out["prefix"] = text.removeprefix(STAGE_PREFIX)
        code.pop("text")
    else:
        out["prefix"] = "p" if key == "staging.pathological_group" else "c"
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    owner = None
    for i, focus in enumerate(resource.get("focus") or []):
        owner = owner or reader.ref(focus, f"{loc}.focus[{i}]", ("Condition",))
    date = reader.date(resource, "effective", loc)
    if date:
        out["date"] = date
    _absent_method(resource)
    value = resource.get("valueCodeableConcept")
    absent_reason = resource.get("dataAbsentReason")
    if isinstance(value, dict):
        out["stated"] = value.pop("text", None)
        if out["stated"] is None:
            # Another producer's stage group: its display (or code) is what it states.
            words = [c.get("display") or c.get("code") for c in value.get("coding") or []]
            words = [w for w in words if isinstance(w, str)]
            out["stated"] = words[0] if words else "not stated"
        group = _coded_stage_group(reader, value, f"{loc}.valueCodeableConcept")
        for coding in value.get("coding") or []:
            if isinstance(coding, dict) and coding.get("display") == out["stated"]:
                coding.pop("display")
        if group:
            out["_group"] = group
    elif isinstance(absent_reason, dict):
        out["stated"] = absent_reason.pop("text", None)
        for coding in absent_reason.get("coding") or []:
            if isinstance(coding, dict) and coding.get("code") == "unknown":
                coding.clear()
    members = []
    for i, member in enumerate(resource.get("hasMember") or []):
        member_id = reader.ref(member, f"{loc}.hasMember[{i}]", ("Observation",))
        if member_id:
            members.append(member_id)
    note = reader.note(resource, loc)
    if note:
        out["note"] = note
    return owner, out, members


def _absent_method(resource: JSON) -> None:
    method = resource.get("method")
    if isinstance(method, dict) and method == absent():
        resource.pop("method")


AJCC_SYSTEM = "http://cancerstaging.org"
_AJCC_CATEGORY = re.compile(r"^(?P<prefix>[a-z]*)(?P<category>[TNM].*)$")
_ROMAN = {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV"}


def _kind(prefix: str) -> str:
    return "p" if prefix in PATHOLOGICAL_PREFIXES else "c"


def _coded_category(reader: Reader, value: JSON, axis: str, loc: str) -> str | None:
    """A category from its code: a SNOMED CT AJCC concept of the table, or an AJCC code ('cT3')."""
    key = reader.concept_key(value, loc, "tnm.")
    if key:
        return key.removeprefix("tnm.")[1:]
    for i, coding in enumerate(value.get("coding") or []):
        if not isinstance(coding, dict) or coding.get("system") != AJCC_SYSTEM:
            continue
        match = _AJCC_CATEGORY.match(str(coding.get("code")))
        if match and re.match(TNM_PATTERNS[axis], match["category"]):
            coding.clear()
            return match["category"]
        what = f"{coding.get('code')!r} is not an AJCC {axis.upper()} category"
        reader.report(f"{loc}.coding[{i}]", "unknown code", what)
    return None


def _coded_stage_group(reader: Reader, value: JSON, loc: str) -> str | None:
    """A stage group from its code: a SNOMED CT AJCC concept of the table, or an AJCC code ('3C')."""
    key = reader.concept_key(value, loc, "stage.")
    if key:
        return key.removeprefix("stage.")
    for coding in value.get("coding") or []:
        if not isinstance(coding, dict) or coding.get("system") != AJCC_SYSTEM:
            continue
        code = str(coding.get("code"))
        group = _ROMAN.get(code[:1], "") + code[1:] if code[:1] in _ROMAN else code
        if re.match(STAGE_GROUP_PATTERN, group):
            coding.pop("system")
            coding.pop("code")
            if coding.get("display") == group:
                coding.pop("display")
            return group
    return None


def from_tnm_category(reader: Reader, resource: JSON, loc: str) -> JSON | None:
    """A T, N or M category observation: its axis (t/n/m), category ('T1c'), kind (c/p), date, focus."""
    reader.sources(resource, loc)
    resource.pop("status", None)
    for i, category in enumerate(resource.get("category") or []):
        reader.concept_key(category, f"{loc}.category[{i}]", "category.laboratory")
    reader.ref(resource.get("subject"), f"{loc}.subject", ("Patient",))
    focus = None
    for i, item in enumerate(resource.get("focus") or []):
        focus = focus or reader.ref(item, f"{loc}.focus[{i}]", ("Condition",))
    date = reader.date(resource, "effective", loc)
    _absent_method(resource)
    key = reader.concept_key(resource.get("code"), f"{loc}.code", "staging.")
    value = resource.get("valueCodeableConcept")
    if key not in TNM_AXES or not isinstance(value, dict):
        return None
    axis = TNM_AXES[key]
    out: JSON = {"axis": axis, "kind": key.removeprefix("staging.")[0], "date": date, "focus": focus}
    text = value.pop("text", None)
    if isinstance(text, str):
        # fhirconv's own: the words as the report writes them ("rpT1c"); the code is derived.
        reader.concept_key(value, f"{loc}.valueCodeableConcept", "tnm.")
        at = text.find(axis.upper())
        out["category"] = text[at:] if at >= 0 else text
        return out
    category = _coded_category(reader, value, axis, f"{loc}.valueCodeableConcept")
    if category is None:
        return None
    for coding in value.get("coding") or []:
        if isinstance(coding, dict):
            coding.pop("display", None)  # the display of a code that was read
    out["category"] = category
    return out


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
    resource.pop("location", None)  # the condition's own body site and laterality
    reader.ref(resource.get("patient"), f"{loc}.patient", ("Patient",))
    return owner
