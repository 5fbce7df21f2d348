"""Layer 2: the official FHIR R4 JSON schema (HL7, draft-06) through ``jsonschema``.

A document goes first to the schema compiled by jsonschema-rs (:mod:`.schema_compiled`),
about a hundred times faster; only one it does not pass comes here, where python
jsonschema finds, words and places each fault.

The schema's root is a ``oneOf`` over 147 resource types and ``ResourceList``
(what Bundle entries and contained resources are) is the same ``oneOf``; letting
jsonschema try every branch costs ~40x more than validating each resource against
its own definition.  So ``ResourceList`` is replaced by an open schema and every
nested resource is validated on its own, at its own location.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from fhirconv.validation import definitions, fastpaths, schema_compiled
from fhirconv.validation.issues import Issue, Layer, error
from fhirconv.validation.paths import iter_resources, join


@cache
def _prepared() -> tuple[dict[str, Any], dict[int, str]]:
    schema = definitions.json_schema()
    defs: dict[str, Any] = {}
    for name, body in schema["definitions"].items():
        defs[name] = _strip_descriptions(body)
    defs["ResourceList"] = {}
    _fix_errata(defs)
    _inline_refs(defs)
    names = {id(body): name for name, body in defs.items()}
    return defs, names


def _fix_errata(defs: dict[str, Any]) -> None:
    """Two known faults of the published R4 schema, fixed so they cannot cry wolf.

    * FHIR's regexes are XML Schema regexes, where \\s is only space, tab, CR and LF;
      in Python's (and ECMAScript's) Unicode mode \\s also takes U+00A0, so the
      schema would reject a no-break space in a string or code.  ASCII mode (?a)
      gives the XML meaning.
    * The FHIRVersion enum stops at 4.0.0: the schema predates the 4.0.1 technical
      correction, yet 4.0.1 is the version of R4 (the official examples use it).
    * Elements of type canonical have no ``_name`` twin, so a canonical's extensions
      (``_baseDefinition``), legal in R4 JSON and used by the official examples, would
      be "unknown elements".
    """
    for body in defs.values():
        props = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict):
            continue
        for key, prop in list(props.items()):
            if key.startswith("_") or f"_{key}" in props or not isinstance(prop, dict):
                continue
            if prop.get("$ref") == "#/definitions/canonical":
                props[f"_{key}"] = {"$ref": "#/definitions/Element"}
            elif prop.get("items", {}).get("$ref") == "#/definitions/canonical":
                props[f"_{key}"] = {"items": {"$ref": "#/definitions/Element"}, "type": "array"}
    for body in _all_dicts(defs):
        if isinstance(body.get("pattern"), str) and not body["pattern"].startswith("(?a)"):
            body["pattern"] = "(?a)" + body["pattern"]
        values = body.get("enum")
        if isinstance(values, list) and "4.0.0" in values and "4.0.1" not in values:
            values.append("4.0.1")


def _all_dicts(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _inline_refs(defs: dict[str, Any]) -> None:
    """Replace every ``{"$ref": "#/definitions/X"}`` by the definition object itself.

    The schema becomes a graph (recursive types make cycles) that jsonschema walks
    only as deep as the instance goes; with no reference left to resolve, it runs
    about twice as fast.  The semantics are the schema's: a $ref in draft-06
    ignores its sibling keywords, which here are descriptions only.
    """

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                return defs[ref.rsplit("/", 1)[-1]]
            for key, value in node.items():
                node[key] = swap(value)
            return node
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    for body in defs.values():
        if isinstance(body, dict):
            for key, value in body.items():
                body[key] = swap(value)


def _strip_descriptions(node: Any, *, names: bool = False) -> Any:
    # Descriptions are a third of the schema and play no part in validation; under
    # "properties" the keys are element names, and "description" is one of them.
    if isinstance(node, dict):
        if names:
            return {k: _strip_descriptions(v) for k, v in node.items()}
        return {
            k: _strip_descriptions(v, names=k == "properties") for k, v in node.items() if k != "description"
        }
    if isinstance(node, list):
        return [_strip_descriptions(v) for v in node]
    return node


@cache
def _validator(resource_type: str) -> Any:
    from jsonschema import Draft6Validator

    defs, _ = _prepared()
    return Draft6Validator(defs[resource_type])


def check(resource: dict[str, Any], path: str, valid: Callable[[], bool] | None = None) -> list[Issue]:
    """The schema's findings; ``valid`` gives the compiled schema's verdict when the caller has it."""
    if fastpaths.enabled() and (valid() if valid is not None else schema_compiled.valid(resource)):
        return []
    issues: list[Issue] = []
    defs, _ = _prepared()
    for where, value in schema_compiled.untyped_resources(resource, path):
        needs = "a resource needs a resourceType string naming its type"
        if not isinstance(value, dict):
            what = f"expected a resource (an object), found {_kind(value)}"
        elif "resourceType" not in value:
            what = f"{needs}; it has none"
        else:
            what = f"{needs}; found {_kind(value['resourceType'])}"
        issues.append(error(Layer.SCHEMA, where, what, "schema-resource-type"))
    for where, res in iter_resources(resource, path):
        rtype = res.get("resourceType")
        if not isinstance(rtype, str) or rtype not in defs or rtype not in definitions.resource_types():
            issues.append(
                error(
                    Layer.SCHEMA,
                    where,
                    f"unknown resourceType '{rtype}' (not a FHIR R4 resource)",
                    "schema-resource-type",
                )
            )
            continue
        found: list[Issue] = []
        for err in _validator(rtype).iter_errors(res):
            found.extend(_translate(err, where))
        # A primitive of the wrong JSON type also fails its pattern: say only the first.
        typed = {i.location for i in found if i.rule == "schema-type"}
        issues.extend(i for i in found if not (i.location in typed and i.rule.startswith("schema-format-")))
    return issues


@cache
def _patterns() -> dict[str, list[str]]:
    defs, _ = _prepared()
    found: dict[str, list[str]] = {}
    for name, body in defs.items():
        if isinstance(body, dict) and "pattern" in body and name[:1].islower():
            found.setdefault(body["pattern"], []).append(name)
    return found


def _type_by_pattern(pattern: str, where: str) -> str:
    # Choice elements (effectiveDateTime) carry their primitive's pattern inline.
    names = _patterns().get(pattern, [])
    last = where.rsplit(".", 1)[-1].lower()
    for name in names:
        if last.endswith(name.lower()):
            return name
    return names[0] if names else "value"


_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _translate(err: Any, base: str) -> list[Issue]:
    """Turn one jsonschema error into FHIR wording at a FHIRPath location."""
    _, names = _prepared()
    where = join(base, err.absolute_path)
    validator = err.validator
    if validator == "additionalProperties":
        # From the instance, not the message: a key may be empty or hold a quote.
        known = err.schema.get("properties", {})
        extras = [key for key in err.instance if key not in known]
        return [
            error(Layer.SCHEMA, f"{where}.{key}", f"unknown element '{key}'", "schema-unknown-element")
            for key in extras
        ]
    if validator == "pattern":
        type_name = names.get(id(err.schema)) or _type_by_pattern(err.validator_value, where)
        return [
            error(
                Layer.SCHEMA,
                where,
                f"{_short(err.instance)} is not a valid {type_name}",
                f"schema-format-{type_name}",
            )
        ]
    if validator == "type":
        expected = err.validator_value
        wanted = " or ".join(
            _TYPE_NAMES.get(str(t), str(t)) for t in (expected if isinstance(expected, list) else [expected])
        )
        return [error(Layer.SCHEMA, where, f"expected {wanted}, found {_kind(err.instance)}", "schema-type")]
    if validator == "enum":
        allowed = ", ".join(str(v) for v in err.validator_value[:12])
        more = ", ..." if len(err.validator_value) > 12 else ""
        return [
            error(
                Layer.SCHEMA,
                where,
                f"{_short(err.instance)} is not one of the allowed codes ({allowed}{more})",
                "schema-enum",
            )
        ]
    if validator == "const":
        return [
            error(
                Layer.SCHEMA,
                where,
                f"expected {_short(err.validator_value)}, found {_short(err.instance)}",
                "schema-const",
            )
        ]
    if validator == "required":
        missing = re.findall(r"'([^']+)'", err.message)[:1] or ["?"]
        return [
            error(
                Layer.SCHEMA,
                f"{where}.{missing[0]}",
                f"required element '{missing[0]}' is missing",
                "schema-required",
            )
        ]
    if validator in ("minItems", "maxItems"):
        return [error(Layer.SCHEMA, where, err.message, f"schema-{validator}")]
    return [error(Layer.SCHEMA, where, err.message, f"schema-{validator}")]
