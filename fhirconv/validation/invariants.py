"""Layer 5: the FHIRPath invariants of the R4 core definitions, and core required bindings.

Every element occurrence found by :mod:`walker` is checked against the
constraints of its element definition and of its type.  The invariants that hold
on almost every element (ele-1, ext-1, ref-1) and the DomainResource ones (dom-2
to dom-6, whose ``descendants()`` make fhirpathpy slow) are implemented natively
in :mod:`.invariants_native`, proved equal to their FHIRPath by
``tests/validation/test_native_invariants.py``.  The bdl-* invariants belong to the
bundle layer.  The rest run through compiled FHIRPath, or fhirpathpy (see :mod:`fhirpath`).
What each element occurrence is checked for is settled once per element definition and
type (:func:`_plan`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fhirconv.validation import datatypes, definitions, fhirpath
from fhirconv.validation.bindings import check_binding, codings_of, in_valueset
from fhirconv.validation.datatypes import MAX_STRING, STRING_TYPES, URI_TYPES
from fhirconv.validation.invariants_native import (
    _DATE_TYPES,
    BEST_PRACTICE,
    ELE_1,
    NATIVE,
    NATIVE_ELEMENT,
    NATIVE_ROOT,
    QUANTITY_TYPES,
    _moment,
    compare_moments,
    dom_2,
    dom_3_unmatched,
    dom_4,
    dom_5,
    dom_6,
    ele_1,
    ext_1,
    obs_6,
    obs_7,
    per_1,
    qty_3,
    que_7,
    real_date,
    ref_1,
)
from fhirconv.validation.issues import Issue, Layer, error, information, warning
from fhirconv.validation.walker import Node, ResourceScope, Walk

# Re-exported: the natives are tested through this module, bindings used by the profile layer.
__all__ = [
    "BEST_PRACTICE",
    "ELE_1",
    "NATIVE",
    "NATIVE_ROOT",
    "_moment",
    "check",
    "check_binding",
    "codings_of",
    "compare_moments",
    "dom_2",
    "dom_4",
    "dom_5",
    "dom_6",
    "ele_1",
    "in_valueset",
    "obs_6",
    "obs_7",
    "que_7",
]

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


# What one element occurrence is checked for, by (element definition, type): settled once.
Plan = tuple[int, Any, Any, tuple[tuple[str, str, str, Any], ...], list[Constraint], str, str | None]
_PLANS: dict[tuple[int, str], Plan] = {}
# The checks chosen by type, in the order of precedence the layer has always used.
_EXTENSION, _REFERENCE, _QUANTITY, _PERIOD, _DATE = 1, 2, 3, 4, 5
_LENGTH, _URN = object(), object()


def _plan(node: Node) -> Plan:
    # Definitions live for the process, so id(element) names one element for good.
    type_code = node.type
    if type_code == "Extension":
        kind = _EXTENSION
    elif type_code == "Reference":
        kind = _REFERENCE
    elif type_code in QUANTITY_TYPES:
        kind = _QUANTITY
    elif type_code == "Period":
        kind = _PERIOD
    elif type_code in _DATE_TYPES:
        kind = _DATE
    else:
        kind = 0
    check_data: Any = None
    if type_code in STRING_TYPES:
        check_data = _LENGTH
    elif type_code == "base64Binary":
        check_data = datatypes.check_base64
    elif type_code == "Attachment":
        check_data = datatypes.check_attachment
    elif type_code in URI_TYPES:
        check_data = _URN
    element = node.element
    choices = definitions.required_choices().get(node.context) if node.context is not None else None
    natives = tuple(
        (key, severity, human, NATIVE_ELEMENT[key])
        for key, severity, human, _ in element.get("cons", [])
        if key in NATIVE_ELEMENT
    )
    cons = constraints_for(node) if ("cons" in element or node.context is not None) else []
    base = node.context.path if node.context is not None else type_code
    return kind, check_data, choices, natives, cons, base, element.get("bind")


def _check_kind(
    kind: int, value: Any, path: str, scope: ResourceScope, issues: list[Issue], humans: dict[str, str]
) -> None:
    if kind == _EXTENSION:
        if not ext_1(value):
            issues.append(_issue("error", path, "ext-1", humans["ext-1"]))
    elif kind == _REFERENCE:
        if not ref_1(value, scope.root):
            issues.append(_issue("error", path, "ref-1", humans["ref-1"]))
    elif kind == _QUANTITY:
        if not qty_3(value):
            issues.append(_issue("error", path, "qty-3", humans["qty-3"]))
    elif kind == _PERIOD:
        if not per_1(value):
            issues.append(_issue("error", path, "per-1", humans["per-1"]))
    elif isinstance(value, str) and not real_date(value):
        # The R4 patterns allow 2019-02-30; "Dates SHALL be valid dates" does not.
        issues.append(
            error(Layer.STRUCTURE, path, f"{value!r} is not a real calendar date", "structure-invalid-date")
        )


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
            path = node.path
            plan = _PLANS.get((id(node.element), node.type))
            if plan is None:
                plan = _PLANS[(id(node.element), node.type)] = _plan(node)
            # ele-1 (ele_1 inline: it runs on every element)
            if (type(value) is dict and (not value or (len(value) == 1 and "id" in value))) or value is None:
                issues.append(_issue("error", path, "ele-1", humans["ele-1"]))
            kind, check_data, choices, natives, cons, base, bind = plan
            if kind:
                _check_kind(kind, value, path, scope, issues, humans)
            if check_data is not None:
                if check_data is _LENGTH:
                    if type(value) is str and len(value) > MAX_STRING:
                        issues.extend(datatypes.check_length(value, path))
                elif check_data is _URN:
                    if type(value) is str and value.startswith("urn:"):
                        issues.extend(datatypes.check_urn(value, path))
                else:
                    issues.extend(check_data(value, path))
            if choices:
                issues.extend(datatypes.check_required_choices(value, path, choices))
            for key, severity, human, check_native in natives:
                if not check_native(value):
                    if key == "txt-1":
                        # The definition's long text says what is allowed; say what is wrong.
                        human = f"the narrative is not FHIR's XHTML: {fhirpath.html_problem(value)}"
                    issues.append(_issue(severity, path, key, human))
            for key, severity, human, expression in cons:
                _run(key, severity, human, expression, value, base, scope, path, issues, failed_to_run)
            if bind:
                for issue in check_binding(node):
                    # "Not checked" is said once per value set, not at every use.
                    if issue.rule == "binding-not-checked":
                        if bind in unexpandable_noted:
                            continue
                        unexpandable_noted.add(bind)
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
