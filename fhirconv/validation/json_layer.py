"""Layer 1: the bytes are UTF-8 JSON and follow FHIR's JSON rules.

FHIR JSON forbids what plain JSON allows: duplicate keys, empty objects and
arrays, ``null`` outside the arrays that pair primitives with their extensions
(``"given": ["a", null]`` / ``"_given": [null, {...}]``), and a root without
``resourceType``.  The stdlib parser is used rather than orjson because only an
``object_pairs_hook`` sees duplicate keys before they are collapsed.
"""

from __future__ import annotations

import json
from typing import Any

from fhirconv.validation.issues import Issue, Layer, error, warning

_BOM = "\ufeff"


class JsonSyntaxError(Exception):
    """Input that is not JSON at all: carries the place for the one-line message."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class _NotJson(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, column


def decode(data: bytes) -> tuple[str, list[Issue]]:
    """UTF-8 text, or :class:`JsonSyntaxError` naming the line and column of the bad byte."""
    issues: list[Issue] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        prefix = data[: err.start].decode("utf-8", errors="replace")
        line, column = _line_col(prefix, len(prefix))
        raise JsonSyntaxError(
            f"not UTF-8: byte 0x{data[err.start]:02x} at line {line}, column {column}", line, column
        ) from None
    if text.startswith(_BOM):
        text = text[1:]
        issues.append(
            warning(
                Layer.JSON,
                "(document)",
                "byte order mark before the JSON; FHIR JSON should not have one",
                "json-bom",
            )
        )
    return text, issues


def parse(text: str) -> tuple[Any, dict[int, list[str]]]:
    """Parse text; return the value and, by ``id()`` of each object, its duplicated keys."""
    duplicates: dict[int, list[str]] = {}

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            dup = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
            duplicates[id(obj)] = dup
        return obj

    def constant(name: str) -> Any:
        # NaN and Infinity are JavaScript, not JSON; Python's parser would accept them.
        raise _NotJson(name)

    try:
        value = json.loads(text, object_pairs_hook=hook, parse_constant=constant)
    except _NotJson as err:
        line, column = _line_col(text, max(text.find(err.name), 0))
        raise JsonSyntaxError(
            f"invalid JSON at line {line}, column {column}: {err.name} is not a JSON value", line, column
        ) from None
    except json.JSONDecodeError as err:
        raise JsonSyntaxError(
            f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}", err.lineno, err.colno
        ) from None
    except RecursionError:
        raise JsonSyntaxError("invalid JSON: nested too deeply", 1, 1) from None
    return value, duplicates


def check_tree(value: Any, duplicates: dict[int, list[str]]) -> list[Issue]:
    """FHIR JSON rules on a parsed document; locations are FHIRPaths from the root resource."""
    issues: list[Issue] = []
    if not isinstance(value, dict):
        kind = type(value).__name__ if value is not None else "null"
        issues.append(
            error(
                Layer.JSON,
                "(document)",
                f"expected a JSON object with resourceType, found {_json_kind(kind)}",
                "json-root",
            )
        )
        return issues
    rtype = value.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        issues.append(
            error(Layer.JSON, "(document)", "the JSON object has no resourceType", "json-resource-type")
        )
        rtype = "(document)"
    _walk(value, rtype, duplicates, issues)
    return issues


def _json_kind(name: str) -> str:
    return {
        "list": "an array",
        "str": "a string",
        "int": "a number",
        "float": "a number",
        "bool": "a boolean",
    }.get(name, name)


def _walk(obj: dict[str, Any], path: str, duplicates: dict[int, list[str]], issues: list[Issue]) -> None:
    if not obj:
        issues.append(
            error(
                Layer.JSON,
                path,
                "empty object; FHIR JSON leaves out elements without content",
                "json-empty-object",
            )
        )
        return
    if duplicates:
        dup = duplicates.get(id(obj))
        if dup:
            for key in dup:
                issues.append(
                    error(Layer.JSON, f"{path}.{key}", f"duplicate key '{key}'", "json-duplicate-key")
                )
    for key, item in obj.items():
        here = f"{path}.{key}"
        if isinstance(item, dict):
            _walk(item, here, duplicates, issues)
        elif isinstance(item, list):
            if not item:
                issues.append(
                    error(
                        Layer.JSON,
                        here,
                        "empty array; FHIR JSON leaves out elements without content",
                        "json-empty-array",
                    )
                )
                continue
            # A null in an array is allowed only where it keeps a primitive array aligned
            # with its '_name' twin, and only when the twin has something at that index.
            twin_key = key[1:] if key.startswith("_") else "_" + key
            twin = obj.get(twin_key)
            for index, element in enumerate(item):
                at = f"{here}[{index}]"
                if isinstance(element, dict):
                    _walk(element, at, duplicates, issues)
                elif element is None:
                    if not (isinstance(twin, list) and index < len(twin) and twin[index] is not None):
                        issues.append(
                            error(
                                Layer.JSON,
                                at,
                                "null in an array is allowed only to align a primitive with its extensions",
                                "json-null",
                            )
                        )
                elif isinstance(element, list):
                    issues.append(error(Layer.JSON, at, "array inside an array", "json-nested-array"))
        elif item is None:
            issues.append(
                error(
                    Layer.JSON, here, "null value; FHIR JSON leaves out elements without content", "json-null"
                )
            )
