"""Bundle files in (JSON Bundle of any type, a single resource, or NDJSON), a case out."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhirconv.errors import InputError
from fhirconv.mapping.reading import Unmapped
from fhirconv.model.case import Case

# Structural layers: a bundle failing these cannot be read reliably. Profile and
# terminology findings do not stop an import (the report covers what is not mapped).
MAX_SHOWN_ERRORS = 20

Entry = tuple[str, dict[str, Any], str | None]


@dataclass
class ImportResult:
    case: Case
    unmapped: list[Unmapped] = field(default_factory=list)
    resources: int = 0


def read_entries(data: bytes, name: str, *, validate: bool = True, qualify: bool = False) -> list[Entry]:
    """The resources of one file as (location, resource, fullUrl), validated first.

    A location names the file when the resource is not in a Bundle, or when ``qualify``
    says that several files are read.
    """
    text = _text(data, name)
    stripped = text.lstrip()
    if name.endswith(".ndjson") or (stripped and "\n{" in stripped.rstrip() and not _is_json(stripped)):
        return _ndjson_entries(text, name, validate)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise _what_it_is(data, name) or InputError(
            f"{name}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}"
        ) from None
    if isinstance(document, dict) and "resourceType" not in document:
        from fhirconv.kinds import FOR_FHIR, recognise_document, wrong_kind

        refused = wrong_kind(name, recognise_document(document), "FHIR JSON", FOR_FHIR)
        if refused is not None:
            raise refused
    if validate:
        _check(document, name)
    if not isinstance(document, dict):
        raise InputError(f"{name}: expected a FHIR resource or Bundle (a JSON object)")
    if document.get("resourceType") != "Bundle":
        return [(f"{name}: {document.get('resourceType')}", document, None)]
    where = f"{name}: " if qualify else ""
    entries: list[Entry] = []
    for i, entry in enumerate(document.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        search = entry.get("search") if isinstance(entry, dict) else None
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue  # a server's OperationOutcome about the search, not patient data
        url = entry.get("fullUrl")
        full_url = url if isinstance(url, str) else None
        entries.append((f"{where}Bundle.entry[{i}].resource", resource, full_url))
    return entries


def _what_it_is(data: bytes, name: str) -> InputError | None:
    """An error naming what a file that is not JSON holds instead (None: nothing in particular)."""
    from fhirconv.kinds import FOR_FHIR, recognise, wrong_kind

    return wrong_kind(name, recognise(data), "FHIR JSON", FOR_FHIR)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _what_it_is(data, name) or InputError(f"{name}: not UTF-8 text (byte {err.start})") from None


def _ndjson_entries(text: str, name: str, validate: bool) -> list[Entry]:
    entries: list[Entry] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            resource = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{name}:{number}:{err.colno}: not valid JSON: {err.msg}") from None
        if validate:
            _check(resource, f"{name}:{number}")
        if not isinstance(resource, dict):
            raise InputError(f"{name}:{number}: expected a FHIR resource (a JSON object)")
        entries.append((f"{name}:{number}: {resource.get('resourceType')}", resource, None))
    return entries


def _check(document: Any, name: str) -> None:
    """Refuse a document that is not valid FHIR, listing the validator's errors (errors only)."""
    from fhirconv.validation import validate_resource
    from fhirconv.validation.issues import Layer, Severity

    layers = (Layer.JSON, Layer.SCHEMA, Layer.STRUCTURE, Layer.BUNDLE)
    issues = [i for i in validate_resource(document, layers=layers) if i.severity == Severity.ERROR]
    if not issues:
        return
    shown = [f"  {i.location}: {i.message} ({i.rule})" for i in issues[:MAX_SHOWN_ERRORS]]
    more = len(issues) - len(shown)
    if more:
        shown.append(f"  ... and {more} more (run `fhirconv validate {name}`)")
    count = f"{len(issues)} error" + ("s" if len(issues) != 1 else "")
    raise InputError(f"{name}: not valid FHIR R4, not imported ({count}):\n" + "\n".join(shown))


def read_files(paths: list[Path], *, validate: bool = True) -> list[Entry]:
    """The entries of every file; ``-`` is standard input, named ``stdin`` in locations."""
    import sys

    if sum(str(p) == "-" for p in paths) > 1:
        raise InputError("standard input (-) can be given only once")
    entries: list[Entry] = []
    for path in paths:
        if str(path) == "-":
            data = sys.stdin.buffer.read()
            entries.extend(read_entries(data, "stdin", validate=validate, qualify=len(paths) > 1))
            continue
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a directory, not a file") from None
        except OSError as err:
            raise InputError(f"{path}: cannot read: {err.strerror}") from None
        entries.extend(read_entries(data, str(path), validate=validate, qualify=len(paths) > 1))
    return entries


def import_entries(
    entries: list[Entry], doi: str | None = None, files: tuple[str, ...] = (), source: str | None = None
) -> ImportResult:
    """The case the entries tell.

    When the bundle is not fhirconv's own, the case records where it comes from: ``doi``
    names the publication, ``files`` the files read, ``source`` where they were fetched.
    """
    from fhirconv.mapping.bundle import case_from_resources

    case, unmapped = case_from_resources(entries, doi, files, source)
    return ImportResult(case=case, unmapped=unmapped, resources=len(entries))


def case_to_yaml(case: Case) -> str:
    """The case as a case file that :func:`fhirconv.model.load.parse_case_text` reads back equal."""
    import yaml

    data = case.model_dump(mode="json", exclude_defaults=True)
    header = f"# Imported by fhirconv: case {case.id}\n"
    # libyaml's emitter where PyYAML has it: the pure-Python one was a quarter of an import's time.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + text


# A location's resource part: a bundle entry (in a named file or not), or a file's resource.
_RESOURCE = re.compile(r"^(.*?Bundle\.entry\[\d+\]\.resource|.+?: [A-Z][A-Za-z]+)(.*)$")


def report_text(unmapped: list[Unmapped]) -> str:
    """The report for people: grouped by resource, with the count of each reason first."""
    if not unmapped:
        return "Import report: everything was mapped.\n"
    groups: dict[str, list[tuple[str, Unmapped]]] = {}
    for item in unmapped:
        match = _RESOURCE.match(item.location)
        head, rest = (match.group(1), match.group(2).lstrip(".")) if match else ("case", item.location)
        groups.setdefault(head, []).append((rest, item))
    reasons = Counter(u.reason for u in unmapped)
    summary = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
    counts = f"{len(unmapped)} element(s) of {len(groups)} resource(s)"
    lines = [f"Import report: {counts} not mapped ({summary}):"]
    for head, items in groups.items():
        if len(items) == 1:
            only = items[0][1]
            lines.append(f"  {only.location}: {only.reason}: {only.message}")
            continue
        lines.append(f"  {head}:")
        lines.extend(f"    {rest or '(whole)'}: {u.reason}: {u.message}" for rest, u in items)
    return "\n".join(lines) + "\n"


def report_json(unmapped: list[Unmapped], result: ImportResult | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"unmapped": [u.as_dict() for u in unmapped], "count": len(unmapped)}
    if result is not None:
        out["case"] = result.case.id
        out["resources"] = result.resources
    return out
