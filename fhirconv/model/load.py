"""Reading case files (YAML or JSON) into the model, with errors that point at a line.

A case file error reads ``FILE:LINE: PATH: what was expected``, for instance
``case.yaml:14: primaries[0].diagnosis_date: expected a date as YYYY, YYYY-MM
or YYYY-MM-DD``.  Only the first problem is reported: a case file is edited by
hand and fixed one problem at a time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from fhirconv.errors import CaseFileError
from fhirconv.model.case import Case

# Without timestamps: a case keeps the precision its dates were given in (2016, 2020-11).
_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _CaseLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The libyaml-backed safe loader where PyYAML has it (seven times faster), dates kept as text."""

    yaml_implicit_resolvers = _RESOLVERS


class _PlainCaseLoader(yaml.SafeLoader):
    """The pure-Python twin, for messages: libyaml words its errors differently."""

    yaml_implicit_resolvers = _RESOLVERS


def parse_case_text(text: str, name: str, *, is_json: bool | None = None) -> Case:
    """Parse and validate the text of a case file; ``name`` is used in messages.

    ``is_json`` chooses the parser; by default a name ending in ``.json`` is JSON.
    """
    if is_json is None:
        is_json = name.endswith(".json")
    try:
        data = json.loads(text) if is_json else yaml.load(text, Loader=_CaseLoader)
    except json.JSONDecodeError as err:
        raise CaseFileError(f"{name}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}") from None
    except yaml.YAMLError:
        plain = _plain_error(text)
        mark = getattr(plain, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1"
        problem = getattr(plain, "problem", None) or str(plain)
        raise CaseFileError(f"{name}:{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise CaseFileError(f"{name}:1: a case file holds one mapping (id, title, report, patient, ...)")
    try:
        return Case.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        path = _format_path(loc)
        line = _line_of(text, loc)
        message = _describe(first)
        where = f"{name}:{line}" if line else name
        raise CaseFileError(f"{where}: {path}: {message}" if path else f"{where}: {message}") from None


def _plain_error(text: str) -> yaml.YAMLError:
    """The error the pure-Python parser reports, so that messages do not depend on libyaml."""
    try:
        yaml.load(text, Loader=_PlainCaseLoader)
    except yaml.YAMLError as err:
        return err
    return yaml.YAMLError("not valid YAML")


def load_case_file(path: Path) -> Case:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise CaseFileError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise CaseFileError(f"{path}: cannot read: {err.strerror}") from None
    return parse_case_text(text, str(path))


def _format_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after[_check_partial_date(), function-before[_year_as_text(), str]]",):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (not part of the case-file schema; see `fhirconv schema`)"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    got = error.get("input")
    if not isinstance(got, dict | list) and got is not None and repr(got) not in message:
        message += f" (got {got!r})"
    return message


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest node of ``loc`` that exists in the file."""
    try:
        node = yaml.compose(text, Loader=_PlainCaseLoader)
    except yaml.YAMLError:
        return None
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
