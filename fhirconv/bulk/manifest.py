"""The FHIR Bulk Data export manifest: writing fhirconv's, reading anyone's.

The manifest is the body of a completed export's status response (Bulk Data Access IG,
"Response - Complete Status"): ``transactionTime``, ``request``, ``requiresAccessToken``,
``output`` (one ``{type, url, count}`` per file) and ``error`` (files of
OperationOutcome resources).  A server gives absolute URLs; a local export has no
server, so fhirconv writes file names relative to the manifest unless ``--base-url``
names where the files will be served.

Reading accepts what bulk clients leave on disk: fhirconv's own layout
(``Patient.ndjson`` beside ``manifest.json``), Synthea's (``Patient.ndjson``, no
manifest) and the SMART bulk-data client's (``1.Patient.ndjson``, the server's
manifest saved as ``manifest.json``, possibly with ``destination`` paths, errors under
``error/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from fhirconv.errors import InputError

MANIFEST_NAME = "manifest.json"
ERROR_DIR = "error"
ERROR_FILE = "OperationOutcome.ndjson"
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
# FHIR R4 instant: seconds required, a zone required.
_INSTANT = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?"
    r"(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$"
)
EPOCH = "1970-01-01T00:00:00Z"


def transaction_time(option: str | None, source_date_epoch: str | None) -> str:
    """The manifest's ``transactionTime``: never the clock, so the same input gives the same bytes.

    ``--transaction-time`` when given; else ``SOURCE_DATE_EPOCH`` (the reproducible-builds
    convention, seconds since 1970) when set; else the epoch itself, which claims nothing.
    """
    if option is not None:
        if not _INSTANT.match(option):
            raise InputError(
                f"--transaction-time {option!r}: expected a FHIR instant such as 2024-05-01T12:00:00Z"
            )
        try:
            datetime.fromisoformat(option.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"--transaction-time {option!r}: not a calendar date and time") from None
        return option
    if source_date_epoch:
        try:
            seconds = int(source_date_epoch)
            return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (ValueError, OverflowError, OSError):
            raise InputError(
                f"SOURCE_DATE_EPOCH={source_date_epoch!r}: expected whole seconds since 1970"
            ) from None
    return EPOCH


def build_manifest(
    outputs: list[tuple[str, str, int]], errors: list[str], when: str, base_url: str | None
) -> dict[str, Any]:
    """``outputs``: (resource type, file name, count) in the order to list them."""

    def url(name: str) -> str:
        return f"{base_url.rstrip('/')}/{name}" if base_url else name

    return {
        "transactionTime": when,
        "request": url("$export"),
        "requiresAccessToken": False,
        "output": [{"type": rtype, "url": url(name), "count": count} for rtype, name, count in outputs],
        "error": [{"type": "OperationOutcome", "url": url(name)} for name in errors],
    }


@dataclass(frozen=True)
class BulkFile:
    """One NDJSON file of an export: ``type`` is the manifest's word for it (None: not stated);
    ``label`` its name in messages when not its path (standard input, spooled)."""

    path: Path
    type: str | None = None
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or str(self.path)


def is_ndjson_name(name: str) -> bool:
    return name.lower().endswith(NDJSON_SUFFIXES)


def looks_like_manifest(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and "resourceType" not in document
        and isinstance(document.get("output"), list)
        and "transactionTime" in document
    )


def read_manifest(path: Path, document: dict[str, Any]) -> tuple[list[BulkFile], list[str]]:
    """The output files a manifest names, and one line for each it names that is not there."""
    files: list[BulkFile] = []
    problems: list[str] = []
    per_type: dict[str, int] = {}
    for index, item in enumerate(document.get("output") or []):
        where = f"{path}: output[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            problems.append(f"{where}: expected an object with a url")
            continue
        rtype = item.get("type") if isinstance(item.get("type"), str) else None
        per_type[rtype or ""] = per_type.get(rtype or "", 0) + 1
        candidates = _candidates(path.parent, item, rtype, per_type[rtype or ""])
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            tried = ", ".join(dict.fromkeys(str(c.relative_to(path.parent)) for c in candidates))
            problems.append(f"{where}: {item['url']} is not there (looked for {tried} beside the manifest)")
            continue
        files.append(BulkFile(found, rtype))
    return files, problems


def _candidates(folder: Path, item: dict[str, Any], rtype: str | None, number: int) -> list[Path]:
    """Where a downloaded file may be: its saved destination, its URL (relative, or its last
    segment), or the bulk-data client's standard name ``N.Type.ndjson``."""
    out: list[Path] = []
    destination = item.get("destination")
    if isinstance(destination, str) and destination:
        out.append(folder / PurePosixPath(destination).name)
    url = str(item["url"])
    parsed = urlparse(url)
    if not parsed.scheme and not url.startswith("/"):
        out.append(folder / unquote(parsed.path))
    name = PurePosixPath(unquote(parsed.path)).name
    if name:
        out.append(folder / name)
    # The bulk-data client names a download by the URL's last segment, query string and all.
    if parsed.query and (whole := PurePosixPath(url).name):
        out.append(folder / whole)
    if rtype:
        out.append(folder / f"{number}.{rtype}.ndjson")
    return out


def folder_files(folder: Path) -> tuple[list[BulkFile], list[str]]:
    """The NDJSON files of an export folder: as its manifest names them, else every
    ``*.ndjson`` and ``*.jsonl`` in it (sorted by name; ``error/`` and other subfolders not read)."""
    manifest = folder / MANIFEST_NAME
    if manifest.is_file():
        document = load_manifest(manifest)
        if document is not None:
            return read_manifest(manifest, document)
    try:
        names = sorted(p for p in folder.iterdir() if p.is_file() and is_ndjson_name(p.name))
    except OSError as err:
        return [], [f"{folder}: cannot read the folder: {err.strerror or err}"]
    if not names:
        return [], [f"{folder}: no NDJSON files (*.ndjson, *.jsonl) and no {MANIFEST_NAME} in this folder"]
    return [BulkFile(p) for p in names], []


# A manifest is small; a .json file larger than this is a resource or Bundle, never read twice.
MANIFEST_MAX_BYTES = 16 * 1024 * 1024


def load_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest in ``path``, or None when the file is not a Bulk Data manifest."""
    import orjson

    try:
        if path.stat().st_size > MANIFEST_MAX_BYTES:
            return None
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return document if looks_like_manifest(document) else None
