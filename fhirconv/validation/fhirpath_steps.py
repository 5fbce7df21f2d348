"""The steps of compiled FHIRPath (:mod:`.fhirpath_compiled`), each as fhirpathpy 2.2.4 takes it.

Items are the raw JSON: a tuple ``(data, path)`` is one of fhirpathpy's ResourceNodes
(``path`` its type path, e.g. ``Observation.component`` or ``CodeableConcept``);
anything else is a system value (a literal, a computed boolean, ``%resource``).
Each step follows fhirpathpy's code for it, its quirks included: a primitive and its
``_name`` twin are two items, a float is compared as a float (not as the Decimal
fhirpathpy makes of a literal), both sides of ``or`` are evaluated, ``is`` sets the type
model for every later call.  Where fhirpathpy would raise, or the data takes a shape
not followed here, a step raises :class:`Unsure`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

Items = list[Any]
# The variables of one evaluation: %resource, %rootResource, %context, %ucum.
Env = dict[str, Any]
# A compiled piece: (focus, $this, variables) -> items; $this is None where fhirpathpy has none.
Fn = Callable[[Items, Items | None, Env], Items]


class Unsure(Exception):
    """The data took a shape the compiled form does not follow: ask fhirpathpy."""


class NotCompiled(Exception):
    """The expression uses FHIRPath the compiler does not cover."""


@cache
def r4_model() -> dict[str, Any]:
    """fhirpathpy's R4 model (choice types, type paths, parents), read from its files: importing
    any part of fhirpathpy loads its ANTLR parser, which the compiled path does without."""
    import importlib.util

    import orjson

    spec = importlib.util.find_spec("fhirpathpy")  # finds the package without running it
    assert spec is not None and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations))) / "models" / "r4"
    return {path.stem: orjson.loads(path.read_bytes()) for path in sorted(folder.glob("*.json"))}


# fhirpathpy's TypeInfo.model: unset until an ``is`` runs, and from then on set for every
# later evaluation (the types of backbone elements and ofType() depend on it).  Kept here
# while fhirpathpy is not loaded; :func:`fhirconv.validation.fhirpath.evaluate` hands it on.
TYPE_MODEL = {"set": False}


def type_model_set() -> bool:
    if TYPE_MODEL["set"]:
        return True
    nodes = sys.modules.get("fhirpathpy.engine.nodes")
    return nodes is not None and bool(nodes.TypeInfo.model)


def data(item: Any) -> Any:
    return item[0] if type(item) is tuple else item


def node(data: Any, path: str | None) -> tuple[Any, str | None]:
    # ResourceNode: a resource's own type wins over the path it was reached by.
    if isinstance(data, dict) and "resourceType" in data:
        return (data, data["resourceType"])
    return (data, path)


def get_data(item: Any) -> Any:
    # fhirpathpy's util.get_data: floats become Decimals through their text.
    value = data(item)
    return Decimal(str(value)) if isinstance(value, float) else value


def some(value: Any) -> bool:
    return value is not None and not (isinstance(value, list) and not value)


def arraify(value: Any) -> Items:
    if isinstance(value, list):
        return value
    return [value] if some(value) else []


@cache
def _child_paths(path: str | None, key: str) -> tuple[str, tuple[str, ...] | None, str]:
    """(the child's path, its choice types if it is a choice, its type path)."""
    model = r4_model()
    child = f"{path}.{key}" if path else f"_.{key}"
    child = model["pathsDefinedElsewhere"].get(child, child)
    actual = model["choiceTypePaths"].get(child)
    return child, tuple(actual) if actual else None, model["path2Type"].get(child, child)


@cache
def _typed(path: str) -> str:
    return str(r4_model()["path2Type"].get(path, path))


def member(key: str) -> Fn:
    twin = "_" + key

    def run(focus: Items, this: Items | None, env: Env) -> Items:
        out: Items = []
        for item in focus:
            if type(item) is tuple:
                data, path = item
            else:
                data = item
                path = data.get("resourceType") if isinstance(data, dict) else None
            if not isinstance(data, dict):
                if key == "length":
                    raise Unsure  # fhirpathpy's len() of a non-object
                continue
            child, actual, typed = _child_paths(path, key)
            if actual:
                for suffix in actual:
                    field = key + suffix
                    to_add, to_add_ = data.get(field), data.get("_" + field)
                    if to_add is not None or to_add_ is not None:
                        typed = _typed(child + suffix)
                        break
            else:
                to_add, to_add_ = data.get(key), data.get(twin)
                if key == "extension":
                    typed = _typed("Extension")
            for found in (to_add, to_add_):
                if found is None:
                    continue
                if isinstance(found, list):
                    out.extend(node(x, typed) for x in found)
                else:
                    out.append(node(found, typed))
        return out

    return run


def _bool_operand(items: Items) -> Any:
    """An operand of and/or/xor/implies: empty, or one boolean (fhirpathpy raises otherwise)."""
    if not items:
        return []
    if len(items) > 1:
        raise Unsure
    value = get_data(items[0])
    if value is True or value is False:
        return value
    raise Unsure


def _and(a: Any, b: Any) -> Any:
    # fhirpathpy's and_op, on True, False or [] (empty).
    if isinstance(b, list):
        return False if a is False else []
    if isinstance(a, list):
        return [] if b is True else False
    return a and b


def _or(a: Any, b: Any) -> Any:
    if isinstance(b, list):
        return True if a is True else []
    if isinstance(a, list):
        return True if b is True else []
    return a or b


def _xor(a: Any, b: Any) -> Any:
    if isinstance(a, list) or isinstance(b, list):
        return []
    return (a and not b) or (not a and b)


def _implies(a: Any, b: Any) -> Any:
    if isinstance(b, list):
        return True if a is False else []
    if isinstance(a, list):
        return True if b is True else []
    return True if a is False else a and b


_LOGIC = {"and": _and, "or": _or, "xor": _xor, "implies": _implies}


def logic(op: str, left: Fn, right: Fn) -> Fn:
    fn = _LOGIC[op]

    def run(focus: Items, this: Items | None, env: Env) -> Items:
        # Both sides, always: fhirpathpy evaluates both before combining them.
        a = _bool_operand(left(focus, focus, env))
        b = _bool_operand(right(focus, focus, env))
        return arraify(fn(a, b))

    return run


def _is_quantity(item: Any) -> bool:
    return type(item) is tuple and item[1] in ("Quantity", "System.Quantity")


def equality(op: str, left: Fn, right: Fn) -> Fn:
    negate = op == "!="

    def run(focus: Items, this: Items | None, env: Env) -> Items:
        a, b = left(focus, focus, env), right(focus, focus, env)
        if not a or not b:
            return []
        if len(a) != len(b):
            return [negate]
        if _is_quantity(a[0]) or _is_quantity(b[0]):
            raise Unsure  # fhirpathpy compares Quantities as UCUM quantities
        return [(data(a[0]) == data(b[0])) is not negate]

    return run


def _dedupe_twin(items: Items) -> Items:
    # fhirpathpy's remove_duplicate_extension before comparing.
    if len(items) == 2 and type(items[1]) is tuple:
        try:
            if "extension" in items[1][0]:
                return items[:1]
        except TypeError:
            raise Unsure from None
    return items


def is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def inequality(op: str, left: Fn, right: Fn) -> Fn:
    import operator

    compare = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}[op]

    def run(focus: Items, this: Items | None, env: Env) -> Items:
        a, b = left(focus, focus, env), right(focus, focus, env)
        if not a or not b:
            return []
        a, b = _dedupe_twin(a), _dedupe_twin(b)
        if len(a) > 1 or len(b) > 1:
            raise Unsure
        x, y = get_data(a[0]), get_data(b[0])
        if x is None or y is None:
            raise Unsure
        if type(x) is not type(y) and not (is_number(x) and is_number(y)):
            raise Unsure  # fhirpathpy tries dates, then raises
        if not isinstance(x, str | int | Decimal):
            raise Unsure
        return [compare(x, y)]

    return run


def membership(op: str, left: Fn, right: Fn) -> Fn:
    def run(focus: Items, this: Items | None, env: Env) -> Items:
        a, b = left(focus, focus, env), right(focus, focus, env)
        if op == "in":
            collection, single = b, a
        else:
            collection, single = a, b
        if not single:
            return []
        if not collection:
            return [False]
        if len(single) > 1:
            raise Unsure
        wanted = data(single[0])
        return [any(data(x) == wanted for x in collection)]

    return run


TypeName = tuple[str, str | None]  # (name, namespace) as fhirpathpy's TypeInfo holds them


def _by_value(value: Any, namespace: str) -> TypeName:
    # fhirpathpy's TypeInfo.create_by_value_in_namespace (no FHIRPath date or quantity
    # objects ever reach the compiled path).
    name = type(value).__name__
    if isinstance(value, int) and not isinstance(value, bool):
        name = "integer"
    elif isinstance(value, float | Decimal):
        name = "decimal"
    elif isinstance(value, str):
        name = "string"
    elif isinstance(value, dict):
        name = "object"
    if name == "bool":
        name = "boolean"
    if namespace == "System":
        name = "DateTime" if name == "dateTime" else name.capitalize()
    return name, namespace


def type_info(item: Any) -> TypeName:
    """The type fhirpathpy's TypeInfo.from_value gives an item."""
    if type(item) is not tuple:
        return _by_value(item, "System")
    data, path = item
    if path is None:
        raise Unsure  # fhirpathpy fails on a node without a type
    if path.startswith("System."):
        return path[len("System.") :], "System"
    if "." not in path:
        return path, "FHIR"
    if not type_model_set():
        return _by_value(data, "FHIR")
    return "BackboneElement", "FHIR"


def is_of(found: TypeName, wanted: TypeName) -> bool:
    """fhirpathpy's TypeInfo.is_: through the model's parents once the model is set."""
    name, namespace = found
    wanted_name, wanted_namespace = wanted
    if namespace and wanted_namespace and namespace != wanted_namespace:
        return False
    if type_model_set() and (not namespace or namespace == "FHIR"):
        model = r4_model()
        current: str | None = name
        while current:
            if current == wanted_name:
                return True
            current = model["type2Parent"].get(current) or model["path2Type"].get(current)
        return False
    return name == wanted_name


def type_specifier(node: dict[str, Any]) -> TypeName:
    names = str(node["text"]).replace("`", "").split(".")
    if len(names) == 1:
        return names[0], None
    if len(names) == 2:
        return names[1], names[0]
    raise NotCompiled


def is_type(subject: Fn, type_node: dict[str, Any]) -> Fn:
    wanted = type_specifier(type_node)

    def run(focus: Items, this: Items | None, env: Env) -> Items:
        items = subject(focus, focus, env)
        # fhirpathpy's is() sets the type model, for every later evaluation too.
        TYPE_MODEL["set"] = True
        nodes = sys.modules.get("fhirpathpy.engine.nodes")
        if nodes is not None and not nodes.TypeInfo.model:
            nodes.TypeInfo.model = r4_model()
        if not items:
            return []
        if len(items) > 1:
            raise Unsure
        return [is_of(type_info(items[0]), wanted)]

    return run


def _string_singleton(items: Items) -> str:
    if len(items) == 1:
        value = get_data(items[0])
        if isinstance(value, str):
            return value
    raise Unsure


def where(focus: Items, criteria: Fn, env: Env) -> Items:
    out = []
    for item in focus:
        result = criteria([item], [item], env)
        if result and result[0]:
            out.append(item)
    return out


def _boolean_list(items: Items) -> list[bool]:
    values = [get_data(i) for i in items]
    if any(type(v) is not bool for v in values):
        raise Unsure
    return values


def _has_value(focus: Items) -> Items:
    if len(focus) != 1:
        return [False]
    value = get_data(focus[0])
    return [value is not None and not isinstance(value, dict | list)]


def _to_string(focus: Items) -> Items:
    return [str(get_data(focus[0]))] if len(focus) == 1 else []


def _not(focus: Items) -> Items:
    if len(focus) != 1:
        return []
    value = get_data(focus[0])
    return [not value] if isinstance(value, bool) else [False]


def _first(focus: Items) -> Items:
    return arraify(focus[0]) if focus else []


# Functions without parameters: name -> focus -> items.
PLAIN: dict[str, Callable[[Items], Items]] = {
    "exists": lambda f: [bool(f)],
    "empty": lambda f: [not f],
    "count": lambda f: [len(f)],
    "not": _not,
    "hasValue": _has_value,
    "toString": _to_string,
    "first": _first,
    "allTrue": lambda f: [all(_boolean_list(f))],
    "allFalse": lambda f: [not any(_boolean_list(f))],
    "anyTrue": lambda f: [any(_boolean_list(f))],
    "anyFalse": lambda f: [not all(_boolean_list(f))],
    "length": lambda f: [len(_string_singleton(f))] if f else [],
}


def string_function(name: str, argument: str) -> Callable[[Items], Items]:
    """A function of one string literal.  An empty focus gives empty (fhirpathpy's nullable input)."""
    if name == "extension":
        return lambda f: _extension(f, argument)
    if name == "startsWith":

        def starts(f: Items) -> Items:
            if not f:
                return []
            text = _string_singleton(f)
            return [bool(text) and text.startswith(argument)]

        return starts
    if name == "contains":
        return lambda f: [argument in _string_singleton(f)] if f else []
    if name == "matches":
        if not argument:
            return lambda f: []
        pattern = re.compile(argument, re.DOTALL)
        return lambda f: [pattern.search(_string_singleton(f)) is not None] if f else []
    raise NotCompiled


def _extension(focus: Items, url: str) -> Items:
    out: Items = []
    for item in focus:
        element = get_data(item)
        if not isinstance(element, dict):
            continue
        extensions = element.get("extension", [])
        if not isinstance(extensions, list) or not all(
            isinstance(e, dict) and "url" in e for e in extensions
        ):
            raise Unsure
        found = [e for e in extensions if e["url"] == url]
        if found:
            out.append(node(found[0], "Extension"))
    return out
