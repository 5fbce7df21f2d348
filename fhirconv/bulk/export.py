"""Many cases out: one Bundle per case, or the FHIR Bulk Data layout.

The work per case (parse, map, serialise) is :func:`export_partition`, run by
:mod:`fhirconv.parallel` in this process, in forked workers or on Dask; this process
reads the case files (so that a remote worker needs none of them) and writes every
output file, in input order, into a new folder that replaces the target only when
complete (:func:`fhirconv.fileio.atomic_directory`).

Bulk layout: one ``<ResourceType>.ndjson`` per type (resources in input order, one a
line, references as ``Type/id`` since an NDJSON line has no Bundle to resolve
``urn:uuid:`` in), ``manifest.json`` in the shape of a Bulk Data export manifest, and
``error/OperationOutcome.ndjson`` with one OperationOutcome per case that failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from fhirconv.bulk.manifest import ERROR_DIR, ERROR_FILE, MANIFEST_NAME, build_manifest
from fhirconv.errors import FhirconvError
from fhirconv.parallel import batches

Layout = Literal["bundles", "bulk"]
LAYOUTS = ("bundles", "bulk")
CASES_PER_PARTITION = 16
CASE_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class CaseInput:
    """A case to export: its name in messages and its text (None: a built-in case by name),
    or why it could not be read."""

    label: str
    text: str | None = None
    error: str | None = None


@dataclass
class CaseOutput:
    label: str
    case_id: str | None = None
    error: str | None = None
    bundle: bytes | None = None  # bundles layout
    lines: dict[str, list[bytes]] = field(default_factory=dict)  # bulk layout: type -> lines
    resources: int = 0


def expand_inputs(names: Iterable[str]) -> list[str]:
    """Case names and files as given; a folder gives its case files (``*.yaml``, ``*.yml``,
    ``*.json``, in subfolders too, hidden ones left out), sorted by path."""
    out: list[str] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in CASE_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            out.extend(str(p) for p in found)
        else:
            out.append(name)
    return out


def read_inputs(names: Iterable[str]) -> Iterator[CaseInput]:
    """Each case's text, read here; an unreadable one carries its one-line reason."""
    from fhirconv.cases import case_source

    for name in names:
        try:
            label, text = case_source(name)
        except FhirconvError as err:
            yield CaseInput(name, error=str(err))
            continue
        yield CaseInput(label, text)


def export_partition(partition: tuple[Layout, str, list[CaseInput]], _shared: Any = None) -> list[CaseOutput]:
    """Export a partition of cases; a case that fails carries its message, the others go on."""
    layout, bundle_type, cases = partition
    return [_export_one(layout, bundle_type, case) for case in cases]


def _export_one(layout: Layout, bundle_type: str, item: CaseInput) -> CaseOutput:
    from fhirconv.cases import load_case, parse_case_source
    from fhirconv.errors import MappingError
    from fhirconv.fileio import dump_json
    from fhirconv.mapping.bundle import build_bundle

    if item.error is not None:
        return CaseOutput(item.label, error=item.error)
    try:
        case = load_case(item.label) if item.text is None else parse_case_source(item.label, item.text)
        bundle = build_bundle(case, "collection" if layout == "bulk" else bundle_type)  # type: ignore[arg-type]
    except MappingError as err:
        return CaseOutput(item.label, error=f"{item.label}: {err}")
    except FhirconvError as err:
        return CaseOutput(item.label, error=str(err))
    out = CaseOutput(item.label, case.id, resources=len(bundle["entry"]))
    if layout == "bundles":
        out.bundle = dump_json(bundle)
    else:
        for rtype, line in ndjson_lines(bundle):
            out.lines.setdefault(rtype, []).append(line)
    return out


def ndjson_lines(bundle: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    """Each resource of a Bundle as one compact JSON line, its references to other entries
    rewritten from ``urn:uuid:`` fullUrls to ``Type/id`` (no Bundle around a line resolves them)."""
    import orjson

    names = {
        e["fullUrl"].encode(): f'"reference":"{e["resource"]["resourceType"]}/{e["resource"]["id"]}"'.encode()
        for e in bundle["entry"]
        if "fullUrl" in e and "id" in e["resource"]
    }

    def rename(match: re.Match[bytes]) -> bytes:
        return names.get(match.group(1), match.group(0))

    for entry in bundle["entry"]:
        resource = entry["resource"]
        # Renamed in the serialised line, not in a copy of the resource: copying every
        # resource to change a few strings took a sixth of the export.
        yield resource["resourceType"], _URN_REFERENCE.sub(rename, orjson.dumps(resource)) + b"\n"


# A ``reference`` key and its string value in compact JSON (orjson's): inside a string every
# quote is escaped, so the unescaped quotes here only match a key and the value it names.
_URN_REFERENCE = re.compile(rb'"reference":"(urn:uuid:[^"\\]*)"')


@dataclass
class Summary:
    cases: int = 0
    exported: int = 0
    resources: int = 0
    files: int = 0
    failures: list[str] = field(default_factory=list)


class _Writer:
    """Writes each case's output into the new folder, in input order."""

    def __init__(
        self, folder: Path, layout: Layout, when: str, base_url: str | None, report: Callable[[str], None]
    ) -> None:
        self.folder = folder
        self.layout = layout
        self.when = when
        self.base_url = base_url
        self.report = report
        self.handles: dict[str, BinaryIO] = {}
        self.counts: dict[str, int] = {}
        self.seen: dict[str, str] = {}
        self.summary = Summary()

    def add(self, out: CaseOutput) -> None:
        self.summary.cases += 1
        if out.error is None and out.case_id in self.seen:
            out.error = f"{out.label}: case id {out.case_id!r} is also the id of {self.seen[out.case_id]}"
        if out.error is not None:
            self.summary.failures.append(out.error)
            self.report(out.error)
            return
        assert out.case_id is not None
        self.seen[out.case_id] = out.label
        self.summary.exported += 1
        self.summary.resources += out.resources
        if out.bundle is not None:
            (self.folder / f"{out.case_id}.json").write_bytes(out.bundle)
            self.summary.files += 1
            return
        for rtype, lines in out.lines.items():
            handle = self.handles.get(rtype)
            if handle is None:
                handle = self.handles[rtype] = open(self.folder / f"{rtype}.ndjson", "wb")  # noqa: SIM115
                self.counts[rtype] = 0
            handle.writelines(lines)
            self.counts[rtype] += len(lines)

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()
        if self.layout != "bulk":
            return
        import orjson

        from fhirconv.fileio import dump_json

        errors: list[str] = []
        if self.summary.failures:
            (self.folder / ERROR_DIR).mkdir()
            with open(self.folder / ERROR_DIR / ERROR_FILE, "wb") as handle:
                for message in self.summary.failures:
                    handle.write(orjson.dumps(_outcome(message)) + b"\n")
            errors.append(f"{ERROR_DIR}/{ERROR_FILE}")
        outputs = [(rtype, f"{rtype}.ndjson", self.counts[rtype]) for rtype in sorted(self.counts)]
        manifest = build_manifest(outputs, errors, self.when, self.base_url)
        (self.folder / MANIFEST_NAME).write_bytes(dump_json(manifest))
        self.summary.files = len(outputs) + len(errors) + 1


def _outcome(message: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": message}],
    }


def export_cases(
    names: list[str],
    folder: Path,
    *,
    layout: Layout,
    bundle_type: str,
    run: Callable[[Iterable[tuple[Layout, str, list[CaseInput]]]], Iterable[list[CaseOutput]]],
    when: str,
    base_url: str | None,
    report: Callable[[str], None],
    advance: Callable[[int], None],
) -> Summary:
    """Export ``names`` into ``folder`` (new and empty); ``run`` runs the partitions."""
    writer = _Writer(folder, layout, when, base_url, report)
    try:
        work = ((layout, bundle_type, batch) for batch in batches(read_inputs(names), CASES_PER_PARTITION))
        for outputs in run(work):
            for out in outputs:
                writer.add(out)
            advance(len(outputs))
    finally:
        writer.close()
    return writer.summary


def warm() -> None:
    """What every export worker needs, loaded once before the workers fork."""
    from fhirconv.cases import load_case
    from fhirconv.mapping.bundle import build_bundle

    build_bundle(load_case("case1"))
