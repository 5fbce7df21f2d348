"""The schema layer's fast path: the R4 JSON schema compiled by jsonschema-rs.

It gives a verdict, not findings: :func:`valid` says whether a resource (a Bundle and
everything in it included) meets the schema.  When it does not, or when the verdict
cannot be had, the schema layer runs python jsonschema, whose errors it words and
places; so the findings are the same either way.  For that the compiled schema may be
stricter than the python one, never looser:

* the same three corrections (:func:`schema_layer._fix_errata`), and the patterns with
  the meaning Python gives them under ``(?a)``: ``\\s`` is ASCII whitespace only (Rust's
  is Unicode), and ``$`` also matches before a final newline, as Python's does;
* stricter: every definition with properties requires an object (the published schema
  lets an array stand where one object is expected) and ``xhtml`` a string (it allows
  anything);
* nested resources (``ResourceList``: entries, contained, outcomes, parameters) are sent
  on ``resourceType`` to their own definition, among the types the document holds; one
  without a ``resourceType`` string is refused (python jsonschema accepts it, and the
  python run then says what it says).

Each document is checked in one call into Rust; the validators are compiled once per
set of resource types, from the definitions those types reach.
"""

from __future__ import annotations

import copy
from functools import cache, lru_cache
from typing import Any

from fhirconv.validation import definitions

ASCII_SPACE = " \\t\\n\\r\\x0c\\x0b"  # what \s is in Python's ASCII mode (and in XML Schema, less \f \v)
_REF = "#/definitions/"


class Untranslatable(ValueError):
    """A schema pattern that uses regex syntax the translation does not handle."""


def rust_pattern(pattern: str) -> str:
    """A Python ``(?a)`` regex as jsonschema-rs (ECMA-262 syntax, Rust semantics) reads it the same."""
    source = pattern.removeprefix("(?a)")
    out: list[str] = []
    i = 0
    while i < len(source):
        c = source[i]
        if c == "\\":
            out.append(_escape(source, i, in_class=False))
            i += 2
        elif c == "[":
            end, text = _char_class(source, i)
            out.append(text)
            i = end
        elif c == "$":
            out.append("\\n?$")
            i += 1
        elif c == ".":
            raise Untranslatable(pattern)  # Python's and Rust's dots differ on line ends
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _escape(source: str, i: int, *, in_class: bool) -> str:
    if i + 1 >= len(source):
        raise Untranslatable(source)
    name = source[i + 1]
    if name == "s":
        return ASCII_SPACE if in_class else f"[{ASCII_SPACE}]"
    if name == "S" and not in_class:
        return f"[^{ASCII_SPACE}]"
    if name.isalnum() and name not in "rnt":
        raise Untranslatable(source)  # \d, \w, \b, \S in a class ...: not met in the R4 schema
    return source[i : i + 2]


def _char_class(source: str, start: int) -> tuple[int, str]:
    """The class at ``start`` as (index after it, its translation)."""
    i = start + 1
    negated = source[i : i + 1] == "^"
    if negated:
        i += 1
    members: list[str] = []
    non_space = False
    while i < len(source) and source[i] != "]":
        if source[i] == "\\":
            if source[i + 1 : i + 2] == "S" and not negated:
                non_space = True
            else:
                members.append(_escape(source, i, in_class=True))
            i += 2
        elif source[i] == "[":
            raise Untranslatable(source)
        else:
            members.append(source[i])
            i += 1
    if i >= len(source):
        raise Untranslatable(source)
    body = "".join(members)
    if not non_space:
        return i + 1, f"[{'^' if negated else ''}{body}]"
    # [ \r\n\t\S]: a class cannot hold a negated class in ECMA syntax; say it as an alternation.
    return i + 1, f"(?:[{body}]|[^{ASCII_SPACE}])" if body else f"[^{ASCII_SPACE}]"


@cache
def _raw() -> dict[str, Any]:
    defs: dict[str, Any] = definitions.json_schema()["definitions"]
    return defs


@cache
def _refs(name: str) -> frozenset[str]:
    """The definitions one definition names."""
    found: set[str] = set()
    stack: list[Any] = [_raw()[name]]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF):
                found.add(ref[len(_REF) :])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    found.discard("ResourceList")
    return frozenset(found)


def _reach(types: frozenset[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(types)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(_refs(name))
    return seen


@cache
def _holders() -> dict[str, tuple[tuple[str, str | None], ...]]:
    """Per definition, the properties that lead to nested resources: (property, definition
    to go on in, or None where the property holds resources itself)."""
    direct: dict[str, list[tuple[str, str | None]]] = {}
    links: dict[str, list[tuple[str, str]]] = {}
    for name, body in _raw().items():
        props = body.get("properties") if isinstance(body, dict) else None
        for key, prop in (props or {}).items():
            ref = prop.get("$ref") or (prop.get("items") or {}).get("$ref")
            if not isinstance(ref, str) or not ref.startswith(_REF):
                continue
            target = ref[len(_REF) :]
            if target == "ResourceList":
                direct.setdefault(name, []).append((key, None))
            else:
                links.setdefault(name, []).append((key, target))
    leads = set(direct)
    changed = True
    while changed:
        changed = False
        for name, pairs in links.items():
            if name not in leads and any(target in leads for _, target in pairs):
                leads.add(name)
                changed = True
    out: dict[str, tuple[tuple[str, str | None], ...]] = {}
    for name in leads:
        pairs_out: list[tuple[str, str | None]] = list(direct.get(name, []))
        pairs_out += [(key, target) for key, target in links.get(name, []) if target in leads]
        out[name] = tuple(pairs_out)
    return out


@cache
def _is_array(name: str, key: str) -> bool:
    prop = ((_raw().get(name) or {}).get("properties") or {}).get(key) or {}
    return "items" in prop


def untyped_resources(resource: dict[str, Any], path: str) -> list[tuple[str, Any]]:
    """(location, value) of every place the schema puts a nested resource whose value is not
    an object with a ``resourceType`` string: the python schema run checks nested resources
    by their type, so without one nothing would be said of them."""
    holders = _holders()
    known = definitions.resource_types()
    found: list[tuple[str, Any]] = []
    stack: list[tuple[Any, str | None, str]] = [(resource, resource.get("resourceType"), path)]
    while stack:
        node, name, here = stack.pop()
        if not isinstance(node, dict) or not isinstance(name, str):
            continue
        for key, target in holders.get(name, ()):
            value = node.get(key)
            if value is None:
                continue
            many = _is_array(name, key)
            if many and not isinstance(value, list):
                continue  # the schema's type error says it
            items = enumerate(value) if many else [(None, value)]
            for index, item in items:
                where = f"{here}.{key}" + (f"[{index}]" if index is not None else "")
                if target is not None:
                    stack.append((item, target, where))
                elif isinstance(item, dict) and isinstance(item.get("resourceType"), str):
                    if item["resourceType"] in known:
                        stack.append((item, item["resourceType"], where))
                elif not isinstance(item, dict) or item:  # {}: the JSON layer's empty-object error says it
                    found.append((where, item))
    return sorted(found, key=lambda pair: pair[0])


def resource_types(resource: dict[str, Any]) -> frozenset[str] | None:
    """The resource types of a document (its own and every nested one), found where the
    schema allows nested resources; None when a nested resource has no type to go by."""
    holders = _holders()
    known = definitions.resource_types()
    found: set[str] = set()
    # (node, its definition, or None for a node where the schema puts a resource).
    # A loop, not nested functions: closures that call each other are cyclic garbage.
    stack: list[tuple[Any, str | None]] = [(resource, None)]
    while stack:
        node, name = stack.pop()
        if not isinstance(node, dict):
            continue
        if name is None:
            name = node.get("resourceType")
            if not isinstance(name, str) or name not in known:
                return None
            found.add(name)
        for key, target in holders.get(name, ()):
            value = node.get(key)
            if value is None:
                continue
            for item in value if isinstance(value, list) else (value,):
                stack.append((item, target))
    return frozenset(found) if found else None


@cache
def _definition(name: str) -> dict[str, Any]:
    """One definition as the compiled schema has it (see the module's description)."""
    from fhirconv.validation.schema_layer import _fix_errata, _strip_descriptions

    one = {name: _strip_descriptions(copy.deepcopy(_raw()[name]))}
    _fix_errata(one)  # adds _canonical twins, 4.0.1, and the (?a) that rust_pattern reads
    body: dict[str, Any] = one[name]
    stack: list[Any] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                node["pattern"] = rust_pattern(node["pattern"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    if "properties" in body:
        body["type"] = "object"
    if name == "xhtml":
        body["type"] = "string"
    return body


@lru_cache(maxsize=64)
def validator(types: frozenset[str]) -> Any:
    """A validator of documents whose resources are of these types (compiled once per set)."""
    import jsonschema_rs

    ordered = sorted(types)
    defs = {name: _definition(name) for name in sorted(_reach(types))}
    defs["ResourceList"] = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"enum": ordered}},
        "allOf": [
            {"if": {"properties": {"resourceType": {"const": t}}}, "then": {"$ref": f"{_REF}{t}"}}
            for t in ordered
        ],
    }
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": defs,
        "$ref": f"{_REF}ResourceList",
    }
    return jsonschema_rs.Draft7Validator(schema, pattern_options=jsonschema_rs.RegexOptions())


def valid(resource: dict[str, Any]) -> bool:
    """True when the resource certainly meets the schema as the schema layer applies it;
    False when it may not (the python run then decides and words the findings)."""
    types = resource_types(resource)
    if types is None:
        return False
    try:
        return bool(validator(types).is_valid(resource))
    # Values Rust's JSON cannot hold (lone surrogates, numbers past its range, non-JSON
    # Python objects) raise here: the python run handles them.
    except (ValueError, TypeError, OverflowError):
        return False
