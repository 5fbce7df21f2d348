"""What a file holds: a case file, a FHIR Bundle, a resource, NDJSON, or something else.

A command given the wrong kind of file should say what it was given and what to run
instead ("case2.bundle.json is a FHIR Bundle (transaction, 77 entries), not a case file;
did you mean `fhirconv import case2.bundle.json`?"), not report the first thing the wrong
parser stumbled on.  Recognising is done on the error path, or where a command accepts
several kinds, so that the right kind of input is never parsed twice for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from fhirconv.errors import InputError


class Kind(Enum):
    CASE_FILE = "case file"
    BUNDLE = "FHIR Bundle"
    RESOURCE = "FHIR resource"
    NDJSON = "NDJSON"
    FOREIGN = "foreign"  # a known format fhirconv does not read: an archive, a PDF, XML, a JSON Schema
    EMPTY = "empty"
    OTHER = "other"  # JSON, YAML or text that is none of the above: the parser's own message says more


@dataclass(frozen=True)
class Recognised:
    kind: Kind
    description: str  # "a FHIR Bundle (transaction, 77 entries)", for messages
    # The parsed JSON, so that a caller accepting this kind need not parse it again.
    document: Any = field(default=None, compare=False, repr=False)


# Magic numbers of files people mistake for input, named in messages.
_MAGIC = (
    (b"\x1f\x8b", "a gzip archive"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"<?xml", "an XML document"),
    (b"<Bundle", "FHIR XML (fhirconv reads FHIR JSON)"),
)


def recognise(data: bytes) -> Recognised:
    """What ``data`` holds, judged from its content alone."""
    if not data.strip():
        return Recognised(Kind.EMPTY, "empty")
    head = data.lstrip()[:16]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return Recognised(Kind.FOREIGN, what)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Recognised(Kind.OTHER, "not UTF-8 text")  # the reader names the byte
    from fhirconv.validation.json_layer import JsonSyntaxError, parse

    try:
        document, _ = parse(text)  # the one JSON reader: NaN, huge numbers, deep nesting refused
    except JsonSyntaxError:
        return _not_json(text)
    return recognise_document(document)


def recognise_file(path: Path) -> Recognised | None:
    """What the file at ``path`` holds; None when it cannot be read (the reader says why)."""
    try:
        return recognise(path.read_bytes())
    except OSError:
        return None


def recognise_document(document: Any, syntax: str = "JSON") -> Recognised:
    """What a parsed JSON (or YAML) document is."""
    if isinstance(document, dict):
        kind = document.get("resourceType")
        if kind == "Bundle":
            entries = document.get("entry")
            count = len(entries) if isinstance(entries, list) else 0
            bundle_type = document.get("type")
            what = f"{bundle_type}, " if isinstance(bundle_type, str) else ""
            entries_word = "entry" if count == 1 else "entries"
            return Recognised(Kind.BUNDLE, f"a FHIR Bundle ({what}{count} {entries_word})", document)
        if isinstance(kind, str):
            return Recognised(Kind.RESOURCE, f"a FHIR {kind} resource", document)
        if "patient" in document and ("report" in document or "title" in document):
            return Recognised(Kind.CASE_FILE, f"a case file ({syntax})")
        if "$schema" in document:
            return Recognised(Kind.FOREIGN, "a JSON Schema")
    return Recognised(Kind.OTHER, f"{syntax} that is neither FHIR nor a case file")


def _not_json(text: str) -> Recognised:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        from fhirconv.validation.json_layer import JsonSyntaxError, parse

        try:
            first, _ = parse(lines[0])
        except JsonSyntaxError:
            first = None
        if isinstance(first, dict) and isinstance(first.get("resourceType"), str):
            count = len(lines)
            return Recognised(
                Kind.NDJSON, f"NDJSON ({count} FHIR resource{'s' if count != 1 else ''}, one a line)"
            )
    if text.lstrip()[:1] in ("{", "["):
        return Recognised(Kind.OTHER, "broken JSON")  # the JSON parser's message says where
    import yaml

    from fhirconv.model.yamlread import safe_loader

    try:
        document = yaml.load(text, Loader=safe_loader(text))
    except (yaml.YAMLError, ValueError, RecursionError):
        # ValueError: a date like 2020-13-45 or a number of thousands of digits; RecursionError:
        # nesting past Python's limit.  The reader of the kind expected says what is wrong.
        return Recognised(Kind.OTHER, "neither JSON nor YAML")
    found = recognise_document(document, "YAML")
    # FHIR is JSON here: YAML that names a resourceType is some other document.
    return found if found.kind in (Kind.CASE_FILE, Kind.OTHER) else Recognised(Kind.OTHER, "YAML")


# What to run instead, for commands that read cases and for commands that read FHIR.
_IMPORT = "did you mean `fhirconv import {name}`?"
FOR_CASES = {Kind.BUNDLE: _IMPORT, Kind.RESOURCE: _IMPORT, Kind.NDJSON: _IMPORT}
FOR_FHIR = {Kind.CASE_FILE: "did you mean `fhirconv export {name}`?"}


def wrong_kind(name: str, found: Recognised, expected: str, hints: dict[Kind, str]) -> InputError | None:
    """``NAME is <what it is>, not <what was expected>; <what to run instead>``.

    None when ``found`` is nothing in particular: the parser's own message then says more.
    ``name`` is ``stdin`` for standard input, which the hint spells ``-``.
    """
    if found.kind is Kind.OTHER:
        return None
    message = f"{name} is {found.description}, not {expected}"
    hint = hints.get(found.kind)
    argument = "-" if name == "stdin" else name
    return InputError(f"{message}; {hint.format(name=argument)}" if hint else message)
