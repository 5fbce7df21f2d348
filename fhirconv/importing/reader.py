"""Bundle files in (JSON Bundle of any type, a single resource, or NDJSON), a case out."""

from __future__ import annotations

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


def read_entries(
    data: bytes,
    name: str,
    *,
    validate: bool = True,
    qualify: bool = False,
    problems: list[Unmapped] | None = None,
) -> list[Entry]:
    """The resources of one file as (location, resource, fullUrl), validated first.

    JSON is read by the validator's reader (duplicate keys, NaN, huge numbers and deep
    nesting are refused alike).  A file with validation errors is refused, unless
    ``problems`` is given (lenient reading): its errors are then listed there, and the
    resources they are in are left out.  A location names the file when the resource is
    not in a Bundle, or when ``qualify`` says that several files are read.
    """
    from fhirconv.validation.json_layer import JsonSyntaxError, parse

    text = _text(data, name)
    stripped = text.lstrip()
    if name.endswith(".ndjson") or (stripped and "\n{" in stripped.rstrip() and not _is_json(stripped)):
        return _ndjson_entries(text, name, validate, problems)
    try:
        document, duplicates = parse(text)
    except JsonSyntaxError as err:
        raise _what_it_is(data, name) or InputError(err.located(name)) from None
    if isinstance(document, dict) and "resourceType" not in document:
        from fhirconv.kinds import FOR_FHIR, recognise_document, wrong_kind

        refused = wrong_kind(name, recognise_document(document), "FHIR JSON", FOR_FHIR)
        if refused is not None:
            raise refused
    if not isinstance(document, dict):
        raise InputError(f"{name}: expected a FHIR resource or Bundle (a JSON object)")
    where = f"{name}: " if qualify else ""
    skipped: set[int] = set()
    if validate:
        skipped = _check(document, duplicates, name, where, problems)
    if document.get("resourceType") != "Bundle":
        return [] if skipped else [(f"{name}: {document.get('resourceType')}", document, None)]
    entries: list[Entry] = []
    listed = document.get("entry")
    if listed is not None and not isinstance(listed, list):
        # Only lenient reading gets here (validation refuses it): there are no entries to read.
        if problems is not None:
            problems.append(Unmapped(f"{where}Bundle.entry", "invalid", ENTRY_LEFT_OUT))
        listed = []
    for i, entry in enumerate(listed or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or i in skipped:
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
    from fhirconv.validation.json_layer import JsonSyntaxError, parse

    try:
        parse(text)
    except JsonSyntaxError:
        return False
    return True


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _what_it_is(data, name) or InputError(f"{name}: not UTF-8 text (byte {err.start})") from None


def _ndjson_entries(text: str, name: str, validate: bool, problems: list[Unmapped] | None) -> list[Entry]:
    entries: list[Entry] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            entry = line_entry(line, name, number, validate=validate, problems=problems)
            if entry is not None:
                entries.append(entry)
    return entries


def line_entry(
    line: str, name: str, number: int, *, validate: bool = True, problems: list[Unmapped] | None = None
) -> Entry | None:
    """Line ``number`` of the NDJSON file ``name`` as an entry, validated first; None when it
    cannot be read and ``problems`` (lenient) takes the reason instead of an error."""
    from fhirconv.validation.json_layer import JsonSyntaxError, parse

    where = f"{name}:{number}"
    try:
        resource, duplicates = parse(line)
    except JsonSyntaxError as err:
        located = err.located(where).replace(f"{where}:1:", f"{where}:", 1)
        if problems is None:
            raise InputError(located) from None
        problems.append(Unmapped(where, "invalid", located.split(": ", 1)[1]))
        return None
    if not isinstance(resource, dict):
        if problems is None:
            raise InputError(f"{where}: expected a FHIR resource (a JSON object)")
        problems.append(Unmapped(where, "invalid", "not a FHIR resource (a JSON object): not imported"))
        return None
    if validate and _check(resource, duplicates, where, f"{where}: ", problems):
        return None
    return (f"{where}: {resource.get('resourceType')}", resource, None)


# How lenient reading lists what it leaves out (see :func:`left_out`).
ENTRY_LEFT_OUT = "an entry that breaks FHIR's rules is not imported"
RESOURCE_LEFT_OUT = "a resource that breaks FHIR's rules is not imported"


def left_out(problems: list[Unmapped]) -> list[str]:
    """Where lenient reading left a whole entry, resource or NDJSON line (``NAME:LINE``) out."""
    return [
        u.location
        for u in problems
        if u.reason == "invalid"
        and (u.message in (ENTRY_LEFT_OUT, RESOURCE_LEFT_OUT) or re.fullmatch(r".+:\d+", u.location))
    ]


# A validation error's entry, when it is inside one: the resource that cannot be read.
_ENTRY = re.compile(r"^Bundle\.entry\[(\d+)\]")
# Layers after which a resource is not read: its shape is not what FHIR says it is.  The
# bundle layer's findings (references, fullUrls) leave every resource readable.
_SHAPE_LAYERS = ("json", "schema", "structure")


def _check(
    document: Any, duplicates: dict[int, list[str]], name: str, where: str, problems: list[Unmapped] | None
) -> set[int]:
    """Refuse a document that is not valid FHIR, listing the validator's errors (errors only).

    Lenient (``problems`` given): list the errors there instead and return the entries left
    out, those whose own content breaks the JSON rules, the schema or the structure (the
    whole document, entry -1, when it is a resource that does).
    """
    from fhirconv.validation import validate_resource
    from fhirconv.validation.issues import Layer, Severity
    from fhirconv.validation.json_layer import check_tree

    layers = (Layer.SCHEMA, Layer.STRUCTURE, Layer.BUNDLE)
    issues = [
        i
        for i in [*check_tree(document, duplicates), *validate_resource(document, layers=layers)]
        if i.severity == Severity.ERROR
    ]
    if not issues:
        return set()
    if problems is not None:
        skipped: set[int] = set()
        for issue in issues:
            what = f"{issue.message} ({issue.rule})"
            problems.append(Unmapped(f"{where}{issue.location}", "invalid", what))
            if issue.layer.value in _SHAPE_LAYERS:
                match = _ENTRY.match(issue.location)
                skipped.add(int(match.group(1)) if match else -1)
        for index in sorted(skipped):
            if index >= 0:
                problems.append(Unmapped(f"{where}Bundle.entry[{index}]", "invalid", ENTRY_LEFT_OUT))
        if -1 in skipped and document.get("resourceType") != "Bundle":
            problems.append(Unmapped(name, "invalid", RESOURCE_LEFT_OUT))
        return skipped
    shown = [f"  {i.location}: {i.message} ({i.rule})" for i in issues[:MAX_SHOWN_ERRORS]]
    more = len(issues) - len(shown)
    if more:
        shown.append(f"  ... and {more} more (run `fhirconv validate {name}`)")
    count = f"{len(issues)} error" + ("s" if len(issues) != 1 else "")
    raise InputError(
        f"{name}: not valid FHIR R4, not imported ({count}; --lenient imports the rest):\n" + "\n".join(shown)
    )


def read_files(
    paths: list[Path], *, validate: bool = True, problems: list[Unmapped] | None = None
) -> list[Entry]:
    """The entries of every file; ``-`` is standard input, named ``stdin`` in locations.

    ``problems``: read leniently, listing validation errors there (see :func:`read_entries`).
    """
    import sys

    if sum(str(p) == "-" for p in paths) > 1:
        raise InputError("standard input (-) can be given only once")
    entries: list[Entry] = []
    for path in paths:
        if str(path) == "-":
            data = sys.stdin.buffer.read()
            entries.extend(
                read_entries(data, "stdin", validate=validate, qualify=len(paths) > 1, problems=problems)
            )
            continue
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a directory, not a file") from None
        except OSError as err:
            raise InputError(f"{path}: cannot read: {err.strerror}") from None
        entries.extend(
            read_entries(data, str(path), validate=validate, qualify=len(paths) > 1, problems=problems)
        )
    return entries


def import_entries(
    entries: list[Entry],
    doi: str | None = None,
    files: tuple[str, ...] = (),
    source: str | None = None,
    problems: list[Unmapped] | None = None,
) -> ImportResult:
    """The case the entries tell.

    When the bundle is not fhirconv's own, the case records where it comes from: ``doi``
    names the publication, ``files`` the files read, ``source`` where they were fetched.
    ``problems``: what lenient reading listed, first in the report; when the case cannot be
    made, the error names what it left out (the Patient may be there).
    """
    from fhirconv.errors import MappingError
    from fhirconv.gcpause import gc_paused
    from fhirconv.mapping.bundle import case_from_resources

    try:
        with gc_paused():
            case, unmapped = case_from_resources(entries, doi, files, source)
    except MappingError as err:
        skipped = left_out(problems or [])
        if not skipped:
            raise
        shown = ", ".join(skipped[:3]) + (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "")
        raise MappingError(f"{err.message} (--lenient left out what breaks FHIR's rules: {shown})") from None
    return ImportResult(case=case, unmapped=[*(problems or []), *unmapped], resources=len(entries))


def read_line(data: bytes) -> tuple[Any, str | None]:
    """An NDJSON line by the one JSON reader: (the value, None), or (None, why it cannot be read)."""
    from fhirconv.validation.json_layer import JsonSyntaxError, parse

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, f"not UTF-8 text (byte {err.start})"
    try:
        return parse(text)[0], None
    except JsonSyntaxError as err:
        why = err.located("").split("not valid JSON: ", 1)[1]
        return None, f"not valid JSON at column {err.column}: {why}"


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
