"""Validating many inputs: JSON documents, NDJSON files, Bulk Data folders and manifests, stdin.

An NDJSON file is never read whole: its lines go to the workers in partitions
(:mod:`fhirconv.bulk.ndjson`), and this process keeps only the issues found.
References between the files of one export are checked against an index of the
``Type/id`` of every resource in it, built by a first, cheap pass over the files
(the index holds ids, not resources).  The files of a folder or manifest form one
export; NDJSON files named one by one (and standard input) form another.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhirconv.bulk.manifest import folder_files, is_ndjson_name, load_manifest, read_manifest
from fhirconv.bulk.ndjson import Partition, first_line_is_json, partitions, read_lines
from fhirconv.errors import InputError
from fhirconv.parallel import Engine, run_partitions


@dataclass
class Source:
    """One input to validate. ``group`` names the export an NDJSON file belongs to (its
    references resolve against the whole export); ``problem`` is why it cannot be read."""

    name: str
    kind: str  # "document" | "ndjson"
    path: Path | None = None
    data: bytes | None = None  # a document read from standard input
    group: str = ""
    problem: str | None = None


@dataclass
class Outcome:
    """What validating one source found; ``failure`` is the one line for an unusable input."""

    name: str
    issues: list[Any] = field(default_factory=list)
    failure: str | None = None


@dataclass
class Inputs:
    sources: list[Source] = field(default_factory=list)
    temporary: list[Path] = field(default_factory=list)

    def close(self) -> None:
        for path in self.temporary:
            with contextlib.suppress(OSError):
                os.unlink(path)


def collect(names: list[str]) -> Inputs:
    """What each argument names: a file, a folder or manifest of a Bulk Data export, or ``-``."""
    inputs = Inputs()
    for name in names:
        if name == "-":
            inputs.sources.append(_stdin(inputs))
            continue
        path = Path(name)
        if path.is_dir():
            files, problems = folder_files(path)
            inputs.sources.extend(Source(str(f.path), "ndjson", f.path, group=name) for f in files)
            inputs.sources.extend(Source(name, "ndjson", problem=p) for p in problems)
            continue
        manifest = load_manifest(path) if path.suffix.lower() == ".json" and path.is_file() else None
        if manifest is not None:
            files, problems = read_manifest(path, manifest)
            inputs.sources.extend(Source(str(f.path), "ndjson", f.path, group=name) for f in files)
            inputs.sources.extend(Source(name, "ndjson", problem=p) for p in problems)
            continue
        kind = "ndjson" if is_ndjson_name(name) else "document"
        inputs.sources.append(Source(name, kind, path))
    return inputs


def _stdin(inputs: Inputs) -> Source:
    """Standard input: NDJSON when its first line is a whole JSON object and more lines
    follow (spooled to a temporary file, read in partitions), else one JSON document."""
    stream = sys.stdin.buffer
    first = stream.readline()
    rest = stream.read(64 * 1024)
    if first_line_is_json(first) and rest.strip():
        import tempfile

        with tempfile.NamedTemporaryFile(prefix="fhirconv-stdin-", suffix=".ndjson", delete=False) as handle:
            handle.write(first)
            while rest:
                handle.write(rest)
                rest = stream.read(1024 * 1024)
        inputs.temporary.append(Path(handle.name))
        return Source("stdin", "ndjson", Path(handle.name))
    return Source("stdin", "document", data=first + rest + stream.read())


def id_index(paths: list[Path]) -> frozenset[str]:
    """``Type/id`` of every resource in the files; lines that are not JSON are left to validation."""
    import orjson

    ids: set[str] = set()
    for path in paths:
        with contextlib.suppress(OSError), open(path, "rb") as handle:
            for _, line in read_lines(handle):
                try:
                    resource = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(resource, dict):
                    rtype, rid = resource.get("resourceType"), resource.get("id")
                    if isinstance(rtype, str) and isinstance(rid, str):
                        ids.add(f"{rtype}/{rid}")
    return frozenset(ids)


def validate_document(task: tuple[Source, dict[str, Any]], _shared: Any = None) -> Outcome:
    """One JSON document (or a whole NDJSON file given as bytes): a top-level function for workers."""
    from fhirconv.validation import validate_bytes
    from fhirconv.validation.engine import syntax_failure

    source, options = task
    data = source.data if source.data is not None else _read(source.name)
    if isinstance(data, str):
        return Outcome(source.name, failure=data)
    issues = validate_bytes(data, source=source.name, **options)
    failure = syntax_failure(issues)
    if failure is not None or any(i.rule == "json-resource-type" for i in issues):
        # Not FHIR at all: say what it is instead of how the JSON parser stumbled on it.
        from fhirconv.kinds import Kind, recognise, wrong_kind

        found = recognise(data)
        name = source.name
        hints = {Kind.CASE_FILE: "did you mean `fhirconv export {name} | fhirconv validate -`?"}
        refused = wrong_kind(name, found, "FHIR JSON", hints) if found.kind is not Kind.NDJSON else None
        if refused is not None:
            return Outcome(name, failure=refused.message)
    return Outcome(source.name, issues, f"{source.name}: {failure.message}" if failure is not None else None)


def validate_partition(task: tuple[Partition, dict[str, Any]], known: frozenset[str] | None) -> Outcome:
    """Lines of one NDJSON file, each a resource; references checked against ``known``."""
    from fhirconv.validation.engine import syntax_failure, validate_line

    partition, options = task
    issues = []
    for number, line in partition.lines:
        issues.extend(validate_line(line, number, known=known, **options))
    failure = syntax_failure(issues)
    where = f"{partition.name}:{failure.line}: {failure.message}" if failure is not None else None
    return Outcome(partition.name, issues, where)


def _read(name: str) -> bytes | str:
    """The bytes of a file, or the one-line reason it cannot be read."""
    try:
        with open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return f"{name}: no such file"
    except IsADirectoryError:
        return f"{name}: is a directory, not a file"
    except PermissionError:
        return f"{name}: permission denied"
    except OSError as err:
        return f"{name}: cannot read ({err.strerror or err})"


def validate_sources(
    sources: list[Source], options: dict[str, Any], engine: Engine, advance: Callable[[int], None]
) -> Iterator[Outcome]:
    """An outcome per source, in order; consecutive documents run as one batch, and so do
    the NDJSON files of one export."""
    indexes: dict[str, frozenset[str]] = {}
    for group in dict.fromkeys(s.group for s in sources if s.kind == "ndjson" and s.problem is None):
        indexes[group] = id_index([s.path for s in sources if s.group == group and s.path and not s.problem])
    for run in _runs(sources):
        head = run[0]
        if head.problem is not None:
            advance(1)
            yield Outcome(head.name, failure=head.problem)
        elif head.kind == "document":
            work = [(source, options) for source in run]
            for outcome in run_partitions(validate_document, work, _sized(engine, run), warm=_warm):
                advance(1)
                yield outcome
        else:
            yield from _ndjson_run(run, options, _sized(engine, run), indexes[head.group], advance)


# Less than this to validate is done in this process: starting workers would cost more.
SMALL_RUN_BYTES = 256 * 1024


def _sized(engine: Engine, run: list[Source]) -> Engine:
    """The engine for a run of sources: this process alone when the run is one small job."""
    if engine.kind != "local" or engine.jobs <= 1:
        return engine
    size = 0
    for source in run:
        if source.path is None:
            size += len(source.data or b"")
            continue
        with contextlib.suppress(OSError):
            size += source.path.stat().st_size
    if size < SMALL_RUN_BYTES and (len(run) == 1 or run[0].kind == "ndjson"):
        return Engine("local", 1)
    return engine


def _ndjson_run(
    run: list[Source],
    options: dict[str, Any],
    engine: Engine,
    known: frozenset[str],
    advance: Callable[[int], None],
) -> Iterator[Outcome]:
    from fhirconv.validation.issues import Layer, error, sort_key

    outcomes = [Outcome(source.name) for source in run]
    lines = [0] * len(run)
    owners: deque[int] = deque()  # the source of each partition in flight, in order

    def work() -> Iterator[tuple[Partition, dict[str, Any]]]:
        for position, source in enumerate(run):
            assert source.path is not None
            try:
                for part in partitions(source.path, source.name):
                    lines[position] += len(part.lines)
                    owners.append(position)
                    yield part, options
            except InputError as err:  # gone or unreadable since it was listed
                outcomes[position].failure = str(err)
                lines[position] = -1

    strings: dict[str, str] = {}
    for part in run_partitions(validate_partition, work(), engine, shared=known, warm=_warm):
        outcome = outcomes[owners.popleft()]
        outcome.issues.extend(_compact(issue, strings) for issue in part.issues)
        if outcome.failure is None:
            outcome.failure = part.failure
    for position, outcome in enumerate(outcomes):
        if not lines[position]:
            outcome.issues.append(
                error(Layer.JSON, "(document)", "the NDJSON file holds no resources", "json-empty-file")
            )
        outcome.issues.sort(key=sort_key)
        advance(1)
        yield outcome


def _compact(issue: Any, strings: dict[str, str]) -> Any:
    """The issue with its texts shared with earlier ones: a note repeated for every resource
    of an export then costs an object, not three new strings (memory stays near flat)."""
    import dataclasses

    return dataclasses.replace(
        issue,
        location=strings.setdefault(issue.location, issue.location),
        message=strings.setdefault(issue.message, issue.message),
        rule=strings.setdefault(issue.rule, issue.rule),
    )


def _runs(sources: list[Source]) -> Iterator[list[Source]]:
    """Consecutive sources that run together: documents, or the NDJSON files of one export."""
    batch: list[Source] = []
    for source in sources:
        joins = (
            batch
            and source.problem is None
            and source.kind == batch[0].kind
            and (source.kind == "document" or source.group == batch[0].group)
        )
        if not joins and batch:
            yield batch
            batch = []
        if source.problem is not None:
            yield [source]
        else:
            batch.append(source)
    if batch:
        yield batch


def _warm() -> None:
    """Load every validation layer's definitions once, before the workers fork: the layers,
    and the models and profiles of the resource types fhirconv exports."""
    from fhirconv.cases import load_case
    from fhirconv.mapping.bundle import build_bundle
    from fhirconv.validation import validate_resource

    validate_resource(build_bundle(load_case("case1")))
