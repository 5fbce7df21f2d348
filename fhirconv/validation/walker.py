"""One type-directed pass over a resource, shared by the bundle, invariant and terminology layers.

The pass follows the R4 core definitions (see :mod:`elements`) and records every
element occurrence with its FHIR type and definition, and every resource with the
resource that contains it.  Keys the definitions do not know are skipped here:
the schema and structure layers report them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhirconv.validation.elements import Child, Context, child, element_context, resource_context


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


@dataclass(slots=True)
class Walk:
    resources: list[ResourceScope]


def walk(resource: dict[str, Any], path: str) -> Walk:
    result = Walk([])
    _resource(resource, path, resource, False, None, None, result)
    return result


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
    for key, value in obj.items():
        if key == "resourceType":
            continue
        if key[:1] == "_":  # an empty key is JSON too
            found = child(ctx, key[1:])
            if found is None:
                continue
            element_ctx = element_context("Element")
            here = f"{path}.{key}"
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, dict) and element_ctx is not None:
                        _emit(
                            item,
                            Child(element_ctx, found.element, "Element"),
                            f"{here}[{index}]",
                            scope,
                            result,
                        )
            elif isinstance(value, dict) and element_ctx is not None:
                _emit(value, Child(element_ctx, found.element, "Element"), here, scope, result)
            continue
        found = child(ctx, key)
        if found is None:
            continue
        here = f"{path}.{key}"
        if isinstance(value, list):
            for index, item in enumerate(value):
                if item is not None:
                    _emit(item, found, f"{here}[{index}]", scope, result)
        elif value is not None:
            _emit(value, found, here, scope, result)


def _emit(value: Any, found: Child, path: str, scope: ResourceScope, result: Walk) -> None:
    if found.type == "Resource":
        if isinstance(value, dict):
            contained = path.rsplit(".", 1)[-1].startswith("contained")
            entry_index = _entry_index(path, scope) if not contained else None
            entry_of = scope.resource if entry_index is not None else None
            _resource(value, path, scope.root, contained, entry_index, entry_of, result)
        return
    scope.nodes.append(Node(path, value, found.type, found.element, found.context))
    if found.context is not None and isinstance(value, dict):
        _children(value, found.context, path, scope, result)


def _entry_index(path: str, scope: ResourceScope) -> int | None:
    if scope.resource.get("resourceType") != "Bundle" or not path.endswith(".resource"):
        return None
    head = path[len(scope.path) :]
    if head.startswith(".entry[") and head.count(".") == 2:
        return int(head[len(".entry[") : head.index("]")])
    return None
