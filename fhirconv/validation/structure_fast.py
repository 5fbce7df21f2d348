"""The structure layer's fast path: what the R4B models could still object to, found by the walk.

The R4B models (pydantic) cost as much as fhir.resources parsing the whole document, so
they run only when they may have something to say.  Of what they check, a document that
passed the compiled schema (:mod:`.schema_compiled`, which already wants objects where
objects go, known elements only, JSON types and patterns) can still fail only:

* a required element (R4 ``min`` >= 1) missing, a required primitive counting as
  present through its ``_name`` extensions as the models count it;
* a choice element given in two types;
* an empty object (an ``_name`` with nothing in it);
* an integer beyond the 32-bit range of its type, a fraction where an integer goes;
* a value with a final line break in a type whose pattern forbids line breaks (Python's
  ``$`` lets the schema accept it; the models' full match does not);
* a resource type the R4B models do not have (said as information by the layer itself).

:func:`clean` is True when the walk finds none of these: the models would report
nothing that survives the layer's R4 filter.  Otherwise the layer runs the models and
words their findings.  ``tests/validation/test_structure_fast.py`` holds the two paths
to the same findings on damaged real resources.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from fhirconv.validation import definitions
from fhirconv.validation.elements import PRIMITIVES, Context
from fhirconv.validation.walker import Walk

# R4 resource types fhir.resources' R4B package has no model for (a test checks the list).
R4B_MISSING = frozenset(
    {
        "EffectEvidenceSynthesis",
        "MedicinalProduct",
        "MedicinalProductAuthorization",
        "MedicinalProductContraindication",
        "MedicinalProductIndication",
        "MedicinalProductIngredient",
        "MedicinalProductInteraction",
        "MedicinalProductManufactured",
        "MedicinalProductPackaged",
        "MedicinalProductPharmaceutical",
        "MedicinalProductUndesirableEffect",
        "RiskEvidenceSynthesis",
        "SubstanceNucleicAcid",
        "SubstancePolymer",
        "SubstanceProtein",
        "SubstanceReferenceInformation",
        "SubstanceSourceMaterial",
        "SubstanceSpecification",
    }
)
INT_RANGE = {
    "integer": (-(2**31), 2**31 - 1),
    "unsignedInt": (0, 2**31 - 1),
    "positiveInt": (1, 2**31 - 1),
}
# Types whose R4 pattern takes a line break anywhere, the last character included.
LINE_BREAKS_ALLOWED = frozenset({"string", "markdown", "base64Binary", "xhtml"})


class Plan(NamedTuple):
    """What to look at in an object of one context."""

    required: tuple[tuple[tuple[str, bool], ...], ...]  # per required element: (key, primitive) choices
    choice_of: dict[str, tuple[str, str]]  # key or _key of a choice -> (element, type key)


@cache
def plan(ctx: Context) -> Plan | None:
    sd = definitions.core_types().get(ctx.sd)
    if sd is None:
        return None
    slot = sd["children"].get(ctx.path)
    if slot is None:
        return None
    keys_of: dict[str, list[tuple[str, str]]] = {}
    for key, (path, type_code) in slot.items():
        keys_of.setdefault(path, []).append((key, type_code))
    required: list[tuple[tuple[str, bool], ...]] = []
    choice_of: dict[str, tuple[str, str]] = {}
    for path, keys in keys_of.items():
        if sd["elements"][path].get("min", 0) >= 1:
            required.append(tuple((key, type_code in PRIMITIVES) for key, type_code in keys))
        if len(keys) > 1:
            for key, _ in keys:
                choice_of[key] = choice_of["_" + key] = (path, key)
    return Plan(tuple(required), choice_of)


def clean(walk: Walk) -> bool:
    """True when the R4B models certainly have nothing to report on a schema-valid document."""
    for scope in walk.resources:
        rtype = scope.resource.get("resourceType")
        if not isinstance(rtype, str) or rtype in R4B_MISSING:
            return False
        if not _object_ok(scope.resource, Context(rtype, rtype)):
            return False
        for node in scope.nodes:
            value = node.value
            kind = type(value)
            if kind is dict:
                if node.context is None or not _object_ok(value, node.context):
                    return False
            elif kind is str:
                if value.endswith("\n") and node.type not in LINE_BREAKS_ALLOWED:
                    return False
            elif node.type in INT_RANGE:
                low, high = INT_RANGE[node.type]
                if kind is not int or not low <= value <= high:
                    return False
    return True


def _object_ok(obj: dict[str, object], ctx: Context) -> bool:
    if not obj:
        return False
    found = plan(ctx)
    if found is None:
        return False
    for alternatives in found.required:
        for key, primitive in alternatives:
            if obj.get(key) is not None:
                break
            if primitive:
                extension = obj.get("_" + key)
                if type(extension) is dict and extension.get("extension"):
                    break
        else:
            return False
    if found.choice_of:
        chosen: dict[str, str] = {}
        for key in obj:
            hit = found.choice_of.get(key)
            if hit is not None and chosen.setdefault(hit[0], hit[1]) != hit[1]:
                return False
    return True
