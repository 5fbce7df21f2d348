"""Layer 5: the FHIRPath invariants of the R4 core definitions, and core required bindings.

Every element occurrence found by :mod:`walker` is checked against the
constraints of its element definition and of its type.  The invariants that hold
on almost every element (ele-1, ext-1, ref-1) and the DomainResource ones (dom-2
to dom-6, whose ``descendants()`` make fhirpathpy slow) are implemented natively
in :data:`NATIVE`; ``tests/validation/test_invariants.py`` proves each equal to its
FHIRPath on the test corpus.  The bdl-* invariants belong to the bundle layer.
The rest run through fhirpathpy (see :mod:`fhirpath`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from fhirconv.validation import datatypes, definitions, fhirpath
from fhirconv.validation.datatypes import MAX_STRING, STRING_TYPES, URI_TYPES
from fhirconv.validation.issues import Issue, Layer, error, information, warning
from fhirconv.validation.walker import Node, ResourceScope, Walk

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
    for component in resource.get("component") or []:
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
_SKIP_PREFIX = ("bdl-",)
Constraint = tuple[str, str, str, str]


def constraints_for(node: Node) -> list[Constraint]:
    """Element-level and type-level constraints of one element occurrence, each key once."""
    key = (id(node.element), node.context)
    found = _CACHE.get(key)
    if found is None:
        seen: set[str] = set()
        found = []
        cons = list(node.element.get("cons", []))
        ctx = node.context
        if ctx is not None and ctx.sd == ctx.path:
            cons += definitions.core_types()[ctx.sd]["elements"][ctx.path].get("cons", [])
        for c in cons:
            if c[0] in seen or c[0].startswith(_SKIP_PREFIX) or c[0] in NATIVE:
                continue
            seen.add(c[0])
            found.append((c[0], c[1], c[2], c[3]))
        _CACHE[key] = found
    return found


_CACHE: dict[Any, list[Constraint]] = {}


def _issue(severity: str, location: str, key: str, human: str) -> Issue:
    message = f"{key}: {human}"
    if key in BEST_PRACTICE:
        message += " (best practice)"
    if severity == "error":
        return error(Layer.INVARIANT, location, message, key)
    return warning(Layer.INVARIANT, location, message, key)


def check(walk: Walk) -> list[Issue]:
    issues: list[Issue] = []
    unexpandable_noted: set[str] = set()
    failed_to_run: set[str] = set()
    types = definitions.core_types()
    humans = _native_humans()
    for scope in walk.resources:
        rtype = scope.resource.get("resourceType")
        if not isinstance(rtype, str) or rtype not in types:
            continue
        elements = types[rtype]["elements"]
        required_choices = definitions.required_choices()
        choices = required_choices.get((rtype, rtype))
        if choices:
            issues.extend(datatypes.check_required_choices(scope.resource, scope.path, choices))
        root_cons = elements[rtype].get("cons", [])
        if "url" in scope.resource and elements.get(f"{rtype}.url", {}).get("types") == ["uri"]:
            issues.extend(datatypes.check_canonical_url(scope.resource["url"], f"{scope.path}.url"))
        if types[rtype]["base"] == "DomainResource" or any(c[0] == "dom-2" for c in root_cons):
            res = scope.resource
            if not dom_2(res):
                issues.append(_issue("error", scope.path, "dom-2", humans["dom-2"]))
            unmatched = dom_3_unmatched(scope, walk)
            if unmatched:
                issues.append(
                    _issue(
                        "error",
                        scope.path,
                        "dom-3",
                        humans["dom-3"] + f" (not referred to: {', '.join(unmatched)})",
                    )
                )
            if not dom_4(res):
                issues.append(_issue("error", scope.path, "dom-4", humans["dom-4"]))
            if not dom_5(res):
                issues.append(_issue("error", scope.path, "dom-5", humans["dom-5"]))
            if not scope.contained and not dom_6(res):
                issues.append(_issue("warning", scope.path, "dom-6", humans["dom-6"]))
        for key, severity, human, expression in root_cons:
            native = NATIVE_ROOT.get(key)
            if native is not None:
                if not native(scope.resource):
                    issues.append(_issue(severity, scope.path, key, human))
                continue
            if key in NATIVE or key == "dom-3" or key.startswith(_SKIP_PREFIX):
                continue
            _run(
                key,
                severity,
                human,
                expression,
                scope.resource,
                rtype,
                scope,
                scope.path,
                issues,
                failed_to_run,
            )
        for node in scope.nodes:
            value = node.value
            if not ele_1(value):
                issues.append(_issue("error", node.path, "ele-1", humans["ele-1"]))
            if node.type == "Extension" and not ext_1(value):
                issues.append(_issue("error", node.path, "ext-1", humans["ext-1"]))
            elif node.type == "Reference" and not ref_1(value, scope.root):
                issues.append(_issue("error", node.path, "ref-1", humans["ref-1"]))
            elif node.type in QUANTITY_TYPES and not qty_3(value):
                issues.append(_issue("error", node.path, "qty-3", humans["qty-3"]))
            elif node.type == "Period" and not per_1(value):
                issues.append(_issue("error", node.path, "per-1", humans["per-1"]))
            elif node.type in _DATE_TYPES and isinstance(value, str) and not real_date(value):
                # The R4 patterns allow 2019-02-30; "Dates SHALL be valid dates" does not.
                issues.append(
                    error(
                        Layer.STRUCTURE,
                        node.path,
                        f"{value!r} is not a real calendar date",
                        "structure-invalid-date",
                    )
                )
            if node.type in STRING_TYPES:
                if len(value) > MAX_STRING if isinstance(value, str) else False:
                    issues.extend(datatypes.check_length(value, node.path))
            elif node.type == "base64Binary":
                issues.extend(datatypes.check_base64(value, node.path))
            elif node.type == "Attachment":
                issues.extend(datatypes.check_attachment(value, node.path))
            elif node.type in URI_TYPES and isinstance(value, str) and value.startswith("urn:"):
                issues.extend(datatypes.check_urn(value, node.path))
            if node.context is not None:
                choices = required_choices.get(node.context)
                if choices:
                    issues.extend(datatypes.check_required_choices(value, node.path, choices))
            if "cons" in node.element:
                for key, severity, human, _ in node.element["cons"]:
                    check_native = NATIVE_ELEMENT.get(key)
                    if check_native is not None and not check_native(value):
                        if key == "txt-1":
                            # The definition's long text says what is allowed; say what is wrong.
                            human = f"the narrative is not FHIR's XHTML: {fhirpath.html_problem(value)}"
                        issues.append(_issue(severity, node.path, key, human))
            cons = constraints_for(node) if ("cons" in node.element or node.context is not None) else ()
            if cons:
                base = node.context.path if node.context is not None else node.type
                for key, severity, human, expression in cons:
                    _run(
                        key, severity, human, expression, value, base, scope, node.path, issues, failed_to_run
                    )
            if "bind" in node.element:
                for issue in check_binding(node):
                    # "Not checked" is said once per value set, not at every use.
                    if issue.rule == "binding-not-checked":
                        if node.element["bind"] in unexpandable_noted:
                            continue
                        unexpandable_noted.add(node.element["bind"])
                    issues.append(issue)
    return issues


def _run(
    key: str,
    severity: str,
    human: str,
    expression: str,
    value: Any,
    base: str,
    scope: ResourceScope,
    location: str,
    issues: list[Issue],
    failed_to_run: set[str],
) -> None:
    expression = CORRECTED.get((key, expression), expression)
    try:
        ok = fhirpath.holds(expression, value, base, scope.resource, scope.root)
    # fhirpathpy raises bare Exception for what it does not implement.
    except Exception as err:
        if key not in failed_to_run:
            failed_to_run.add(key)
            issues.append(
                information(
                    Layer.INVARIANT,
                    location,
                    f"{key} could not be evaluated offline ({type(err).__name__}: {str(err)[:80]})",
                    f"{key}-not-evaluated",
                )
            )
        return
    # As in the HL7 validator, an invariant holds only when it evaluates to true: false
    # and an empty result both fail it.
    if not ok:
        issues.append(_issue(severity, location, key, human))


# R4 invariants published with a wrong expression, and the corrected form the HL7 validator
# applies in their place (keyed by key and the published expression, so that a fixed
# definition is left alone).
CORRECTED: dict[tuple[str, str], str] = {
    # "If there are more than one enableWhen": count() > 2 let exactly two through.
    (
        "que-12",
        "enableWhen.count() > 2 implies enableBehavior.exists()",
    ): "enableWhen.count() > 1 implies enableBehavior.exists()",
    # category.select($this='problem-list-item') compares a CodeableConcept with a string,
    # which is never true yet never empty: the invariant failed on every Condition with a
    # category and no clinicalStatus.  The corrected form looks at the category's codings.
    (
        "con-3",
        "clinicalStatus.exists() or verificationStatus.coding.where(system='http://terminology.hl7.org/"
        "CodeSystem/condition-ver-status' and code = 'entered-in-error').exists() or "
        "category.select($this='problem-list-item').empty()",
    ): "clinicalStatus.exists() or verificationStatus.coding.where(system='http://terminology.hl7.org/"
    "CodeSystem/condition-ver-status' and code = 'entered-in-error').exists() or "
    "category.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-category' and "
    "code='problem-list-item').empty()",
}


@cache
def _native_humans() -> dict[str, str]:
    humans: dict[str, str] = {
        "ele-1": "All FHIR elements must have a @value or children",
        "ext-1": "Must have either extensions or value[x], not both",
        "ref-1": "SHALL have a contained resource if a local reference is provided",
        "qty-3": "If a code for the unit is present, the system SHALL also be present",
        "per-1": "If present, start SHALL have a lower value than end",
    }
    for key, _, human, _ in definitions.core_types()["DomainResource"]["elements"]["DomainResource"]["cons"]:
        humans[key] = human
    return humans


# ---------------------------------------------------------------------------
# required bindings of the core specification


def codings_of(value: Any, type_code: str) -> list[tuple[str | None, str]] | None:
    """(system, code) pairs a coded value carries; None when the type is not coded."""
    if type_code == "code":
        return [(None, value)] if isinstance(value, str) else []
    if type_code == "Coding":
        return [_pair(value)] if isinstance(value, dict) and isinstance(value.get("code"), str) else []
    if type_code == "CodeableConcept":
        codings = value.get("coding") if isinstance(value, dict) else None
        if not isinstance(codings, list):
            return []  # not a list: the schema layer says so
        return [_pair(c) for c in codings if isinstance(c, dict) and isinstance(c.get("code"), str)]
    if type_code == "Quantity":
        return [_pair(value)] if isinstance(value, dict) and isinstance(value.get("code"), str) else []
    return None


def _pair(coding: dict[str, Any]) -> tuple[str | None, str]:
    system = coding.get("system")
    return (system if isinstance(system, str) else None, coding["code"])


def in_valueset(codes: dict[str, frozenset[str]], system: str | None, code: str) -> bool:
    if system is None:
        return any(code in c for c in codes.values())
    return code in codes.get(system, frozenset())


def check_binding(node: Node) -> list[Issue]:
    url = node.element["bind"]
    pairs = codings_of(node.value, node.type)
    if pairs is None:
        return []
    codes = definitions.valueset_codes(url)
    if codes is None:
        return [
            information(
                Layer.INVARIANT,
                node.path,
                f"required binding to {url} not checked: {definitions.unexpandable_reason(url)}",
                "binding-not-checked",
            )
        ]
    if not pairs:
        if node.type == "CodeableConcept":
            return [
                error(
                    Layer.INVARIANT,
                    node.path,
                    f"no coding from the required value set {url}",
                    "binding-required",
                )
            ]
        return []
    if any(in_valueset(codes, system, code) for system, code in pairs):
        return []
    shown = ", ".join(f"{s}#{c}" if s else c for s, c in pairs[:3])
    return [
        error(
            Layer.INVARIANT, node.path, f"{shown} is not in the required value set {url}", "binding-required"
        )
    ]
