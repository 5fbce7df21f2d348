"""Finding the resources inside a resource (Bundle entries, contained, Parameters)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# The elements whose type is Resource in R4 (the JSON schema's ResourceList):
# Bundle.entry.resource, Bundle.entry.response.outcome, DomainResource.contained,
# Parameters.parameter(.part).resource.
_RESOURCE_KEYS = frozenset({"resource", "outcome", "contained"})


def iter_resources(resource: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(location, resource)`` for the resource and every resource nested in it."""
    yield path, resource
    yield from _nested(resource, path)


def _nested(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, value in node.items():
        if isinstance(value, dict):
            here = f"{path}.{key}"
            if key in _RESOURCE_KEYS and isinstance(value.get("resourceType"), str):
                yield from iter_resources(value, here)
            else:
                yield from _nested(value, here)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    here = f"{path}.{key}[{index}]"
                    if key in _RESOURCE_KEYS and isinstance(item.get("resourceType"), str):
                        yield from iter_resources(item, here)
                    else:
                        yield from _nested(item, here)


def join(path: str, parts: Any) -> str:
    """Append a jsonschema/pydantic location (keys and indexes) to a FHIRPath."""
    out = [path]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append(f".{part}")
    return "".join(out)
