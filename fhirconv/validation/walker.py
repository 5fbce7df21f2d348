"""One type-directed pass over a resource, shared by the bundle, invariant and terminology layers.

The pass follows the R4 core definitions (see :mod:`elements`) and records every
element occurrence with its FHIR type and definition, and every resource with the
resource that contains it.  Keys the definitions do not know are skipped here:
the schema and structure layers report them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhirconv.validation import definitions
from fhirconv.validation.elements import Context, child, element_context, resource_context


@dataclass(slots=True)
class Node:
    path: str
    value: Any
    type: str
    element: dict[str, Any]
    context: Context | None  # where the value's own children are defined (None for primitives)


@dataclass(slots=True)
class ResourceScope:
    """A resource seen in the pass.

    ``root`` is FHIRPath's %rootResource: the container of a contained resource, else itself.
    """

    path: str
    resource: dict[str, Any]
    root: dict[str, Any]
    contained: bool
    entry_index: int | None = None  # position in Bundle.entry when this is an entry's resource
    entry_of: dict[str, Any] | None = None  # ... and the Bundle it is an entry of (bundles nest)
    nodes: list[Node] = field(default_factory=list)
    # The nodes of the types some layer looks at alone, in walk order (see INDEXED).
    indexed: dict[str, list[Node]] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Node]:
        """The nodes of one kind of :data:`INDEXED`, in walk order."""
        return self.indexed.get(kind, [])


@dataclass(slots=True)
class Walk:
    resources: list[ResourceScope]


def walk(resource: dict[str, Any], path: str) -> Walk:
    result = Walk([])
    _resource(resource, path, resource, False, None, None, result)
    return result


# Types some layers visit alone, by kind: extensions (profile layer), codings and
# quantities (terminology layer), references and canonicals (bundle layer).
INDEXED = {
    "Extension": "extension",
    "Coding": "coded",
    "Quantity": "coded",
    "Reference": "reference",
    "canonical": "reference",
}

# Per context: JSON key -> (whether it is a primitive's ``_key`` twin, whether it holds a
# resource, the type, definition and context of its values, and their INDEXED kind).
Entry = tuple[bool, bool, str, dict[str, Any], Context | None, str | None]
Table = dict[str, Entry]
_TABLES: dict[Context, Table] = {}


def table(ctx: Context) -> Table:
    """Every JSON key an object of this context may hold, looked up once per context."""
    found = _TABLES.get(ctx)
    if found is None:
        found = {}
        slot = definitions.core_types()[ctx.sd]["children"].get(ctx.path, {})
        element_ctx = element_context("Element")
        for key in slot:
            if key == "resourceType":
                continue
            named = child(ctx, key)
            if named is None:
                continue
            kind = INDEXED.get(named.type)
            found[key] = (False, named.type == "Resource", named.type, named.element, named.context, kind)
            if element_ctx is not None:
                found["_" + key] = (True, False, "Element", named.element, element_ctx, None)
        _TABLES[ctx] = found
    return found


def _resource(
    resource: dict[str, Any],
    path: str,
    root: dict[str, Any],
    contained: bool,
    entry_index: int | None,
    entry_of: dict[str, Any] | None,
    result: Walk,
) -> None:
    ctx = resource_context(str(resource.get("resourceType")))
    scope = ResourceScope(path, resource, root if contained else resource, contained, entry_index, entry_of)
    result.resources.append(scope)
    if ctx is None:
        return
    _children(resource, ctx, path, scope, result)


def _children(obj: dict[str, Any], ctx: Context, path: str, scope: ResourceScope, result: Walk) -> None:
    known = _TABLES.get(ctx) or table(ctx)
    nodes = scope.nodes
    for key, value in obj.items():
        entry = known.get(key)
        if entry is None:
            continue
        twin, resource, type_code, element, context, kind = entry
        here = f"{path}.{key}"
        # One loop for a single value and for each item of an array (index -1: no [n]).
        for index, item in enumerate(value) if isinstance(value, list) else ((-1, value),):
            # A twin (_given) holds objects only; anything else is the schema's to report.
            if item is None or (twin and not isinstance(item, dict)):
                continue
            where = here if index < 0 else f"{here}[{index}]"
            if resource:
                if isinstance(item, dict):
                    _nested(item, where, key, scope, result)
                continue
            node = Node(where, item, type_code, element, context)
            nodes.append(node)
            if kind is not None:
                scope.indexed.setdefault(kind, []).append(node)
            if context is not None and isinstance(item, dict):
                _children(item, context, where, scope, result)


def _nested(value: dict[str, Any], path: str, key: str, scope: ResourceScope, result: Walk) -> None:
    contained = key.startswith("contained")
    entry_index = _entry_index(path, scope) if not contained else None
    entry_of = scope.resource if entry_index is not None else None
    _resource(value, path, scope.root, contained, entry_index, entry_of, result)


def _entry_index(path: str, scope: ResourceScope) -> int | None:
    if scope.resource.get("resourceType") != "Bundle" or not path.endswith(".resource"):
        return None
    head = path[len(scope.path) :]
    if head.startswith(".entry[") and head.count(".") == 2:
        return int(head[len(".entry[") : head.index("]")])
    return None
