"""Generated narrative: a one-line human summary on every resource that has none.

R4's dom-6 asks for narrative (best practice).  The summary is derived from the
resource itself, so it carries no fact of its own: the way back drops it.
"""

from __future__ import annotations

import html
from typing import Any

from fhirconv.mapping.common import JSON

_LABEL_ELEMENTS = ("code", "medicationCodeableConcept", "type", "location", "valueCodeableConcept")


def _text_of(value: Any) -> str | None:
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            return str(value["text"])
        for coding in value.get("coding") or []:
            if isinstance(coding, dict) and coding.get("display"):
                return str(coding["display"])
    return None


def summary(resource: JSON) -> str:
    """Resource type, the first label it has, and its status or value where it has one."""
    parts = [str(resource["resourceType"])]
    for element in _LABEL_ELEMENTS:
        label = _text_of(resource.get(element))
        if label:
            parts.append(label)
            break
    else:
        if isinstance(resource.get("description"), str):
            parts.append(resource["description"])
    value = resource.get("valueString") or _text_of(resource.get("valueCodeableConcept"))
    if value and value not in parts:
        parts.append(value)
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict) and "value" in quantity:
        parts.append(f"{quantity['value']:g} {quantity.get('unit', '')}".strip())
    if isinstance(resource.get("status"), str):
        parts.append(f"({resource['status']})")
    return ": ".join(parts[:2]) + (" - " + ", ".join(parts[2:]) if len(parts) > 2 else "")


def generated(resource: JSON) -> JSON:
    body = html.escape(summary(resource), quote=False)
    div = f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{body}</p></div>'
    return {"status": "generated", "div": div}


def with_narrative(resource: JSON) -> JSON:
    """The resource with generated narrative after ``meta``, unless it has narrative already."""
    if "text" in resource:
        return resource
    out: JSON = {}
    for key, value in resource.items():
        out[key] = value
        if key == "meta":
            out["text"] = generated(resource)
    if "text" not in out:
        out["text"] = generated(resource)
    return out


def drop_generated(resource: JSON) -> None:
    """Forget generated narrative on the way back: it only restates the resource."""
    text = resource.get("text")
    if isinstance(text, dict) and text.get("status") == "generated":
        resource.pop("text")
