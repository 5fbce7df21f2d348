"""Navigating JSON by the R4 core definitions: which element a key is, and its type.

A context is ``(definition, element path)``: ``("Observation", "Observation.component")``
for an inline backbone element, ``("Quantity", "Quantity")`` once inside a data type.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from fhirconv.validation import definitions

PRIMITIVES = frozenset(
    {
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
        "xhtml",
    }
)


class Context(NamedTuple):
    sd: str
    path: str


class Child(NamedTuple):
    context: Context | None  # None for a primitive value
    element: dict[str, Any]  # the element definition (min, max, types, cons, bind, targets)
    type: str  # the FHIR type of the value ("" when the element allows several and the key does not say)


def resource_context(resource_type: str) -> Context | None:
    if resource_type in definitions.core_types():
        return Context(resource_type, resource_type)
    return None


def child(ctx: Context, key: str) -> Child | None:
    """The element a JSON key names under ``ctx``, or None when R4 has no such element."""
    types = definitions.core_types()
    sd = types[ctx.sd]
    slot = sd["children"].get(ctx.path)
    if slot is None:
        return None
    found = slot.get(key)
    if found is None:
        return None
    path, type_code = found
    element = sd["elements"][path]
    if "cref" in element:
        return Child(Context(ctx.sd, element["cref"]), element, "BackboneElement")
    if type_code in ("BackboneElement", "Element") and path in sd["children"]:
        return Child(Context(ctx.sd, path), element, type_code)
    if type_code in PRIMITIVES:
        return Child(None, element, type_code)
    if type_code in types and types[type_code]["kind"] != "resource":
        return Child(Context(type_code, type_code), element, type_code)
    return Child(None, element, type_code)


def element_context(type_code: str) -> Context | None:
    if type_code in definitions.core_types():
        return Context(type_code, type_code)
    return None


def resolve(resource_type: str, parts: Any) -> Child | bool | None:
    """Follow a location (keys and indexes) from a resource root.

    Returns the last element reached, None when some key is not an R4 element, and
    True when the location passes into something the definitions do not describe
    (a nested resource, a primitive's extension) and cannot be judged.
    """
    ctx = resource_context(resource_type)
    if ctx is None:
        return True
    last: Child | None = None
    for part in parts:
        if isinstance(part, int):
            continue
        if ctx is None:
            return True
        name = part[1:] if part.startswith("_") else part
        if name.endswith("__ext"):
            name = name[:-5]
        found = child(ctx, name)
        if found is None:
            return None
        if part.startswith("_") or part.endswith("__ext"):
            # The Element that carries a primitive's id and extensions.
            last, ctx = found, element_context("Element")
            continue
        last, ctx = found, found.context
        if found.type == "Resource":
            return True
    return last
