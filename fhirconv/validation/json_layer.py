"""Layer 1: the bytes are UTF-8 JSON and follow FHIR's JSON rules.

FHIR JSON forbids what plain JSON allows: duplicate keys, empty objects and
arrays, ``null`` outside the arrays that pair primitives with their extensions
(``"given": ["a", null]`` / ``"_given": [null, {...}]``), and a root without
``resourceType``.  The reference reader is the stdlib parser, because only an
``object_pairs_hook`` sees duplicate keys before they are collapsed and its errors
carry line and column; :func:`load` reads with orjson first and turns to it only
when something may be wrong.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from fhirconv.depth import MAX_DEPTH, deeper_than
from fhirconv.validation import fastpaths
from fhirconv.validation.issues import Issue, Layer, error, warning

_BOM = "\ufeff"


class JsonSyntaxError(Exception):
    """Input that is not JSON at all: carries the place for the one-line message."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def located(self, name: str) -> str:
        """``NAME:LINE:COLUMN: not valid JSON: WHY``, the form the other commands' messages take."""
        why = re.sub(r"^(invalid|unreadable) JSON( at line \d+, column \d+)?: ", "", self.message)
        return f"{name}:{self.line}:{self.column}: not valid JSON: {why}"


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
        issues.append(_bom_warning())
    return text, issues


def _bom_warning() -> Issue:
    return warning(
        Layer.JSON,
        "(document)",
        "byte order mark before the JSON; FHIR JSON should not have one",
        "json-bom",
    )


# Python refuses to convert integers longer than this (CVE-2020-10735); FHIR integers are 32-bit
# and no decimal in medicine comes near it.
MAX_DIGITS = 4300
_LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")
# A surrogate left alone by the parser: JSON's \ud800 escapes allow it, Unicode has no such
# character, and UTF-8 cannot write it (Python's UTF-8 decoding never produces one).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate(text: str, where: str) -> Issue | None:
    found = _LONE_SURROGATE.search(text) if not text.isascii() else None
    if found is None:
        return None
    return error(
        Layer.JSON,
        where,
        f"lone UTF-16 surrogate U+{ord(found.group()):04X} at character {found.start() + 1}: "
        "not a Unicode character, so not FHIR text",
        "json-surrogate",
    )


def parse(text: str) -> tuple[Any, dict[int, list[str]]]:
    """Parse text; return the value and, by ``id()`` of each object, its duplicated keys.

    :class:`JsonSyntaxError` (with the place) for what cannot be read: broken JSON, NaN and
    Infinity, a number of more than 4300 digits or beyond the range of a double, nesting
    deeper than :data:`MAX_DEPTH`.  This is the one JSON reader: validate and import share it.
    """
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

    def number(literal: str) -> float:
        value = float(literal)
        if math.isinf(value):  # 1e999: JSON allows it, a double cannot hold it
            raise _TooLarge(literal, "is beyond the range of a number")
        return value

    try:
        value = json.loads(text, object_pairs_hook=hook, parse_constant=constant, parse_float=number)
    except _NotJson as err:
        line, column = _line_col(text, max(text.find(err.name), 0))
        raise JsonSyntaxError(
            f"invalid JSON at line {line}, column {column}: {err.name} is not a JSON value", line, column
        ) from None
    except _TooLarge as err:
        shown = err.literal if len(err.literal) <= 20 else err.literal[:17] + "..."
        raise _too_large(text, text.find(err.literal), f"the number {shown} {err.why}") from None
    except json.JSONDecodeError as err:
        raise JsonSyntaxError(
            f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}", err.lineno, err.colno
        ) from None
    except RecursionError:
        raise _too_deep(text) from None
    except ValueError:
        # Only int() raises a bare ValueError here: a number with more than MAX_DIGITS digits.
        found = _LONG_NUMBER.search(text)
        digits = len(found.group()) if found else MAX_DIGITS + 1
        where = found.start() if found else 0
        what = f"a number of {digits} digits (fhirconv reads at most {MAX_DIGITS})"
        raise _too_large(text, where, what) from None
    if deeper_than(value):
        raise _too_deep(text)
    return value, duplicates


class _TooLarge(Exception):
    def __init__(self, literal: str, why: str) -> None:
        super().__init__(literal)
        self.literal = literal
        self.why = why


def _too_large(text: str, position: int, what: str) -> JsonSyntaxError:
    line, column = _line_col(text, max(position, 0))
    return JsonSyntaxError(f"unreadable JSON at line {line}, column {column}: {what}", line, column)


# A JSON string (skipped whole, so brackets inside it do not count) or a bracket.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _too_deep(text: str) -> JsonSyntaxError:
    """The error for nesting past :data:`MAX_DEPTH`, at the bracket that opens one level too many."""
    depth, position = 0, 0
    for match in _STRING_OR_BRACKET.finditer(text):
        bracket = match.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                position = match.start()
                break
        elif bracket in "]}":
            depth -= 1
    line, column = _line_col(text, position)
    return JsonSyntaxError(
        f"invalid JSON at line {line}, column {column}: nested more than {MAX_DEPTH} levels deep "
        "(FHIR needs a few dozen)",
        line,
        column,
    )


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
        if not key.isascii() and (bad := _surrogate(key, here)):
            issues.append(bad)
        if isinstance(item, str):
            if bad := _surrogate(item, here):
                issues.append(bad)
        elif isinstance(item, dict):
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
                if isinstance(element, str):
                    if bad := _surrogate(element, at):
                        issues.append(bad)
                elif isinstance(element, dict):
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


# --- the fast path: orjson, then the reference parser only when something is wrong --------

_BOM_BYTES = _BOM.encode()
# A float this large may be an integer literal past 64 bits, which orjson reads as a float
# and Python as an int: such a document goes to the reference parser.
_INT_RANGE = float(2**63)


def load(data: bytes) -> tuple[Any, list[Issue]]:
    """Bytes to a value and the JSON layer's issues: :func:`decode`, :func:`parse` and
    :func:`check_tree` in one, with the same results and the same :class:`JsonSyntaxError`.

    orjson reads the document first; the positional parser runs only when orjson refuses
    it (every syntax error is worded and placed by the reference parser), when the
    document may hold a duplicate key, nests deeper than :data:`MAX_DEPTH`, or holds a
    number orjson and Python read differently.  The FHIR JSON rules are checked by the
    path-building walk only when a quick survey finds something they could report.
    """
    if fastpaths.enabled():
        fast = _fast_load(data)
        if fast is not None:
            return fast
    text, issues = decode(data)
    value, duplicates = parse(text)
    issues.extend(check_tree(value, duplicates))
    return value, issues


def _fast_load(data: bytes) -> tuple[Any, list[Issue]] | None:
    import orjson

    bom = data.startswith(_BOM_BYTES)
    try:
        value = orjson.loads(memoryview(data)[3:] if bom else data)
    except orjson.JSONDecodeError:
        return None
    rtype = value.get("resourceType") if isinstance(value, dict) else None
    if not isinstance(rtype, str) or not rtype:
        return None  # the reference run words what is wrong with the root
    keys, depth, clean = _survey(value, 1)
    # Every key ends in '":' (no space before the colon is what every writer does; a
    # document written otherwise, or with '":' inside strings, counts differently and
    # goes to the reference parser). Equal counts mean no key was given twice.
    if clean is None or depth > MAX_DEPTH or keys != data.count(b'":'):
        return None
    issues = [_bom_warning()] if bom else []
    if not clean:
        issues.extend(check_tree(value, {}))
    return value, issues


def _survey(root: dict[str, Any], depth: int) -> tuple[int, int, bool | None]:
    """(keys, deepest level, clean) of an object: clean is False when the FHIR JSON rules
    may have something to say (an empty object or array, a null), None when the reference
    parser must decide (a number orjson may have read differently, an array in an array).

    A loop over a stack, not recursion: a call per object cost as much as the survey."""
    keys = 0
    deepest = depth
    clean: bool | None = True
    stack = [(root, depth)]
    while stack:
        node, level = stack.pop()
        keys += len(node)
        if level > deepest:
            deepest = level
        if not node:
            clean = False
        for value in node.values():
            kind = type(value)
            if kind is dict:
                stack.append((value, level + 1))
            elif kind is list:
                if level + 1 > deepest:
                    deepest = level + 1
                if not value:
                    clean = False
                for item in value:
                    item_kind = type(item)
                    if item_kind is dict:
                        stack.append((item, level + 2))
                    elif item_kind is float:
                        if abs(item) >= _INT_RANGE:
                            return 0, 0, None
                    elif item_kind is list:
                        return 0, 0, None  # an array in an array: never FHIR; the reference judges it
                    elif item is None:
                        clean = False
            elif kind is float:
                if abs(value) >= _INT_RANGE:
                    return 0, 0, None
            elif value is None:
                clean = False
    return keys, deepest, clean
