"""Commands over the built-in cases and case files: list, show, export, schema."""

from __future__ import annotations

import json
from pathlib import Path

import click

from fhirconv.commands.options import output_option


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
@click.argument("case", metavar="CASE|FILE")
@output_option("-o", "--output", help="Write the bundle to FILE instead of standard output (-).")
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
    help="json: one Bundle; ndjson: one resource per line, no Bundle.",
)
def export_command(case: str, output: Path | None, bundle_type: str, fmt: str) -> None:
    """Export a built-in case (case1, case2) or a case file as a FHIR R4 Bundle.

    The same input always gives byte-identical output. A case file may come
    on standard input (-).

    \b
    Examples:
      fhirconv export case2
      fhirconv export case1 --type collection -o case1.json
      fhirconv export my-case.yaml --format ndjson > my-case.ndjson
    """
    from fhirconv.cases import load_case
    from fhirconv.fileio import dump_json, is_stdout, write_output
    from fhirconv.mapping.bundle import build_bundle

    bundle = build_bundle(load_case(case), bundle_type)  # type: ignore[arg-type]
    if fmt == "json":
        data = dump_json(bundle)
    else:
        lines = [
            json.dumps(e["resource"], ensure_ascii=False, separators=(",", ":")) for e in bundle["entry"]
        ]
        data = ("\n".join(lines) + "\n").encode("utf-8")
    write_output(data, output)
    if not is_stdout(output):
        click.echo(f"Wrote {len(bundle['entry'])} resources to {output}", err=True)


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
