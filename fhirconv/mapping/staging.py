"""TNM categories and stage groups: T, N and M Observations and the stage group gathering them."""

from __future__ import annotations

import re

from fhirconv.mapping.common import (
    JSON,
    absent,
    coded,
    condition_ref,
    effective,
    meta,
    notes,
    patient_ref,
    reference,
    resource_id,
)
from fhirconv.mapping.reading import Reader, text_of
from fhirconv.model.case import STAGE_GROUP_PATTERN, TNM_PATTERNS, Case, PrimaryCancer, Staging
from fhirconv.terminology import table

PATHOLOGICAL_PREFIXES = frozenset({"p", "yp", "rp"})
STAGE_PREFIX = "TNM stage group, prefix "
STAGE_TEXT = "Stage "


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


def stage_value(staging: Staging) -> JSON:
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
        group["valueCodeableConcept"] = {**stage_value(staging), "text": staging.stated}
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


# --- the way back -------------------------------------------------------------------------


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
        group = coded_stage_group(reader, value, f"{loc}.valueCodeableConcept")
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


def coded_stage_group(reader: Reader, value: JSON, loc: str) -> str | None:
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
