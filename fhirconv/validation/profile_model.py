"""A profile's snapshot as a tree the profile layer walks, and the value comparisons it needs.

Each pruned snapshot (:mod:`.pruning`) becomes a tree of :class:`PElement`: children
by path, slices under the element they slice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fhirconv.validation import definitions


@dataclass(slots=True)
class PElement:
    id: str
    name: str  # the last path segment: "extension", "value[x]"
    min: int
    max: int  # -1 for *
    types: list[dict[str, Any]]
    fixed: Any = None
    pattern: Any = None
    binding: tuple[str, str] | None = None
    discriminators: list[tuple[str, str]] | None = None  # set on a sliced element
    rules: str = "open"
    slice_name: str | None = None
    cons: list[list[str]] = field(default_factory=list)
    children: list[PElement] = field(default_factory=list)
    slices: list[PElement] = field(default_factory=list)
    has_fixed: bool = False
    has_pattern: bool = False


@dataclass(slots=True)
class Profile:
    url: str
    type: str
    name: str
    root: PElement
    kind: str = "resource"
    context: list[tuple[str, str]] = field(default_factory=list)  # an extension's contexts of use


def compile_profile(data: dict[str, Any]) -> Profile | None:
    by_id: dict[str, PElement] = {}
    root: PElement | None = None
    for raw in data["elements"]:
        ident = raw["id"]
        last = ident.rsplit(".", 1)[-1]
        element = PElement(
            id=ident,
            name=last.split(":", 1)[0],
            min=raw.get("min", 0),
            max=raw.get("max", -1),
            types=raw.get("types", []),
            fixed=raw.get("fixed"),
            pattern=raw.get("pattern"),
            binding=(raw["binding"][0], raw["binding"][1]) if raw.get("binding") else None,
            slice_name=raw.get("sliceName"),
            cons=raw.get("cons", []),
            has_fixed="fixed" in raw,
            has_pattern="pattern" in raw,
        )
        if "slicing" in raw:
            element.discriminators = [(d[0], d[1]) for d in raw["slicing"]["discriminator"]]
            element.rules = raw["slicing"].get("rules", "open")
        by_id[ident] = element
        if "." not in ident:
            root = element
            continue
        if element.slice_name is not None and ":" in last:
            base_id = ident[: -(len(last))] + element.name
            base = by_id.get(base_id)
            if base is not None:
                base.slices.append(element)
                continue
        parent = by_id.get(ident.rsplit(".", 1)[0])
        if parent is not None:
            parent.children.append(element)
    if root is None:
        return None
    contexts = [(str(c[0]), str(c[1])) for c in data.get("context", [])]
    return Profile(
        data["url"],
        data["type"],
        data.get("name") or data["url"],
        root,
        data.get("kind", "resource"),
        contexts,
    )


def card(el: PElement) -> str:
    return f"{el.min}..{'*' if el.max < 0 else el.max}"


class Value(NamedTuple):
    """One value of an element in the JSON: where it is, what it is, its FHIR type."""

    key: str  # the JSON key (valueQuantity, _birthDate)
    index: int | None
    value: Any
    type: str
    # A primitive present through its extensions alone ("_birthDate": {"extension": [...]}).
    extension_only: bool = False

    @property
    def location(self) -> str:
        return self.key + (f"[{self.index}]" if self.index is not None else "")


def values_of(parent: dict[str, Any], el: PElement) -> list[Value]:
    """Every value of a child element, a primitive's extension-only twin included."""
    out: list[Value] = []
    if el.name.endswith("[x]"):
        stem = el.name[:-3]
        for key, value in parent.items():
            name = key[1:] if key.startswith("_") else key
            if not (name.startswith(stem) and len(name) > len(stem) and name[len(stem)].isupper()):
                continue
            if key.startswith("_") and name in parent:
                continue  # the value itself is listed
            out.append(Value(key, None, value, type_name(name[len(stem) :]), key.startswith("_")))
        return out
    value = parent.get(el.name)
    twin = parent.get("_" + el.name)
    type_code = el.types[0]["code"] if len(el.types) == 1 else ""
    if isinstance(value, list) or isinstance(twin, list):
        values = value if isinstance(value, list) else []
        twins = twin if isinstance(twin, list) else []
        for i in range(max(len(values), len(twins))):
            item = values[i] if i < len(values) else None
            if item is not None:
                out.append(Value(el.name, i, item, type_code))
            elif i < len(twins) and isinstance(twins[i], dict):
                out.append(Value("_" + el.name, i, twins[i], type_code, True))
    elif value is not None:
        out.append(Value(el.name, None, value, type_code))
    elif isinstance(twin, dict):
        out.append(Value("_" + el.name, None, twin, type_code, True))
    return out


def type_name(suffix: str) -> str:
    """The FHIR type a choice suffix names: 'Quantity' -> Quantity, 'DateTime' -> dateTime."""
    types = definitions.core_types()
    if suffix in types and types[suffix]["kind"] != "primitive-type":
        return suffix
    lowered = suffix[0].lower() + suffix[1:]
    return lowered if lowered in types else suffix


def follow(value: Any, dpath: str) -> list[Any]:
    current: list[Any] = [value]
    for part in dpath.split("."):
        nxt: list[Any] = []
        for item in current:
            if isinstance(item, dict):
                found = item.get(part)
                if found is None and part.endswith("[x]"):
                    found = next((v for k, v in item.items() if k.startswith(part[:-3])), None)
                nxt.extend(as_list(found))
        current = nxt
    return current


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def equal(value: Any, fixed: Any) -> bool:
    if isinstance(fixed, dict):
        return (
            isinstance(value, dict)
            and set(value) == set(fixed)
            and all(equal(value[k], v) for k, v in fixed.items())
        )
    if isinstance(fixed, list):
        return isinstance(value, list) and len(value) == len(fixed) and all(map(equal, value, fixed))
    return bool(value == fixed and type(value) is type(fixed)) or (
        isinstance(value, int | float)
        and isinstance(fixed, int | float)
        and not isinstance(value, bool)
        and value == fixed
    )


def matches(value: Any, pattern: Any) -> bool:
    """Pattern semantics: everything in the pattern is in the value; the value may hold more."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and matches(value[k], v) for k, v in pattern.items()
        )
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else [value]
        return all(any(matches(item, p) for item in items) for p in pattern)
    return equal(value, pattern)


def show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."
