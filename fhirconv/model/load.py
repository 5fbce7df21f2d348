"""Reading case files (YAML or JSON) into the model, with errors that point at a line.

A case file error reads ``FILE:LINE: PATH: what was expected``, for instance
``case.yaml:14: primaries[0].diagnosis_date: expected a date as YYYY, YYYY-MM
or YYYY-MM-DD (got '16/08/2016')``.  Every problem the schema finds is reported at
once (up to :data:`MAX_SHOWN`), one line each, in file order, in plain words: allowed
values listed, near misses of field names, values and code keys answered with "did you
mean".  A key given twice is an error (neither YAML nor JSON parsers say so: the last
one would silently win).
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from fhirconv.depth import MAX_DEPTH, deeper_than
from fhirconv.errors import CaseFileError
from fhirconv.model.case import PATTERN_WORDS, STAGE_GROUP_PATTERN, TNM_PATTERNS, Case
from fhirconv.model.yamlread import DuplicateKey, PlainCaseLoader, load_yaml

# Problems listed before "... and N more": enough to fix a file in one go, not a flood.
MAX_SHOWN = 20

def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise DuplicateKey()
    return result


def parse_case_text(text: str, name: str, *, is_json: bool | None = None) -> Case:
    """Parse and validate the text of a case file; ``name`` is used in messages.

    ``is_json`` chooses the parser; by default a name ending in ``.json`` is JSON.
    """
    if is_json is None:
        is_json = name.endswith(".json")
    try:
        data = (
            json.loads(text, object_pairs_hook=_no_duplicates)
            if is_json
            else load_yaml(text)
        )
    except json.JSONDecodeError as err:
        raise CaseFileError(f"{name}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}") from None
    except yaml.YAMLError:
        plain = _plain_error(text)
        mark = getattr(plain, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1"
        problem = getattr(plain, "problem", None) or str(plain)
        raise CaseFileError(f"{name}:{where}: not valid YAML: {problem}") from None
    except DuplicateKey:
        raise CaseFileError(_duplicate_message(text, name)) from None
    except (ValueError, RecursionError) as err:
        raise CaseFileError(_unreadable(text, name, err, "JSON" if is_json else "YAML")) from None
    if not isinstance(data, dict):
        raise CaseFileError(f"{name}:1: a case file holds one mapping (id, title, report, patient, ...)")
    if deeper_than(data):
        # What reads a case (the model's checks, the messages) recurses: refused before it does.
        syntax = "JSON" if is_json else "YAML"
        raise CaseFileError(f"{name}: not valid {syntax}: nested more than {MAX_DEPTH} levels deep")
    try:
        return Case.model_validate(data)
    except ValidationError as err:
        raise CaseFileError(_problems(err.errors(), text, name)) from None


NESTED_TOO_DEEPLY = "nested too deeply to read"

# Python refuses to convert integers longer than this (CVE-2020-10735); no case needs one.
MAX_DIGITS = 4300
_LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


def _unreadable(text: str, name: str, err: ValueError | RecursionError, syntax: str) -> str:
    """What the parsers cannot read that is no syntax error: deep nesting, a huge number."""
    if isinstance(err, RecursionError):
        return f"{name}: not valid {syntax}: {NESTED_TOO_DEEPLY}"
    found = _LONG_NUMBER.search(text)
    if found is None:
        return f"{name}: not valid {syntax}: {err}"
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    digits = len(found.group())
    return f"{name}:{line}:{column}: not valid {syntax}: a number of {digits} digits (at most {MAX_DIGITS})"


def _plain_error(text: str) -> yaml.YAMLError:
    """The error the pure-Python parser reports, so that messages do not depend on libyaml."""
    try:
        yaml.load(text, Loader=PlainCaseLoader)
    except yaml.YAMLError as err:
        return err
    except RecursionError:  # libyaml refuses deep nesting; the Python parser recurses into it
        return yaml.YAMLError(NESTED_TOO_DEEPLY)
    return yaml.YAMLError("not valid YAML")


def load_case_file(path: Path) -> Case:
    return parse_case_text(read_case_file(path), str(path))


def read_case_file(path: Path) -> str:
    """The text of a case file, or a :class:`CaseFileError` naming why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise CaseFileError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise CaseFileError(f"{path}: cannot read: {err.strerror}") from None


# -- duplicate keys ---------------------------------------------------------------------------


def _duplicate_message(text: str, name: str) -> str:
    """``FILE:LINE: PATH: key given twice (first at line N)`` for the first key given twice."""
    try:
        root = yaml.compose(text, Loader=PlainCaseLoader)  # JSON is YAML enough for this
    except yaml.YAMLError:
        return f"{name}: a key is given twice in one mapping"
    found = _first_duplicate(root, "")
    if found is None:
        return f"{name}: a key is given twice in one mapping"
    path, line, first = found
    return f"{name}:{line}: {path}: given twice (first at line {first}); keep one"


def _first_duplicate(node: yaml.Node | None, path: str) -> tuple[str, int, int] | None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            here = f"{path}.{key.value}" if path else str(key.value)
            if key.value in seen:
                return here, key.start_mark.line + 1, seen[key.value]
            seen[key.value] = key.start_mark.line + 1
            found = _first_duplicate(value, here)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found = _first_duplicate(item, f"{path}[{i}]")
            if found:
                return found
    return None


# -- schema problems --------------------------------------------------------------------------


def _problems(errors: list[ErrorDetails], text: str, name: str) -> str:
    """One line per place, in file order; the first line alone when there is one problem."""
    root = _compose(text)
    lines: list[tuple[int, str]] = []
    seen: set[tuple[Any, ...]] = set()
    # Several required fields missing from one mapping make one line.
    missing: dict[tuple[Any, ...], list[str]] = {}
    for error in errors:
        loc = tuple(part for part in error["loc"] if not _is_validator_name(part))
        if error["type"] == "missing" and loc:
            missing.setdefault(loc[:-1], []).append(str(loc[-1]))
    for error in errors:
        loc = tuple(part for part in error["loc"] if not _is_validator_name(part))
        if error["type"] == "missing" and len(missing.get(loc[:-1], [])) > 1:
            loc, message = loc[:-1], "required fields are missing: " + ", ".join(missing[loc[:-1]])
        else:
            message = _describe(error, loc)
        if loc in seen:
            continue  # one message per place (a union's branches each report the same place)
        seen.add(loc)
        path = _format_path(loc)
        line = _line_of(root, loc)
        where = f"{name}:{line}" if line else name
        lines.append((line or 0, f"{where}: {path}: {message}" if path else f"{where}: {message}"))
    lines.sort(key=lambda item: item[0])
    if len(lines) == 1:
        return lines[0][1]
    shown = [f"  {line}" for _, line in lines[:MAX_SHOWN]]
    if len(lines) > MAX_SHOWN:
        shown.append(f"  ... and {len(lines) - MAX_SHOWN} more")
    return f"{name}: {len(lines)} problems:\n" + "\n".join(shown)


def _is_validator_name(part: Any) -> bool:
    # pydantic names a validator chain in the location ("function-after[...]"); a path has no brackets.
    return isinstance(part, str) and "[" in part


def _format_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_PLAIN = {
    "missing": "required field is missing",
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "model_type": "expected a mapping of fields",
    "dict_type": "expected a mapping of fields",
}


def _describe(error: ErrorDetails, loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = error.get("input")
    if kind == "extra_forbidden":
        return _unknown_field(loc)
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        message = "expected one of: " + ", ".join(allowed)
        return message + _got(got) + _did_you_mean(got, allowed)
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        words = PATTERN_WORDS.get(pattern, "not in the expected form (see `fhirconv schema`)")
        return words + _got(got) + _without_prefix(got, pattern)
    if kind in ("model_type", "dict_type") and (fields := _fields_at(loc)):
        return f"expected a mapping of {', '.join(fields)}" + _got(got)
    if kind == "too_short":
        count = ctx.get("min_length", 1)
        return f"needs at least {count} item{'s' if count != 1 else ''}" + _got(got)
    if kind == "too_long":
        count = ctx.get("max_length")
        return f"holds at most {count} item{'s' if count != 1 else ''}" + _got(got)
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": "at least", "greater_than": "more than"}.get(kind)
        bound = bound or {"less_than_equal": "at most", "less_than": "less than"}[kind]
        limit = next(iter(ctx.values()), "")
        return f"must be {bound} {limit}" + _got(got)
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters" + _got(got)
    if kind == "string_too_short":
        return "must not be empty" + _got(got)
    if kind in _PLAIN:
        return _PLAIN[kind] + ("" if kind == "missing" else _got(got))
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if not isinstance(got, dict | list) and got is not None and repr(got) not in message:
        message += f" (got {got!r})"
    return message


def _got(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return f" (got {value!r})"


def _did_you_mean(value: Any, choices: list[str]) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.75)
    if not close and value.lower() in [c.lower() for c in choices]:
        close = [c for c in choices if c.lower() == value.lower()]
    return f"; did you mean {close[0]!r}?" if close else ""


_TNM_PREFIX = re.compile(r"^(yp|yc|rp|rc|c|p|r|a)(?=[TNM0I])")


def _without_prefix(value: Any, pattern: str) -> str:
    """TNM written with its prefix (pT2): say where the prefix goes."""
    if not isinstance(value, str) or pattern not in (*TNM_PATTERNS.values(), STAGE_GROUP_PATTERN):
        return ""
    match = _TNM_PREFIX.match(value)
    if match and re.match(pattern, value[match.end() :]):
        return f"; did you mean {value[match.end():]!r} (the prefix {match.group(1)} goes in `prefix`)?"
    upper = value.upper()
    if pattern == STAGE_GROUP_PATTERN and re.match(pattern, upper):
        return f"; did you mean {upper!r}?"
    return ""


def _unknown_field(loc: tuple[Any, ...]) -> str:
    """An unknown key, with the nearest field names of the mapping it is in."""
    fields = _fields_at(loc[:-1])
    key = loc[-1] if loc else ""
    if not fields:
        return "unknown field (not part of the case-file schema; see `fhirconv schema`)"
    close = difflib.get_close_matches(str(key), fields, n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown field{hint} (fields here: {', '.join(fields)})"


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model at ``loc`` (for instance ``("primaries", 0)``: PrimaryCancer)."""
    current: Any = Case
    for part in loc:
        model = _model_in(current)
        if isinstance(part, int):
            current = _item_type(current)
            continue
        if model is None or part not in model.model_fields:
            return []
        current = model.model_fields[part].annotation
    model = _model_in(current)
    return list(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class an annotation holds, through Optional (a tuple's items need an index first)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _item_type(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if typing.get_origin(arg) in (tuple, list):
                return _item_type(arg)
    if origin in (tuple, list):
        args = typing.get_args(annotation)
        return args[0] if args else None
    return None


# -- lines ------------------------------------------------------------------------------------


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=PlainCaseLoader)
    except yaml.YAMLError:
        return None


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest node of ``loc`` that exists in the file."""
    node = root
    line = node.start_mark.line + 1 if node else None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if key.value == part:
                    node = value
                    line = key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
