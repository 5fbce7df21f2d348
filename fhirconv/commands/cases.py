"""Commands over the built-in cases and case files: list, show, export, schema."""

from __future__ import annotations

from pathlib import Path

import click

from fhirconv.commands.engine_options import engine_options
from fhirconv.commands.options import output_option, untouched_folder
from fhirconv.errors import FindingsError


@click.command("list")
def list_command() -> None:
    """List the built-in cases.

    Example: fhirconv list
    """
    from fhirconv.cases import builtin_names, load_case

    for name in builtin_names():
        case = load_case(name)
        click.echo(f"{name}\t{case.title}")


@click.command("show")
@click.argument("case", metavar="CASE|FILE")
def show_command(case: str) -> None:
    """Print a readable summary of a case: patient, tumours with receptors,
    metastases and timeline.

    Example: fhirconv show case2
    """
    from fhirconv.cases import load_case
    from fhirconv.summary import summarize

    click.echo(summarize(load_case(case)))


@click.command("export")
@click.argument("cases", nargs=-1, required=True, metavar="CASE|FILE|DIR...")
@output_option("-o", "--output", help="Write the bundle to FILE instead of standard output (-); one case.")
@click.option(
    "--type",
    "bundle_type",
    type=click.Choice(["transaction", "collection"]),
    default="transaction",
    show_default=True,
    help="transaction: PUT entries for loading into a server; collection: a plain set.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "ndjson"]),
    default="json",
    show_default=True,
    help="json: one Bundle; ndjson: one resource per line, no Bundle (one case).",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write many cases into this new folder (replaced only when complete).",
)
@click.option(
    "--layout",
    type=click.Choice(["bundles", "bulk"]),
    default="bundles",
    show_default=True,
    help="With --out-dir: bundles: <case id>.json each; bulk: the FHIR Bulk Data layout "
    "(<ResourceType>.ndjson and manifest.json).",
)
@click.option(
    "--transaction-time",
    metavar="INSTANT",
    help="The manifest's transactionTime (default: SOURCE_DATE_EPOCH if set, else 1970-01-01T00:00:00Z; "
    "never the clock, so the same input gives the same bytes).",
)
@click.option(
    "--base-url",
    metavar="URL",
    help="Where the bulk files will be served: the manifest's URLs become absolute (default: file names).",
)
@click.option("--force", is_flag=True, help="Replace an --out-dir that exists and is not empty.")
@engine_options
def export_command(
    cases: tuple[str, ...],
    output: Path | None,
    bundle_type: str,
    fmt: str,
    out_dir: Path | None,
    layout: str,
    transaction_time: str | None,
    base_url: str | None,
    force: bool,
    jobs: int | None,
    engine: str,
    scheduler: str | None,
) -> None:
    """Export built-in cases (case1, case2) or case files as FHIR R4.

    One case goes to standard output or -o as a Bundle (or NDJSON). Many cases,
    or a folder of case files, go into --out-dir: a Bundle per case, or the FHIR
    Bulk Data layout. A case that fails is reported by name and the others still
    go out (exit 1). The same input always gives byte-identical output. A case
    file may come on standard input (-).

    \b
    Examples:
      fhirconv export case2
      fhirconv export case1 --type collection -o case1.json
      fhirconv export my-case.yaml --format ndjson > my-case.ndjson
      fhirconv export cases/ --out-dir bundles/
      fhirconv export case1 case2 cases/ --out-dir bulk/ --layout bulk
    """
    if cases.count("-") > 1:
        raise click.UsageError("standard input (-) can be given only once")
    if out_dir is None:
        if len(cases) > 1 or Path(cases[0]).is_dir():
            raise click.UsageError("several cases, or a folder of them, need --out-dir")
        _export_one(cases[0], output, bundle_type, fmt)
        return
    if output is not None:
        raise click.UsageError("-o writes one case; with --out-dir every case goes into the folder")
    if fmt != "json":
        raise click.UsageError("--format ndjson is for one case; with --out-dir use --layout bulk")
    _export_many(
        list(cases), out_dir, layout, bundle_type, transaction_time, base_url, force, jobs, engine, scheduler
    )


def _export_one(case: str, output: Path | None, bundle_type: str, fmt: str) -> None:
    from fhirconv.bulk.export import ndjson_lines
    from fhirconv.cases import load_case
    from fhirconv.fileio import dump_json, is_stdout, write_output
    from fhirconv.mapping.bundle import build_bundle

    bundle = build_bundle(load_case(case), bundle_type)  # type: ignore[arg-type]
    data = dump_json(bundle) if fmt == "json" else b"".join(line for _, line in ndjson_lines(bundle))
    write_output(data, output)
    if not is_stdout(output):
        click.echo(f"Wrote {len(bundle['entry'])} resources to {output}", err=True)


def _export_many(
    cases: list[str],
    out_dir: Path,
    layout: str,
    bundle_type: str,
    transaction_time: str | None,
    base_url: str | None,
    force: bool,
    jobs: int | None,
    engine_kind: str,
    scheduler: str | None,
) -> None:
    import os
    from functools import partial

    from fhirconv.bulk.export import expand_inputs, export_cases, export_partition, warm
    from fhirconv.bulk.manifest import transaction_time as manifest_time
    from fhirconv.fileio import NothingWritten, atomic_directory, check_new_directory
    from fhirconv.parallel import make_engine, run_partitions
    from fhirconv.progress import progress

    engine = make_engine(engine_kind, jobs, scheduler)
    when = manifest_time(transaction_time, os.environ.get("SOURCE_DATE_EPOCH"))
    check_new_directory(out_dir, replace=force)
    names = expand_inputs(cases)
    run = partial(run_partitions, export_partition, engine=engine, warm=warm)
    with atomic_directory(out_dir, replace=force) as folder, progress("Exporting", len(names)) as advance:
        summary = export_cases(
            names,
            folder,
            layout=layout,  # type: ignore[arg-type]
            bundle_type=bundle_type,
            run=run,
            when=when,
            base_url=base_url,
            report=lambda line: click.echo(f"Error: {line}", err=True),
            advance=advance,
        )
        if not summary.exported:
            raise NothingWritten  # an empty folder would look like a result (or replace one)
    what = "Bulk Data layout" if layout == "bulk" else "a Bundle per case"
    plural = "s" if summary.cases != 1 else ""
    if summary.exported:
        click.echo(
            f"Exported {summary.exported} of {summary.cases} case{plural} "
            f"({summary.resources} resources) to {out_dir} ({what}, {summary.files} files); "
            f"{len(summary.failures)} failed",
            err=True,
        )
    else:
        click.echo(f"Exported none of {summary.cases} case{plural}; {untouched_folder(out_dir)}", err=True)
    if summary.failures:
        raise FindingsError(f"{len(summary.failures)} of {summary.cases} cases could not be exported")


@click.command("schema")
@output_option("-o", "--output", help="Write the schema to FILE instead of standard output (-).")
def schema_command(output: Path | None) -> None:
    """Print the JSON Schema of case files (YAML or JSON).

    Example: fhirconv schema -o case.schema.json
    """
    from importlib import resources

    data = resources.files("fhirconv.data").joinpath("case.schema.json").read_bytes()
    from fhirconv.fileio import write_output

    write_output(data, output)


COMMANDS: list[click.Command] = [list_command, show_command, export_command, schema_command]
