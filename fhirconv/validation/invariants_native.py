"""The natively implemented invariants of the R4 core.

The invariants that hold on almost every element (ele-1, ext-1, ref-1) and the
DomainResource ones (dom-2 to dom-6, whose ``descendants()`` make fhirpathpy slow),
and a few whose FHIRPath fhirpathpy gets wrong, are Python functions here, each with the
expression it stands for in :data:`NATIVE`; ``tests/validation/test_native_invariants.py``
proves each equal to its FHIRPath on the test corpus.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fhirconv.validation import fhirpath
from fhirconv.validation.walker import ResourceScope, Walk

# dom-6 ("a resource should have narrative") is a best-practice invariant of
# severity warning in R4; it is reported as the warning it is, marked as best practice.
BEST_PRACTICE = frozenset({"dom-6"})
ELE_1 = "hasValue() or (children().count() > id.count())"


def ele_1(value: Any) -> bool:
    """All FHIR elements must have a @value or children (other than id)."""
    if isinstance(value, dict):
        return any(key != "id" for key in value)
    return value is not None


def ext_1(value: Any) -> bool:
    """Must have either extensions or value[x], not both."""
    if not isinstance(value, dict):
        return True
    # A primitive value[x] may be present through its extensions alone (_valueString).
    has_value = any(key.startswith(("value", "_value")) for key in value)
    return ("extension" in value) != has_value


def ref_1(value: Any, root: dict[str, Any]) -> bool:
    """SHALL have a contained resource if a local reference is provided."""
    if not isinstance(value, dict):
        return True
    ref = value.get("reference")
    if not isinstance(ref, str) or not ref.startswith("#") or ref == "#":
        return True
    return any(isinstance(c, dict) and c.get("id") == ref[1:] for c in root.get("contained", []))


def _contained(resource: dict[str, Any]) -> list[dict[str, Any]]:
    items = resource.get("contained")
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


def dom_2(resource: dict[str, Any]) -> bool:
    return not any("contained" in c for c in _contained(resource))


def dom_4(resource: dict[str, Any]) -> bool:
    return not any(
        isinstance(c.get("meta"), dict) and ("versionId" in c["meta"] or "lastUpdated" in c["meta"])
        for c in _contained(resource)
    )


def dom_5(resource: dict[str, Any]) -> bool:
    return not any(isinstance(c.get("meta"), dict) and "security" in c["meta"] for c in _contained(resource))


def dom_6(resource: dict[str, Any]) -> bool:
    text = resource.get("text")
    return isinstance(text, dict) and "div" in text


QUANTITY_TYPES = frozenset({"Quantity", "Age", "Count", "Distance", "Duration"})


def qty_3(value: Any) -> bool:
    """If a code for the unit is present, the system SHALL also be present."""
    return not (isinstance(value, dict) and "code" in value and "system" not in value)


def _has_value_x(resource: dict[str, Any]) -> bool:
    return any(
        (key.startswith("value") and key[5:6].isupper()) or (key.startswith("_value") and key[6:7].isupper())
        for key in resource
    )


def obs_6(resource: dict[str, Any]) -> bool:
    """dataAbsentReason SHALL only be present if Observation.value[x] is not present."""
    return not ("dataAbsentReason" in resource and _has_value_x(resource))


def obs_7(resource: dict[str, Any]) -> bool:
    """If Observation.code is the same as a component code then the value SHALL only be in the component."""
    if not _has_value_x(resource):
        return True
    code = resource.get("code")
    own = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(own, list) or not own:
        return True
    components = resource.get("component")
    for component in components if isinstance(components, list) else []:  # the schema reports others
        ccode = component.get("code") if isinstance(component, dict) else None
        codings = ccode.get("coding") if isinstance(ccode, dict) else None
        if isinstance(codings, list) and any(c in own for c in codings):
            return False
    return True


_DATETIME = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def _moment(text: str) -> list[float] | None:
    """A date/dateTime as comparable parts, times moved to UTC; None when malformed."""
    match = _DATETIME.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    if hour is None:
        return [int(p) for p in (year, month, day) if p is not None]
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=UTC)
    except ValueError:
        return None  # hour 24, day 31 of June: the schema and structure layers say so
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    parts: list[float] = [moment.year, moment.month, moment.day, moment.hour, moment.minute]
    if second is not None:
        parts.append(float(second))
    return parts


def compare_moments(a: list[float], b: list[float]) -> int | None:
    """FHIRPath ordering: decided at the first differing precision; None (empty) when one stops first."""
    for x, y in zip(a, b, strict=False):
        if x != y:
            return -1 if x < y else 1
    return 0 if len(a) == len(b) else None


_DATE_TYPES = frozenset({"date", "dateTime", "instant"})


def real_date(text: str) -> bool:
    """False only for a well-formed date whose day does not exist (2019-02-30)."""
    match = _DATETIME.match(text)
    if match is None or match.group(3) is None:
        return True  # malformed (the schema's to report) or without a day
    try:
        datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return False
    return True


def per_1(value: Any) -> bool:
    """If present, start SHALL have a lower value than end (FHIRPath date comparison)."""
    if not isinstance(value, dict):
        return True
    start, end = value.get("start"), value.get("end")
    if not isinstance(start, str) or not isinstance(end, str):
        return True
    a, b = _moment(start), _moment(end)
    if a is None or b is None:
        return True  # malformed dates are the schema layer's to report
    order = compare_moments(a, b)
    return order is None or order <= 0


_URI_TYPES = frozenset({"canonical", "uri", "url"})


def dom_3_unmatched(scope: ResourceScope, walk: Walk) -> list[str]:
    """Ids of contained resources that nothing in the resource refers to (and that do not refer back)."""
    contained = _contained(scope.resource)
    if not contained:
        return []
    # Contained resources come right after their container in the walk.
    start = next(i for i, s in enumerate(walk.resources) if s is scope)
    scopes = [scope]
    for s in walk.resources[start + 1 :]:
        if not (s.contained and s.root is scope.resource):
            break
        scopes.append(s)
    refs: set[str] = set()
    back: set[int] = set()
    for s in scopes:
        for node in s.nodes:
            if isinstance(node.value, str) and (node.type in _URI_TYPES or node.path.endswith(".reference")):
                refs.add(node.value)
                if node.value == "#" and s is not scope:
                    back.add(id(s.resource))
    return [str(c.get("id")) for c in contained if ("#" + str(c.get("id")) not in refs) and id(c) not in back]


NATIVE: dict[str, str] = {
    "ele-1": ELE_1,
    "ext-1": "extension.exists() != value.exists()",
    "ref-1": "reference.startsWith('#').not() or (reference.substring(1).trace('url') in "
    "%rootResource.contained.id.trace('ids'))",
    "dom-2": "contained.contained.empty()",
    "dom-4": "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()",
    "dom-5": "contained.meta.security.empty()",
    "dom-6": "text.`div`.exists()",
    "qty-3": "code.empty() or system.exists()",
    "per-1": "start.hasValue().not() or end.hasValue().not() or (start <= end)",
    "obs-6": "dataAbsentReason.empty() or value.empty()",
    "obs-7": "value.empty() or "
    "component.code.where(coding.intersect(%resource.code.coding).exists()).empty()",
}
NATIVE_ROOT = {"obs-6": obs_6, "obs-7": obs_7}
NATIVE["que-7"] = "operator = 'exists' implies (answer is Boolean)"


def que_7(value: Any) -> bool:
    """If the operator is 'exists', the value must be a boolean.

    Native because fhirpathpy 2.2.4 answers false for ``answer is Boolean`` when the
    answer is answerBoolean, which would reject the official Questionnaire-bb example.
    """
    if not isinstance(value, dict) or value.get("operator") != "exists":
        return True
    return "answerBoolean" in value or "_answerBoolean" in value


NATIVE["txt-1"] = NATIVE["txt-2"] = "htmlChecks()"
# R4 gives both narrative invariants the one expression htmlChecks(); natively each
# checks its own half, so that an empty div is reported as txt-2 only.
NATIVE_ELEMENT = {"que-7": que_7, "txt-1": fhirpath.html_structure_ok, "txt-2": fhirpath.html_has_content}
