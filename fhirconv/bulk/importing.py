"""A Bulk Data export in, one case file per patient out.

First pass (this process): every line of every NDJSON file is parsed once to learn
which patient it belongs to: a Patient is its own; another resource belongs to each
patient it refers to (``Patient/id``, relative or absolute).  Only the place of each
line is kept (file, line number, byte offset), never the resource.  A resource that
refers to no patient (Medication, Practitioner, ...) is kept by place under its
``Type/id`` and joins every patient whose resources refer to it.

Second pass: each patient's lines are read back by offset and sent, as text, to a
worker (:mod:`fhirconv.parallel`) that validates and imports them into a case
(:func:`import_patient`).  Memory grows with one patient's data and the index of
places, not with the size of the export.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhirconv.bulk.manifest import BulkFile
from fhirconv.errors import FhirconvError, InputError
from fhirconv.kinds import Kind, wrong_kind
from fhirconv.parallel import batches
from fhirconv.server.references import references

PATIENTS_PER_PARTITION = 4
# A reference to a patient: "Patient/1", "http://x/fhir/Patient/1", "Patient/1/_history/2".
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_REST_REF = re.compile(r"(?:^|/)([A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


Task = tuple[str, list["Line"], str | None, bool]  # (patient id, its lines, --doi, --lenient)


@dataclass
class Line:
    """A resource as read back for a worker: where it is and its text."""

    file: str
    number: int
    data: bytes


@dataclass
class PatientResult:
    patient: str
    case_id: str | None = None
    case_yaml: bytes | None = None
    resources: int = 0
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass
class Index:
    """Where each patient's lines are: (file number, line number, offset) triples."""

    files: list[Path]
    names: list[str]
    patients: dict[str, array[int]] = field(default_factory=dict)
    shared: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)  # one line per line that is not JSON
    unowned: dict[str, int] = field(default_factory=dict)  # resource type -> count never joined

    def lines(self) -> int:
        return sum(len(places) // 3 for places in self.patients.values())


@dataclass
class Inputs:
    """The NDJSON files the arguments name, one line per argument that names none, and the
    temporary files to remove afterwards (standard input, spooled)."""

    files: list[BulkFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    temporary: list[Path] = field(default_factory=list)

    def close(self) -> None:
        for path in self.temporary:
            path.unlink(missing_ok=True)


def gather(names: list[Path]) -> Inputs:
    """Folders and manifests of exports, NDJSON files, and ``-`` (NDJSON on standard input)."""
    from fhirconv.bulk.manifest import folder_files, load_manifest, read_manifest
    from fhirconv.bulk.ndjson import spool_stdin

    inputs = Inputs()
    for path in names:
        if str(path) == "-":
            # Spooled: the index is built in one pass and the lines read back by offset in another.
            spooled = spool_stdin()
            inputs.temporary.append(spooled)
            inputs.files.append(BulkFile(spooled, label="stdin"))
            continue
        manifest = load_manifest(path) if path.is_file() and path.suffix.lower() == ".json" else None
        if path.is_dir():
            found, trouble = folder_files(path)
        elif manifest is not None:
            found, trouble = read_manifest(path, manifest)
        elif path.is_file():
            found, trouble = [BulkFile(path)], []
        else:
            found, trouble = [], [f"{path}: no such file or folder"]
        inputs.files.extend(found)
        inputs.problems.extend(trouble)
    return inputs


# Lines that are not JSON named one by one in a file, before the rest are only counted.
BROKEN_SHOWN = 5


def build_index(files: list[BulkFile]) -> Index:
    index = Index([f.path for f in files], [f.name for f in files])
    for number_of_file, path in enumerate(index.files):
        broken: list[tuple[int, str]] = []
        _index_file(index, number_of_file, path, broken)
        index.broken.extend(_broken_lines(index.names[number_of_file], path, broken))
    return index


def _broken_lines(name: str, path: Path, broken: list[tuple[int, str]]) -> list[str]:
    """One line per line that is not JSON, the first few of a file; a file that is something
    else (a Bundle, a case file, an archive) said so in one line."""
    if not broken:
        return []
    if broken[0][0] == 0:
        return [f"{name}: {broken[0][1]}"]
    if broken[0][0] == 1:
        refused = _what_it_is(name, path)
        if refused is not None:
            return [refused]
    shown = [f"{name}:{number}: {message}" for number, message in broken[:BROKEN_SHOWN]]
    if len(broken) > BROKEN_SHOWN:
        shown.append(f"{name}: {len(broken) - BROKEN_SHOWN} more lines are not JSON resources")
    return shown


_WHOLE = "without --out-dir, `fhirconv import {name} -o CASE.yaml` reads it"
_INSTEAD = {
    Kind.BUNDLE: _WHOLE,
    Kind.RESOURCE: _WHOLE,
    Kind.CASE_FILE: "did you mean `fhirconv export {name}`?",
}


def _what_it_is(name: str, path: Path) -> str | None:
    """``NAME is a FHIR Bundle (...), not NDJSON ...`` for a file that is another kind of input."""
    from fhirconv.kinds import recognise, recognise_file

    try:
        with open(path, "rb") as handle:
            found = recognise(handle.read(64))  # an archive or an image by its first bytes
        if found.kind is not Kind.FOREIGN:
            if path.stat().st_size > WHOLE_DOCUMENT_BYTES:
                return None
            found = recognise_file(path) or found
    except OSError:
        return None
    if found.kind in (Kind.NDJSON, Kind.EMPTY):
        return None
    refused = wrong_kind(name, found, "NDJSON (one FHIR resource a line)", _INSTEAD)
    return None if refused is None else refused.message


# Above this a file whose first line is not JSON is not read whole to see whether it is one document.
WHOLE_DOCUMENT_BYTES = 64 * 1024 * 1024


def _parsed(line: bytes) -> tuple[Any, str | None]:
    """(the line's value, None), or (None, why not): orjson first, the one JSON reader for what
    orjson refuses, so that it is judged and worded as everywhere else (a lone surrogate is read
    and reported with its place by the validation, as in ``fhirconv import``)."""
    import orjson

    from fhirconv.importing.reader import read_line

    try:
        return orjson.loads(line), None
    except orjson.JSONDecodeError:
        return read_line(line)


def _index_file(index: Index, number_of_file: int, path: Path, broken: list[tuple[int, str]]) -> None:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as err:
        broken.append((0, f"cannot read: {err.strerror or err}"))
        return
    with handle:
        offset = 0
        for number, raw in enumerate(handle, start=1):
            here = offset
            offset += len(raw)
            line = raw.strip()
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line:
                continue
            resource, why = _parsed(line)
            if why is not None:
                broken.append((number, why))
                continue
            if not isinstance(resource, dict):
                broken.append((number, "expected a FHIR resource (a JSON object)"))
                continue
            place = (number_of_file, number, here)
            owners = _owners(resource, line)
            if not owners:
                rtype, rid = resource.get("resourceType"), resource.get("id")
                key = f"{rtype}/{rid}"
                index.shared[key] = place
                continue
            for owner in owners:
                index.patients.setdefault(owner, array("q")).extend(place)


def _owners(resource: dict[str, Any], line: bytes) -> list[str]:
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return [rid] if isinstance(rid, str) else []
    refs = _line_references(resource, line)
    found = dict.fromkeys(match[1] for ref in refs if (match := _PATIENT_REF.search(ref)) is not None)
    return list(found)


# A "reference" key and its string value in the JSON text of a line: inside a string every quote is
# escaped, so unescaped quotes around the key only match a key.
_REFERENCE_TEXT = re.compile(rb'"reference"\s*:\s*"([^"\\]*)(\\?)')


def _line_references(resource: dict[str, Any], line: bytes) -> list[str]:
    """What :func:`references` finds in ``resource``, read off its line: walking every resource of
    an export was most of the first pass.  A value with an escape in it is left to the walk."""
    found = _REFERENCE_TEXT.findall(line)
    if any(escaped for _, escaped in found):
        return references(resource)
    return [value.decode("utf-8") for value, _ in found]


def _read_at(handles: dict[int, Any], index: Index, place: tuple[int, int, int]) -> Line:
    number_of_file, number, offset = place
    handle = handles.get(number_of_file)
    if handle is None:
        handle = handles[number_of_file] = open(index.files[number_of_file], "rb")  # noqa: SIM115
    handle.seek(offset)
    data = handle.readline().strip()
    if number == 1 and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return Line(index.names[number_of_file], number, data)


def patient_tasks(index: Index, doi: str | None, lenient: bool, used: set[str]) -> Iterator[Task]:
    """Each patient's lines (and the shared resources they refer to), read back by place."""
    handles: dict[int, Any] = {}
    try:
        for patient, places in index.patients.items():
            lines = [_read_at(handles, index, tuple(places[i : i + 3])) for i in range(0, len(places), 3)]  # type: ignore[arg-type]
            wanted: dict[str, None] = {}
            # Parsed again only when there is something to find: it was a fifth of this process's work.
            for line in lines if index.shared else ():
                for ref in references(_parsed(line.data)[0]):
                    match = _REST_REF.search(ref)
                    if match is not None and match[1] in index.shared:
                        wanted[match[1]] = None
            for key in wanted:
                used.add(key)
                lines.append(_read_at(handles, index, index.shared[key]))
            yield patient, lines, doi, lenient
    finally:
        for handle in handles.values():
            handle.close()


def _text(line: Line) -> str:
    try:
        return line.data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{line.file}:{line.number}: not UTF-8 text (byte {err.start})") from None


def import_partition(tasks: list[Task], _shared: Any = None) -> list[PatientResult]:
    return [import_patient(*task) for task in tasks]


def import_patient(patient: str, lines: list[Line], doi: str | None, lenient: bool) -> PatientResult:
    """One patient's resources to a case file (YAML), checked as ``fhirconv import`` checks a file
    (``lenient``: lines that break FHIR's rules are reported and left out, as with --lenient)."""
    from fhirconv.importing.reader import case_to_yaml, import_entries, line_entry
    from fhirconv.mapping.reading import Unmapped

    problems: list[Unmapped] | None = [] if lenient else None
    try:
        read = [line_entry(_text(line), line.file, line.number, problems=problems) for line in lines]
        entries = [entry for entry in read if entry is not None]
        files = tuple(sorted({Path(line.file).name for line in lines}))
        result = import_entries(entries, doi, files, problems=problems)
    except FhirconvError as err:
        return PatientResult(patient, resources=len(lines), error=f"Patient/{patient}: {err}")
    return PatientResult(
        patient,
        result.case.id,
        case_to_yaml(result.case).encode("utf-8"),
        len(lines),
        [u.as_dict() for u in result.unmapped],
    )


@dataclass
class Summary:
    patients: int = 0
    imported: int = 0
    resources: int = 0
    unmapped: int = 0
    failures: list[str] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)


def import_export(
    index: Index,
    folder: Path,
    doi: str | None,
    lenient: bool,
    run: Callable[[Iterable[list[Task]]], Iterable[list[PatientResult]]],
    report: Callable[[str], None],
    advance: Callable[[int], None],
    keep_report: bool,
) -> Summary:
    """Write one ``<case id>.yaml`` per patient into ``folder`` (new and empty)."""
    summary = Summary()
    written: dict[str, str] = {}
    used: set[str] = set()
    for results in run(batches(patient_tasks(index, doi, lenient, used), PATIENTS_PER_PARTITION)):
        for result in results:
            summary.patients += 1
            if result.error is None and result.case_id in written:
                result.error = (
                    f"Patient/{result.patient}: case id {result.case_id!r} is also the case of "
                    f"Patient/{written[result.case_id]}"
                )
            if result.error is not None:
                summary.failures.append(result.error)
                report(result.error)
                continue
            assert result.case_id is not None and result.case_yaml is not None
            written[result.case_id] = result.patient
            (folder / f"{result.case_id}.yaml").write_bytes(result.case_yaml)
            summary.imported += 1
            summary.resources += result.resources
            summary.unmapped += len(result.unmapped)
            if keep_report:
                summary.cases.append(
                    {
                        "patient": result.patient,
                        "case": result.case_id,
                        "file": f"{result.case_id}.yaml",
                        "resources": result.resources,
                        "unmapped": result.unmapped,
                    }
                )
        advance(len(results))
    for key in index.shared:
        if key not in used:
            rtype = key.split("/", 1)[0]
            index.unowned[rtype] = index.unowned.get(rtype, 0) + 1
    return summary


def warm() -> None:
    """What every import worker needs, loaded once before the workers fork."""
    from fhirconv.cases import load_case
    from fhirconv.fileio import dump_json
    from fhirconv.importing.reader import import_entries, read_entries
    from fhirconv.mapping.bundle import build_bundle

    import_entries(read_entries(dump_json(build_bundle(load_case("case1"))), "warm.json"))
