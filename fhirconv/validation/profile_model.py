"""A profile's snapshot as a tree the profile layer walks, and the value comparisons it needs.

Each pruned snapshot (:mod:`.pruning`) becomes a tree of :class:`PElement`: children
by path, slices under the element they slice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

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
    type_profiled: bool = False  # some type names a profile (an extension definition, SimpleQuantity)
    choice: bool = False  # value[x]
    twin: str = ""  # the JSON key of a primitive's extensions: _birthDate
    type_code: str = ""  # the one type, when there is one
    allowed: frozenset[str] = frozenset()  # the codes of its types
    # What checking can find, settled once per profile (see _settle):
    inert: bool = False  # nothing to say about any value of it
    silent: bool = False  # nothing to say whatever values it has
    absent_ok: bool = False  # nothing to say when its key (or _key) is not in the object
    active: list[PElement] = field(default_factory=list)  # the children that are not silent


@dataclass(slots=True)
class Profile:
    url: str
    type: str
    name: str
    root: PElement
    kind: str = "resource"
    context: list[tuple[str, str]] = field(default_factory=list)  # an extension's contexts of use
    version: str | None = None  # the definition's business version (StructureDefinition.version)


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
            type_profiled=any("profile" in t for t in raw.get("types", [])),
        )
        element.choice = element.name.endswith("[x]")
        element.twin = "_" + element.name
        element.type_code = element.types[0]["code"] if len(element.types) == 1 else ""
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
    _settle(root)
    contexts = [(str(c[0]), str(c[1])) for c in data.get("context", [])]
    return Profile(
        data["url"],
        data["type"],
        data.get("name") or data["url"],
        root,
        data.get("kind", "resource"),
        contexts,
        data.get("version"),
    )


def _settle(el: PElement) -> None:
    """What the checker can find at an element, from its children and slices up.

    A value of an inert element has no fixed value, pattern, required binding,
    constraint, reference target or type profile to check, and no child that could
    object; a silent element adds no cardinality or type of its own either.  The checker
    skips what cannot report anything.
    """
    for child in el.children:
        _settle(child)
    for sl in el.slices:
        _settle(sl)
    el.allowed = frozenset(t["code"] for t in el.types)
    targets = any(t.get("targets") for t in el.types if t.get("code") == "Reference")
    required = el.binding is not None and el.binding[0] == "required"
    el.inert = not (
        el.has_fixed or el.has_pattern or required or el.cons or targets or el.type_profiled
    ) and all(child.silent for child in el.children)
    # A choice's keys carry the type (valueQuantity): its name alone says nothing.
    el.absent_ok = el.min == 0 and all(sl.min == 0 for sl in el.slices) and not el.choice
    el.silent = el.inert and el.absent_ok and el.max < 0 and not el.slices
    el.active = [child for child in el.children if not child.silent]


def card(el: PElement) -> str:
    return f"{el.min}..{'*' if el.max < 0 else el.max}"


# One value of an element in the JSON: (JSON key, index or None, value, FHIR type, extension_only).
# extension_only marks a primitive present through its extensions alone ("_birthDate": {...}).
# A plain tuple: values are made for every element of every profiled resource.
Value = tuple[str, int | None, Any, str, bool]


def location(found: Value) -> str:
    return found[0] if found[1] is None else f"{found[0]}[{found[1]}]"


def values_of(parent: dict[str, Any], el: PElement) -> list[Value]:
    """Every value of a child element, a primitive's extension-only twin included."""
    name = el.name
    if el.choice:
        out: list[Value] = []
        stem = name[:-3]
        size = len(stem)
        for key, value in parent.items():
            bare = key[1:] if key[0] == "_" else key
            if not (bare.startswith(stem) and len(bare) > size and bare[size].isupper()):
                continue
            if bare is not key and bare in parent:
                continue  # the value itself is listed
            out.append((key, None, value, type_name(bare[size:]), bare is not key))
        return out
    value = parent.get(name)
    twin = parent.get(el.twin)
    if twin is None:
        if value is None:
            return []
        if isinstance(value, list):
            return [(name, i, v, el.type_code, False) for i, v in enumerate(value) if v is not None]
        return [(name, None, value, el.type_code, False)]
    if isinstance(value, list) or isinstance(twin, list):
        values = value if isinstance(value, list) else []
        twins = twin if isinstance(twin, list) else []
        out = []
        for i in range(max(len(values), len(twins))):
            item = values[i] if i < len(values) else None
            if item is not None:
                out.append((name, i, item, el.type_code, False))
            elif i < len(twins) and isinstance(twins[i], dict):
                out.append((el.twin, i, twins[i], el.type_code, True))
        return out
    if value is not None:
        return [(name, None, value, el.type_code, False)]
    return [(el.twin, None, twin, el.type_code, True)] if isinstance(twin, dict) else []


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
