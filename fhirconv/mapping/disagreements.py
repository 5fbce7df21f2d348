"""Where the report's text and a figure disagree: a DetectedIssue implicating the fact.

The issue carries the three statements as evidence, in a fixed order (the field,
what the text says, what the figure says, the figure named by the evidence's
code), and the text's value being kept as the mitigation.
"""

from __future__ import annotations

from fhirconv.mapping.common import JSON, patient_ref, reference, report_url, resource_id, text_concept
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
