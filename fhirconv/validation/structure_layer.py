"""Layer 3: structure and types through the fhir.resources R4B pydantic models.

fhir.resources no longer ships R4 models, and R4B differs from R4 in places
(elements renamed or removed, cardinalities, 18 resource types dropped).  Where
they differ R4 wins: every R4B complaint is checked against the R4 core
definitions and dropped when R4 allows what R4B rejects.

The models run only when the walk finds something they could object to
(:mod:`.structure_fast`): on a document without such a thing their verdict is known.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from fhirconv.validation import definitions, fastpaths, schema_compiled, structure_fast
from fhirconv.validation.elements import PRIMITIVES, Child, resolve
from fhirconv.validation.issues import Issue, Layer, error, information
from fhirconv.validation.paths import iter_resources, join
from fhirconv.validation.walker import Walk


@cache
def _model(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return None


def check(
    resource: dict[str, Any],
    path: str,
    walk: Callable[[], Walk] | None = None,
    valid: Callable[[], bool] | None = None,
) -> list[Issue]:
    """The R4B models' findings; ``walk`` gives the shared walk and ``valid`` the compiled
    schema's verdict, for the fast path."""
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or rtype not in definitions.resource_types():
        return []  # the schema layer has said so already
    if (
        walk is not None
        and fastpaths.enabled()
        and (valid() if valid is not None else schema_compiled.valid(resource))
        and structure_fast.clean(walk())
    ):
        return []
    from pydantic import ValidationError

    r4b_only_gaps = [
        (where, res)
        for where, res in iter_resources(resource, path)
        if _model(str(res.get("resourceType"))) is None
    ]
    if r4b_only_gaps:
        # R4B cannot hold these R4 resource types at all; check everything else one by one.
        issues = [
            information(
                Layer.STRUCTURE,
                where,
                f"{res.get('resourceType')} is an R4 resource type that the R4B "
                "models do not have; its structure was checked by the JSON schema only",
                "structure-not-checked",
            )
            for where, res in r4b_only_gaps
        ]
        skip = {id(res) for _, res in r4b_only_gaps}
        for where, res in iter_resources(resource, path):
            if id(res) in skip or any(where.startswith(w + ".") for w, _ in r4b_only_gaps):
                continue
            issues.extend(_check_one(_without_nested(res), where, ValidationError))
        return issues
    return _check_one(resource, path, ValidationError)


def _without_nested(resource: dict[str, Any]) -> dict[str, Any]:
    # The caller visits nested resources on their own: keep them out of this pass.
    out = dict(resource)
    out.pop("contained", None)
    if resource.get("resourceType") == "Bundle" and isinstance(resource.get("entry"), list):
        out["entry"] = [
            {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
            for e in resource["entry"]
        ]
    return out


def _check_one(resource: dict[str, Any], path: str, validation_error: type[Exception]) -> list[Issue]:
    model = _model(str(resource["resourceType"]))
    if model is None:
        return []
    try:
        model.model_validate(resource)
    except validation_error as err:
        return _translate(resource, path, err.errors())  # type: ignore[attr-defined]
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        # AttributeError: the models' own checks of a value of another JSON type (a url that is a
        # number); the JSON schema reports the type.
        return [
            information(
                Layer.STRUCTURE,
                path,
                f"the R4B models could not read this resource ({err}); "
                "its structure was checked by the JSON schema only",
                "structure-not-checked",
            )
        ]
    return []


_RULES = {
    "extra_forbidden": "structure-unknown-element",
    "missing": "structure-required",
    "model_field_validation.missing": "structure-required",
}
_MESSAGES = {
    "extra_forbidden": "unknown element",
    "missing": "required element is missing",
    "model_field_validation.missing": "required element is missing",
}


def _translate(resource: dict[str, Any], path: str, errors: list[dict[str, Any]]) -> list[Issue]:
    issues: list[Issue] = []
    for err in errors:
        loc = [p[:-5] if isinstance(p, str) and p.endswith("__ext") else p for p in err["loc"]]
        while loc and loc[-1] in ("root", "__root__"):
            loc.pop()  # pydantic's name for the model itself, not a FHIR element
        owner_type, owner_parts = _owner(resource, loc)
        kind = err["type"]
        if kind == "base64_decode":
            continue  # the data-type check says it in FHIR's words (datatypes.check_base64)
        if kind == "value_error" and "Expect any of field value from this list" in str(err["msg"]):
            continue  # a required choice: datatypes.check_required_choices says it, whatever else fails
        element = resolve(owner_type, owner_parts)
        if element is True:
            continue  # inside something R4 definitions do not describe here
        if kind == "extra_forbidden" and element is not None:
            continue  # an R4 element that R4B renamed or removed
        if kind.endswith("missing") and element is None:
            continue  # R4B requires an element that R4 does not have at all
        if kind.endswith("missing") and isinstance(element, tuple) and element.element.get("min", 0) == 0:
            continue  # optional in R4
        if isinstance(element, tuple) and _r4_accepts(element.type, err.get("input")):
            continue  # a primitive R4's own pattern accepts, whatever R4B's regex says
        message = _MESSAGES.get(kind) or str(err["msg"]).removeprefix("Value error, ")
        value = err.get("input")
        expected = _expected(kind, element, str(err["msg"]))
        if expected is not None:
            message = f"expected {expected}, found {_json_kind(value)}"
            rule = "structure-type"
            issues.append(error(Layer.STRUCTURE, join(path, loc), message, rule))
            continue
        if kind not in _MESSAGES and isinstance(value, str | int | float | bool):
            message = f"{message} (found {value!r})"
        rule = _RULES.get(kind) or "structure-" + kind.replace("_", "-").replace(".", "-")
        choice = _CHOICE.search(str(err["msg"]))
        if choice is not None and isinstance(value, dict):
            keys = [k for k in ast.literal_eval(choice.group(1)) if k in value]
            stem = _common_stem(keys)
            message = f"{stem}[x] may have one value, found {len(keys)}: {', '.join(keys)}"
            rule = "structure-choice"
        issues.append(error(Layer.STRUCTURE, join(path, loc), message, rule))
    return issues


_JSON_TYPES = {
    "list_type": "an array (the element repeats)",
    "string_type": "a string",
    "bool_type": "a boolean",
    "int_type": "an integer",
    "float_type": "a number",
    "decimal_type": "a number",
    "dict_type": "an object",
    "model_type": "an object",
}


def _expected(kind: str, element: Child | bool | None, message: str) -> str | None:
    """What JSON the element needs, when pydantic's complaint is about the JSON kind of a value."""
    type_code = element.type if isinstance(element, Child) else ""
    if kind in _JSON_TYPES:
        return _JSON_TYPES[kind]
    if kind == "json_invalid" or (kind == "model_validation_format" and "but got type <class" in message):
        return f"an object ({type_code})" if type_code else "an object"
    if kind in ("date_type", "datetime_type", "time_type") and type_code:
        return f"a string ({type_code})"
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"a string ({value!r})" if len(value) <= 40 else "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


_CHOICE = re.compile(r"Any of one field value is expected from this list (\[.*?\]), but got multiple")


def _common_stem(keys: list[str]) -> str:
    stem = keys[0] if keys else ""
    for key in keys[1:]:
        while not key.startswith(stem):
            stem = stem[:-1]
    # valueBoolean + valueString share "value"; stop at the last lower-case letter.
    while stem and stem[-1].isupper():
        stem = stem[:-1]
    return stem


def _r4_accepts(type_code: str, value: Any) -> bool:
    """Whether a string value matches the R4 JSON schema's pattern for its primitive type."""
    if not isinstance(value, str) or type_code not in PRIMITIVES:
        return False
    pattern = _r4_patterns().get(type_code)
    return pattern is not None and pattern.fullmatch(value) is not None


@cache
def _r4_patterns() -> dict[str, re.Pattern[str]]:
    schema = definitions.json_schema()["definitions"]
    return {
        name: re.compile(body["pattern"], re.ASCII)  # XML Schema's \s, as in schema_layer
        for name, body in schema.items()
        if name in PRIMITIVES and isinstance(body, dict) and "pattern" in body
    }


def _owner(resource: dict[str, Any], loc: list[Any]) -> tuple[str, list[Any]]:
    """The innermost resource on a location, and the rest of the location below it."""
    owner = str(resource.get("resourceType"))
    node: Any = resource
    start = 0
    for index, part in enumerate(loc):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("resourceType"), str) and index + 1 < len(loc):
            owner, start = node["resourceType"], index + 1
    return owner, loc[start:]
