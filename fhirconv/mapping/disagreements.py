"""Where the report's text and a figure disagree: a DetectedIssue implicating the fact.

The issue carries the three statements as evidence, in a fixed order (the field,
what the text says, what the figure says, the figure named by the evidence's
code), and the text's value being kept as the mitigation.
"""

from __future__ import annotations

from fhirconv.mapping.common import JSON, patient_ref, reference, report_url, resource_id, text_concept
from fhirconv.mapping.reading import Reader, take_text
from fhirconv.model.case import Case, Disagreement

DISAGREEMENT_CODE = "Disagreement between the report's text and a figure"
FIELD_LABEL = "Field"
TEXT_LABEL = "Text"
KEPT_ACTION = "Kept the text's value"


def disagreement_id(case: Case, index: int) -> str:
    return resource_id(case, f"disagreement-{index + 1}")


def _evidence(label: str, value: str) -> JSON:
    return {"code": [text_concept(label)], "detail": [{"display": value}]}


def to_disagreement(case: Case, index: int, item: Disagreement, fact_type: str) -> JSON:
    return {
        "resourceType": "DetectedIssue",
        "id": disagreement_id(case, index),
        "meta": {"source": report_url(case)},
        "status": "final",
        "code": text_concept(DISAGREEMENT_CODE),
        "patient": patient_ref(case),
        "implicated": [reference(fact_type, resource_id(case, item.fact))],
        "evidence": [
            _evidence(FIELD_LABEL, item.field),
            _evidence(TEXT_LABEL, item.text_says),
            _evidence(item.figure, item.figure_says),
        ],
        "detail": (
            f"{item.field}: the text says {item.text_says!r}; {item.figure} says {item.figure_says!r}; "
            "the text's value is kept"
        ),
        "mitigation": [{"action": text_concept(KEPT_ACTION)}],
    }


def from_disagreement(reader: Reader, resource: JSON, loc: str) -> JSON | None:
    if take_text(resource, "code") != DISAGREEMENT_CODE:
        return None
    meta = resource.get("meta")
    if isinstance(meta, dict) and reader.report_url and meta.get("source") == reader.report_url:
        meta.pop("source")
    resource.pop("status", None)
    resource.pop("detail", None)  # a sentence made of the parts below
    reader.ref(resource.get("patient"), f"{loc}.patient", ("Patient",))
    facts = [
        reader.ref(item, f"{loc}.implicated[{i}]") for i, item in enumerate(resource.get("implicated") or [])
    ]
    parts = []
    for item in resource.get("evidence") or []:
        codes = item.get("code") or [] if isinstance(item, dict) else []
        details = item.get("detail") or [] if isinstance(item, dict) else []
        if len(codes) == 1 and len(details) == 1 and isinstance(details[0].get("display"), str):
            parts.append((take_text({"c": codes[0]}, "c"), details[0].pop("display")))
            codes[0].clear()
    kept = [take_text(m, "action") for m in resource.get("mitigation") or [] if isinstance(m, dict)]
    if len(parts) != 3 or not facts or not facts[0] or kept != [KEPT_ACTION]:
        reader.report(loc, "not mapped", "a DetectedIssue that is not a text/figure disagreement")
        return None
    (_, field), (_, text_says), (figure, figure_says) = parts
    return {
        "fact": facts[0],
        "field": field,
        "text_says": text_says,
        "figure_says": figure_says,
        "figure": figure,
    }
