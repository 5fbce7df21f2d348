"""``fhirconv import`` and ``fhirconv roundtrip``: FHIR back into the case model.

Heavy modules (pydantic, the validator) load inside the commands so that
``fhirconv --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from fhirconv.commands.engine_options import engine_options
from fhirconv.commands.options import output_option
from fhirconv.errors import FindingsError, InputError, MappingError

if TYPE_CHECKING:
    from fhirconv.bulk.importing import Inputs
    from fhirconv.mapping.reading import Unmapped
    from fhirconv.parallel import Engine


@click.command("import")
@click.argument("bundles", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="BUNDLE...")
@output_option("-o", "--output", help="Write the case file (YAML) to FILE instead of standard output (-).")
@output_option(
    "--report",
    "report_file",
    help="Also write the import report (what was not mapped, and where) as JSON to FILE (- for "
    "standard output, with -o FILE).",
)
@click.option("--strict", is_flag=True, help="Exit 1 when anything could not be mapped.")
@click.option(
    "--lenient",
    is_flag=True,
    help="Import what can be read from input that breaks FHIR's rules: the validation errors go "
    "into the import report and the resources they are in are left out (default: refuse the file).",
)
@click.option(
    "--doi",
    help="DOI of the publication the case comes from, for bundles that do not name one "
    "(the case records the files it was read from either way).",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Read a Bulk Data export (folder, manifest or NDJSON files) and write one case file per "
    "patient into this new folder (replaced only when complete).",
)
@click.option("--force", is_flag=True, help="Replace an --out-dir that exists and is not empty.")
@engine_options
def import_command(
    bundles: tuple[Path, ...],
    output: Path | None,
    report_file: Path | None,
    strict: bool,
    lenient: bool,
    doi: str | None,
    out_dir: Path | None,
    force: bool,
    jobs: int | None,
    engine: str,
    scheduler: str | None,
) -> None:
    """Read a FHIR R4 bundle (or resources, or NDJSON files) back into a case file.

    Any bundle type is read: transaction, collection, batch, searchset or a
    Patient/$everything result; - reads standard input. A file that is not valid
    FHIR is refused with the validator's errors (--lenient imports the rest and
    reports them). What could not be mapped is listed on standard error with its
    location; --strict makes that exit 1. The case records where it comes from:
    the publication (--doi) when one is named, the files read, and the
    meta.source their resources share.

    With --out-dir, a FHIR Bulk Data export (its folder, its manifest.json or its
    NDJSON files) becomes one case file per patient, read a patient at a time; a
    patient that fails is reported and the others are still written (exit 1).

    \b
    Examples:
      fhirconv import examples/case1.bundle.json -o case1.yaml
      fhirconv export case2 | fhirconv import - -o case2.yaml
      fhirconv import pulled.json --report report.json --strict
      fhirconv import converter-output.json --lenient -o case.yaml
      fhirconv import Patient.ndjson Condition.ndjson Observation.ndjson --doi 10.1000/xyz
      fhirconv import bulk-export/ --out-dir cases/
    """
    if out_dir is not None:
        if output is not None:
            raise click.UsageError("-o writes one case; with --out-dir every case goes into the folder")
        chosen = (jobs, engine, scheduler)
        _import_bulk(list(bundles), out_dir, report_file, strict, lenient, doi, force, *chosen)
        return
    if any(b.is_dir() for b in bundles):
        raise click.UsageError("a folder (a Bulk Data export) holds many patients: give --out-dir")
    from fhirconv.fileio import check_outputs, dump_json, is_stdout, write_output
    from fhirconv.importing.reader import (
        case_to_yaml,
        import_entries,
        read_files,
        report_json,
        report_text,
    )

    check_outputs({"-o": output or "-", "--report": report_file})
    problems: list[Unmapped] | None = [] if lenient else None
    try:
        files = tuple(dict.fromkeys("stdin" if str(b) == "-" else b.name for b in bundles))
        result = import_entries(read_files(list(bundles), problems=problems), doi, files, problems=problems)
    except MappingError as err:
        raise MappingError(f"{', '.join(str(b) for b in bundles)}: {err}") from None
    data = case_to_yaml(result.case).encode("utf-8")
    write_output(data, output)
    if not is_stdout(output):
        click.echo(f"Wrote case {result.case.id} ({result.resources} resources read) to {output}", err=True)
    if report_file is not None:
        write_output(dump_json(report_json(result.unmapped, result)), report_file)
    click.echo(report_text(result.unmapped), err=True, nl=False)
    if strict and result.unmapped:
        raise FindingsError(f"{len(result.unmapped)} element(s) not mapped (--strict)")


def _import_bulk(
    inputs: list[Path],
    out_dir: Path,
    report_file: Path | None,
    strict: bool,
    lenient: bool,
    doi: str | None,
    force: bool,
    jobs: int | None,
    engine_kind: str,
    scheduler: str | None,
) -> None:
    from fhirconv.bulk.importing import gather
    from fhirconv.fileio import check_new_directory
    from fhirconv.parallel import make_engine

    engine = make_engine(engine_kind, jobs, scheduler)
    check_new_directory(out_dir, replace=force)
    if [str(p) for p in inputs].count("-") > 1:
        raise click.UsageError("standard input (-) can be given only once")
    inputs_read = gather(inputs)
    try:
        _import_gathered(inputs_read, out_dir, report_file, strict, lenient, doi, force, engine)
    finally:
        inputs_read.close()


def _import_gathered(
    inputs: Inputs,
    out_dir: Path,
    report_file: Path | None,
    strict: bool,
    lenient: bool,
    doi: str | None,
    force: bool,
    engine: Engine,
) -> None:
    from functools import partial

    from fhirconv.bulk.importing import build_index, import_export, import_partition, warm
    from fhirconv.commands.options import untouched_folder
    from fhirconv.fileio import NothingWritten, atomic_directory, dump_json, write_output
    from fhirconv.parallel import run_partitions
    from fhirconv.progress import progress

    index = build_index(inputs.files)
    problems = [*inputs.problems, *index.broken]
    for line in problems:
        click.echo(f"Error: {line}", err=True)
    if problems and not index.patients:
        # Nothing to import: no folder either, rather than an empty one that looks like a result.
        raise InputError(
            f"{len(problems)} input problem(s) (listed above); nothing to import, {out_dir} not written"
        )
    run = partial(run_partitions, import_partition, engine=engine, warm=warm)
    patients = len(index.patients)
    with atomic_directory(out_dir, replace=force) as folder, progress("Importing", patients) as advance:
        summary = import_export(
            index,
            folder,
            doi,
            lenient,
            run,
            report=lambda line: click.echo(f"Error: {line}", err=True),
            advance=advance,
            keep_report=report_file is not None,
        )
        if not summary.imported:
            raise NothingWritten  # an empty folder would look like a result (or replace one)
    if report_file is not None:
        report = {"cases": summary.cases, "failures": summary.failures, "unusable": problems}
        write_output(dump_json(report), report_file)
    unowned = ", ".join(f"{count} {rtype}" for rtype, count in sorted(index.unowned.items()))
    plural = "s" if summary.patients != 1 else ""
    if summary.imported:
        done = (
            f"Imported {summary.imported} of {summary.patients} patient{plural} "
            f"({summary.resources} resources) into {out_dir}; {summary.unmapped} element(s) not mapped"
            + (" (--report lists them)" if summary.unmapped and report_file is None else "")
            + f"; {len(summary.failures)} failed"
        )
    else:
        done = f"Imported none of {summary.patients} patient{plural}; {untouched_folder(out_dir)}"
    click.echo(done + (f"; not about any patient, not imported: {unowned}" if unowned else ""), err=True)
    if problems:
        raise InputError(f"{len(problems)} input problem(s) (listed above); the rest was imported")
    if summary.failures:
        raise FindingsError(f"{len(summary.failures)} of {summary.patients} patients could not be imported")
    if strict and summary.unmapped:
        raise FindingsError(f"{summary.unmapped} element(s) not mapped (--strict)")


@click.command("roundtrip")
@click.argument("case", metavar="CASE|FILE")
def roundtrip_command(case: str) -> None:
    """Export a case, validate the bundle, import it and compare field by field.

    Prints the differences (path in the case model, value before -> after);
    exits 1 when the bundle is invalid, anything differs or anything was not
    mapped.

    \b
    Examples:
      fhirconv roundtrip case1
      fhirconv roundtrip my-case.yaml
    """
    from fhirconv.cases import load_case
    from fhirconv.importing.compare import compare_cases
    from fhirconv.importing.reader import import_entries, report_text
    from fhirconv.mapping.bundle import build_bundle
    from fhirconv.validation import validate_resource
    from fhirconv.validation.issues import Severity

    before = load_case(case)
    bundle = build_bundle(before, "transaction")
    problems = [i for i in validate_resource(bundle) if i.severity != Severity.INFORMATION]
    for issue in problems:
        click.echo(f"{issue.severity.value} [{issue.layer.value}] {issue.location}: {issue.message}")
    entries = [
        (f"Bundle.entry[{i}].resource", e["resource"], e["fullUrl"]) for i, e in enumerate(bundle["entry"])
    ]
    result = import_entries(entries)
    if result.unmapped:
        click.echo(report_text(result.unmapped), nl=False)
    differences = compare_cases(before, result.case)
    for difference in differences:
        click.echo(difference.render())
    click.echo(
        f"{before.id}: {len(bundle['entry'])} resources, {len(problems)} validation issue(s), "
        f"{len(result.unmapped)} unmapped, {len(differences)} difference(s)"
    )
    if problems or result.unmapped or differences:
        raise FindingsError(f"round trip of {before.id} is not lossless")


COMMANDS: list[click.Command] = [import_command, roundtrip_command]
