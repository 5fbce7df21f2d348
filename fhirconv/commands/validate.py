"""``fhirconv validate``: offline, layered validation of FHIR R4 JSON files.

Heavy modules (jsonschema, fhir.resources, fhirpathpy) load inside the command,
never at import, so that ``fhirconv --help`` stays fast.  The work over many inputs
(folders and manifests of Bulk Data exports, NDJSON streamed in partitions) lives in
:mod:`fhirconv.bulk.validate`.
"""

from __future__ import annotations

import click

from fhirconv.commands.engine_options import engine_options
from fhirconv.errors import FindingsError, InputError

COMMANDS: list[click.Command] = []


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
@engine_options
def validate_command(
    files: tuple[str, ...],
    fmt: str,
    strict: bool,
    no_profiles: bool,
    igs: tuple[str, ...],
    strict_profiles: bool,
    jobs: int | None,
    engine: str,
    scheduler: str | None,
) -> None:
    """Validate FHIR R4 JSON bundles or resources, offline, in seven layers.

    FILE may be a .json file with one resource (a Bundle included), an .ndjson
    or .jsonl file with one resource a line, a folder or manifest.json of a FHIR
    Bulk Data export, or - for standard input (JSON or NDJSON).  NDJSON is read a
    line at a time; the references of an export are checked across all its files.
    Layers: JSON, the official R4 JSON schema, structure and types, bundle
    integrity and references, core FHIRPath invariants, profiles named in
    meta.profile and extensions (mCODE STU4 and the R4 core profiles built in, more
    with --ig), and codes in fhirconv's terminology table.

    Exit status: 0 no errors (warnings allowed unless --strict), 1 errors found,
    2 an input could not be read or parsed, or the usage is wrong.

    \b
    Examples:
      fhirconv validate examples/case2.bundle.json
      fhirconv validate --format json out/*.json
      fhirconv export case2 | fhirconv validate -
      fhirconv validate --strict --no-profiles exported.ndjson
      fhirconv validate bulk-export/            # or bulk-export/manifest.json
      fhirconv validate --ig hl7.fhir.uv.ips@2.0.0 ips-bundle.json
      fhirconv validate --ig us-core-6.1.0.tgz --strict-profiles patient.json
    """
    from fhirconv.bulk.validate import collect, validate_sources
    from fhirconv.parallel import make_engine
    from fhirconv.progress import progress
    from fhirconv.validation import FileResult, render

    names = list(files)
    if names.count("-") > 1:
        raise click.UsageError("standard input (-) can be given only once")
    chosen = make_engine(engine, jobs, scheduler)
    if igs and not no_profiles:
        from fhirconv.validation.conformance import load

        # Read the packages here, once: a package that cannot be read is a usage error (exit 2).
        for note in load(tuple(igs)).notes:
            click.echo(f"Note: {note}", err=True)
    options = {"profiles": not no_profiles, "igs": tuple(igs), "strict_profiles": strict_profiles}
    inputs = collect(names)
    results: list[FileResult] = []
    unreadable: list[str] = []
    try:
        with progress("Validating", len(inputs.sources) if len(inputs.sources) > 1 else 0) as advance:
            for outcome in validate_sources(inputs.sources, options, chosen, advance):
                if outcome.failure is not None:
                    unreadable.append(outcome.failure)
                unusable = outcome.failure is not None
                results.append(FileResult(outcome.name, outcome.issues, unreadable=unusable))
    finally:
        inputs.close()
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
