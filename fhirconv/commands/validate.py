"""``fhirconv validate``: offline, layered validation of FHIR R4 JSON files.

Heavy modules (jsonschema, fhir.resources, fhirpathpy) load inside the command,
never at import, so that ``fhirconv --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from fhirconv.errors import FindingsError, InputError

COMMANDS: list[click.Command] = []


def _read(name: str) -> bytes | str:
    """The bytes of a file (``-`` is stdin), or the one-line reason it cannot be read."""
    try:
        if name == "-":
            return sys.stdin.buffer.read()
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


Work = tuple[str, bool, bytes | None, tuple[str, ...], bool]


def validate_one(args: Work) -> tuple[str, list[Any], str | None]:
    """Validate one file; a top-level function so that worker processes can run it.

    ``args`` is (name, profiles, data, igs, strict_profiles); data is given for standard
    input, which only the parent process can read.
    """
    from fhirconv.validation import validate_bytes
    from fhirconv.validation.engine import syntax_failure

    name, profiles, given, igs, strict_profiles = args
    data = given if given is not None else _read(name)
    if isinstance(data, str):
        return name, [], data
    source = "stdin" if name == "-" else name
    issues = validate_bytes(data, source=source, profiles=profiles, igs=igs, strict_profiles=strict_profiles)
    failure = syntax_failure(issues)
    if failure is not None or any(i.rule == "json-resource-type" for i in issues):
        # Not FHIR at all: say what it is instead of how the JSON parser stumbled on it.
        from fhirconv.kinds import Kind, recognise, wrong_kind

        found = recognise(data)
        hints = {Kind.CASE_FILE: "did you mean `fhirconv export {name} | fhirconv validate -`?"}
        refused = wrong_kind(source, found, "FHIR JSON", hints) if found.kind is not Kind.NDJSON else None
        if refused is not None:
            return source, [], refused.message
    unreadable = f"{source}: {failure.message}" if failure is not None else None
    return source, issues, unreadable


def _run(
    names: list[str], profiles: bool, jobs: int, igs: tuple[str, ...] = (), strict_profiles: bool = False
) -> Iterator[tuple[str, list[Any], str | None]]:
    stdin = sys.stdin.buffer.read() if "-" in names else None
    work: list[Work] = [
        (name, profiles, stdin if name == "-" else None, igs, strict_profiles) for name in names
    ]
    if jobs <= 1 or len(work) <= 1:
        yield from map(validate_one, work)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        # map keeps the input order, so output does not depend on scheduling.
        yield from pool.map(validate_one, work, chunksize=max(1, len(work) // (jobs * 8)))


@click.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "operationoutcome"]),
    default="text",
    show_default=True,
    help="How to print the issues.",
)
@click.option("--strict", is_flag=True, help="Warnings count as failures (exit 1).")
@click.option("--no-profiles", is_flag=True, help="Skip the profile layer (profiles and extensions).")
@click.option(
    "--ig",
    "igs",
    multiple=True,
    metavar="SPEC",
    help="Load an implementation guide's profiles, extensions and value sets: a FHIR package "
    ".tgz, an unpacked package folder, or NAME@VERSION (or NAME#VERSION) in the FHIR package "
    "cache (~/.fhir/packages, or $FHIRCONV_PACKAGE_CACHE). Repeatable; the dependencies the "
    "package names are loaded from the cache.",
)
@click.option(
    "--strict-profiles",
    is_flag=True,
    help="A profile named in meta.profile that no loaded package defines is an error "
    "(by default it is information).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for many files (default: all cores when there are several files).",
)
def validate_command(
    files: tuple[str, ...],
    fmt: str,
    strict: bool,
    no_profiles: bool,
    igs: tuple[str, ...],
    strict_profiles: bool,
    jobs: int | None,
) -> None:
    """Validate FHIR R4 JSON bundles or resources, offline, in seven layers.

    FILE may be a .json file with one resource (a Bundle included), an .ndjson
    file with one resource a line, or - for standard input.  Layers: JSON, the
    official R4 JSON schema, structure and types, bundle integrity and references,
    core FHIRPath invariants, profiles named in meta.profile and extensions
    (mCODE STU4 and the R4 core profiles built in, more with --ig), and codes in
    fhirconv's terminology table.

    Exit status: 0 no errors (warnings allowed unless --strict), 1 errors found,
    2 an input could not be read or parsed, or the usage is wrong.

    \b
    Examples:
      fhirconv validate examples/case2.bundle.json
      fhirconv validate --format json out/*.json
      fhirconv export case2 | fhirconv validate -
      fhirconv validate --strict --no-profiles exported.ndjson
      fhirconv validate --ig hl7.fhir.uv.ips@2.0.0 ips-bundle.json
      fhirconv validate --ig us-core-6.1.0.tgz --strict-profiles patient.json
    """
    from fhirconv.validation import FileResult, render

    names = list(files)
    if names.count("-") > 1:
        raise click.UsageError("standard input (-) can be given only once")
    if igs and not no_profiles:
        from fhirconv.validation.conformance import load

        # Read the packages here, once: a package that cannot be read is a usage error (exit 2).
        for note in load(tuple(igs)).notes:
            click.echo(f"Note: {note}", err=True)
    workers = jobs if jobs is not None else (os.cpu_count() or 1) if len(names) > 1 else 1
    results: list[FileResult] = []
    unreadable: list[str] = []
    show_progress = len(names) > 1 and sys.stderr.isatty()
    outcomes = _run(names, not no_profiles, workers, tuple(igs), strict_profiles)
    if show_progress:
        with click.progressbar(outcomes, length=len(names), label="Validating", file=sys.stderr) as bar:
            collected = list(bar)
    else:
        collected = list(outcomes)
    for source, issues, failure in collected:
        if failure is not None:
            unreadable.append(failure)
        results.append(FileResult(source, issues, unreadable=failure is not None))
    readable = [r for r in results if not (r.unreadable and not r.issues)]
    if readable:
        click.echo(render(readable, fmt, strict=strict), nl=False)
    if unreadable:
        # One line per unusable input; the CLI prints the last one with the exit code.
        for line in unreadable[:-1]:
            click.echo(f"Error: {line}", err=True)
        raise InputError(unreadable[-1])
    failed = [r for r in results if not r.valid(strict=strict)]
    if failed:
        what = "errors or warnings (--strict)" if strict else "errors"
        raise FindingsError(
            f"{len(failed)} of {len(results)} file{'s' if len(results) != 1 else ''} "
            f"failed validation with {what}"
        )


COMMANDS.append(validate_command)
